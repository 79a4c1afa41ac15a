"""Blocks, the DM whitelist and the DM privacy policy over real sockets: a walk over every path
that reaches a user (DM send, DM edit and reaction, group invite, group created with members,
friend request), the one neutral refusal (byte for byte the same frame for a block and for a
privacy setting), typing, presence and mentions of a blocked user, and what still flows in a
shared group."""

from __future__ import annotations

import json

import trio
from trio_websocket import open_websocket_url

from chatd.store import users as users_store

from .conftest import PASSWORD
from .test_community_chat import fails, text


async def _count(harness, table: str) -> int:
    return await harness.server.writer.submit(lambda ctx: ctx.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _paths(target: int, group_id: int) -> list[tuple[str, dict, str]]:
    """Every request that starts a conversation with, or reaches, `target`: (cmd, data, field)."""
    return [
        ("chat_dm_send", {"peer": target, "content": text("hi")}, "peer"),
        ("chat_group_invite", {"group_id": group_id, "user_ids": [target]}, "user_ids"),
        ("chat_group_create", {"name": "g", "members": [target]}, "members"),
    ]


async def test_walk_every_path_for_a_block_and_for_each_policy(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await c1.request("chat_group_create", {"name": "carol's"}))["group"]["group_id"]
        # Nothing set: every path is open.
        for cmd, data, _ in _paths(b, gid):
            await c1.request(cmd, data)
        gid2 = (await c1.request("chat_group_create", {"name": "second"}))["group"]["group_id"]

        async def refused(client, target, group_id, code="privacy_restricted"):
            for cmd, data, field in _paths(target, group_id):
                err = await fails(client, cmd, data, code)
                assert err.field == field, (cmd, err.field)

        # bob blocks carol: carol is refused on every path, neutrally, and told nothing.
        await b1.request("chat_block_add", {"user_id": c})
        await refused(c1, b, gid2)
        err = await fails(c1, "chat_friend_add", {"user_id": b}, "privacy_restricted")
        assert err.field == "user_id"
        # bob is told he blocked carol when he tries, on every path.
        gb = (await b1.request("chat_group_create", {"name": "bob's"}))["group"]["group_id"]
        await refused(b1, c, gb, "forbidden")
        await fails(b1, "chat_friend_add", {"user_id": c}, "forbidden")
        await b1.request("chat_block_remove", {"user_id": c})
        await c1.request("chat_dm_send", {"peer": b, "content": text("again")})

        # Policies: friends only.
        dave = await harness.add_user("dave")
        async with harness.client("dave") as d1:
            gd = (await d1.request("chat_group_create", {"name": "dave's"}))["group"]["group_id"]
            await b1.request("chat_dm_privacy_set", {"policy": "friends"})
            await refused(d1, b, gd)
            await d1.request("chat_friend_add", {"user_id": b})  # friend requests are not the DM policy's
            await b1.request("chat_friend_accept", {"user_id": dave})
            for cmd, data, _ in _paths(b, gd):
                await d1.request(cmd, data)
            # Whitelist only: friends are not enough, the list is.
            await b1.request("chat_dm_privacy_set", {"policy": "whitelist"})
            await refused(a1, b, (await a1.request("chat_group_create", {"name": "a"}))["group"]["group_id"])
            await b1.request("chat_dm_whitelist_add", {"user_id": a})
            for cmd, data, _ in _paths(b, (await a1.request("chat_group_create", {"name": "a2"}))["group"]["group_id"]):
                await a1.request(cmd, data)
            # Friend requests off: refused like a block.
            await b1.request("chat_dm_privacy_set", {"friend_requests": False})
            assert await b1.request("chat_dm_privacy_get", {}) == {"policy": "whitelist", "friend_requests": False}
            await fails(c1, "chat_friend_add", {"user_id": b}, "privacy_restricted")


async def test_a_dm_the_recipient_answered_stays_open_when_the_policy_tightens(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        await a1.request("chat_dm_send", {"peer": b, "content": text("hi bob")})
        await b1.request("chat_dm_send", {"peer": a, "content": text("hi alice")})  # bob answered
        await c1.request("chat_dm_send", {"peer": b, "content": text("spam")})  # bob never answered
        await b1.request("chat_dm_privacy_set", {"policy": "friends"})
        await a1.request("chat_dm_send", {"peer": b, "content": text("still open")})
        await fails(c1, "chat_dm_send", {"peer": b, "content": text("more spam")}, "privacy_restricted")
        # A block closes even the answered one.
        await b1.request("chat_block_add", {"user_id": a})
        await fails(a1, "chat_dm_send", {"peer": b, "content": text("x")}, "privacy_restricted")


async def test_an_unknown_policy_changes_nothing(harness, users):
    # The department policy itself is tested with the directory (tests/test_directory_privacy.py).
    async with harness.client("bob") as b1:
        err = await fails(b1, "chat_dm_privacy_set", {"policy": "nobody"}, "bad_request")
        assert err.field == "policy"
        assert await b1.request("chat_dm_privacy_get", {}) == {"policy": "everyone", "friend_requests": True}
    assert await _count(harness, "privacy") == 0


async def _raw_call(url: str, name: str, frame: dict) -> str:
    """One request over a bare WebSocket: the response's exact text."""
    async with open_websocket_url(url) as ws:
        await ws.send_message(json.dumps({"cmd": "login", "id": "l", "data": {"username": name, "password": PASSWORD}}))
        while '"id":"l"' not in await ws.get_message():
            pass
        await ws.send_message(json.dumps(frame))
        with trio.fail_after(10):
            while True:
                got = await ws.get_message()
                if '"id":"probe"' in got:
                    return got


async def test_a_block_and_a_privacy_setting_answer_the_same_bytes(harness, users):
    b, c = users["bob"], users["carol"]
    async with harness.client("bob") as b1:
        await b1.request("chat_block_add", {"user_id": c})  # carol is blocked; alice is simply no friend
        await b1.request("chat_dm_privacy_set", {"policy": "friends", "friend_requests": False})
    for cmd, data, _ in [*_paths(b, 0)[:1], ("chat_friend_add", {"user_id": b}, "user_id")]:
        frame = {"cmd": cmd, "id": "probe", "data": data}
        blocked = await _raw_call(harness.url, "carol", frame)
        private = await _raw_call(harness.url, "alice", frame)
        assert blocked == private, (blocked, private)
        assert '"privacy_restricted"' in blocked
    # And in a group invite, with a group of the same id for each asker's own attempt.
    async with harness.client("carol") as c1, harness.client("alice") as a1:
        g1 = (await c1.request("chat_group_create", {"name": "c"}))["group"]["group_id"]
        g2 = (await a1.request("chat_group_create", {"name": "a"}))["group"]["group_id"]
        e1 = await fails(c1, "chat_group_invite", {"group_id": g1, "user_ids": [b]}, "privacy_restricted")
        e2 = await fails(a1, "chat_group_invite", {"group_id": g2, "user_ids": [b]}, "privacy_restricted")
        assert (e1.code, str(e1), e1.field) == (e2.code, str(e2), e2.field)


async def test_the_blocker_hears_no_typing_presence_or_dms_and_mentions_do_not_notify(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        async with harness.client("carol") as c1:
            await c1.request("chat_dm_send", {"peer": b, "content": text("hello")})
            await c1.request("chat_dm_send", {"peer": a, "content": text("hello")})
            msg = await b1.next_push("chat_message")
            gid = (await a1.request("chat_group_create", {"name": "shared", "members": [b, c]}))["group"]["group_id"]
            await b1.request("chat_block_add", {"user_id": c})
            # Typing: carol is answered as usual, bob hears nothing.
            b1.clear_pushes()
            assert (await c1.request("chat_dm_typing", {"peer": b, "typing": True}))["sent"] is True
            # Edits and reactions of old DM messages do not reach bob either.
            await fails(c1, "chat_dm_react", {"peer": b, "msg_id": msg["data"]["message"]["id"], "emoji": "👍"}, "privacy_restricted")
            # In the shared group carol's messages still reach bob, but her mention does not notify him.
            await c1.request("chat_group_send", {"group_id": gid, "content": text("@bob @alice"), "mentions": [b, a]})
            got = await b1.next_push("chat_message")
            assert sorted(got["data"]["message"]["mentions"]) == sorted([a, b])
            await a1.next_push("chat_message", where=lambda d: d["kind"] == "group" and d["message"]["sender_id"] == c)
            entry = lambda convs: next(x for x in convs["conversations"] if x["conv_id"] == gid)  # noqa: E731
            assert entry(await b1.request("chat_group_conversations", {}))["mentioned"] is False
            assert entry(await a1.request("chat_group_conversations", {}))["mentioned"] is True
            # alice's mention of bob notifies him; recalled, it leaves carol's mention before it quiet.
            sent = await a1.request("chat_group_send", {"group_id": gid, "content": text("@bob"), "mentions": [b]})
            assert entry(await b1.request("chat_group_conversations", {}))["mentioned"] is True
            await a1.request("chat_group_recall", {"group_id": gid, "msg_id": sent["id"]})
            assert entry(await b1.request("chat_group_conversations", {}))["mentioned"] is False
            assert not b1.pending_pushes("chat_typing")
        # carol left: alice (her DM peer) hears it, bob does not.
        await a1.next_push("chat_presence_update", where=lambda d: d["user_id"] == c and d["online"] is False)
        async with harness.client("carol"):
            await a1.next_push("chat_presence_update", where=lambda d: d["user_id"] == c and d["online"] is True)
        await a1.next_push("chat_presence_update", where=lambda d: d["user_id"] == c and d["online"] is False)
        await b1.request("ping")
        assert not [p for p in b1.pending_pushes("chat_presence_update") if p["data"]["user_id"] == c]


async def test_block_and_whitelist_lists_and_bad_input(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    dave = await harness.add_user("dave")
    await harness.server.writer.submit(lambda ctx: users_store.set_disabled(ctx.conn, "dave"))
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        assert await a1.request("chat_block_add", {"user_id": b}) == {"user_id": b, "blocked": True}
        push = await a2.next_push("chat_block_update")
        assert push["data"] == {"user_id": b, "blocked": True}
        await a1.request("chat_block_add", {"user_id": dave})  # a disabled account may be blocked
        page = await a1.request("chat_block_list", {"limit": 1})
        assert page["total"] == 2 and page["has_more"] is True
        rest = await a1.request("chat_block_list", {"limit": 1, "offset": 1})
        assert rest["has_more"] is False and {page["users"][0]["user"]["id"], rest["users"][0]["user"]["id"]} == {b, dave}
        await fails(a1, "chat_block_add", {"user_id": b}, "conflict")
        await fails(a1, "chat_block_add", {"user_id": a}, "bad_request")
        await fails(a1, "chat_block_add", {"user_id": 99999}, "not_found")
        await fails(a1, "chat_block_remove", {"user_id": c}, "not_found")
        assert await a1.request("chat_block_remove", {"user_id": b}) == {"user_id": b, "blocked": False}
        assert (await a2.next_push("chat_block_update", where=lambda d: not d["blocked"]))["data"] == {"user_id": b, "blocked": False}
        await b1.request("ping")
        assert not b1.pending_pushes()  # bob was told nothing, either way
        # The whitelist.
        assert await a1.request("chat_dm_whitelist_add", {"user_id": c}) == {"user_id": c, "listed": True}
        assert (await a2.next_push("chat_dm_whitelist_update"))["data"] == {"user_id": c, "listed": True}
        await fails(a1, "chat_dm_whitelist_add", {"user_id": c}, "conflict")
        await fails(a1, "chat_dm_whitelist_add", {"user_id": dave}, "forbidden")
        await fails(a1, "chat_dm_whitelist_add", {"user_id": a}, "bad_request")
        await fails(a1, "chat_dm_whitelist_add", {"user_id": 99999}, "not_found")
        listed = await a1.request("chat_dm_whitelist_list", {})
        assert [u["user"]["id"] for u in listed["users"]] == [c]
        await a1.request("chat_dm_whitelist_remove", {"user_id": c})
        await fails(a1, "chat_dm_whitelist_remove", {"user_id": c}, "not_found")
        await a1.request("chat_dm_privacy_set", {"policy": "friends"})
        assert (await a2.next_push("chat_dm_privacy_update"))["data"] == {"policy": "friends", "friend_requests": True}
    assert await _count(harness, "dm_whitelist") == 0
    assert await _count(harness, "blocks") == 1


# Every implemented request that names another user, and why it passes the social gate or not.
# A new request naming a user fails the test below until it is placed here.
GATED = {"chat_dm_send", "chat_dm_edit", "chat_dm_react", "chat_group_invite", "chat_group_create", "chat_friend_add", "rtc_call_invite", "chat_stream_begin", "chat_bot_command"}
NOT_REACHING = {
    "chat_dm_history": "reads", "chat_dm_search": "reads", "chat_dm_mark_read": "the reader's own pointer",
    "chat_dm_pin_set": "the user's own entry", "chat_dm_recall": "takes content away",
    "chat_dm_delete": "for the user only",
    "chat_dm_typing": "not refused, but not delivered to a peer who blocked the typist (tested above)",
    "chat_dm_control": "not refused, but not delivered to a peer who blocked the sender (test_control_messages)",
    "chat_dm_recall_batch": "takes content away",
    "chat_translation_language_get": "reads a preference",
    "chat_friend_remove": "ends a tie", "chat_friend_remark_set": "private to its owner",
    "chat_friend_accept": "answers the other's own request", "chat_friend_reject": "answers the other's own request",
    "chat_block_add": "the blocker's own list", "chat_block_remove": "the blocker's own list",
    "chat_dm_whitelist_add": "the owner's own list", "chat_dm_whitelist_remove": "the owner's own list",
    "chat_room_member_kick": "moderation in a shared room", "chat_room_member_mute_set": "moderation in a shared room",
    "chat_room_member_role_set": "moderation in a shared room",
    "chat_group_member_kick": "moderation in a shared group", "chat_group_member_mute_set": "moderation in a shared group",
    "chat_group_member_role_set": "moderation in a shared group",
    "community_member_kick": "moderation in a shared community", "community_member_mute_set": "moderation in a shared community",
    "community_role_set": "moderation in a shared community", "community_owner_transfer": "to a member of a shared community",
    "community_permissions": "reads", "community_request_decide": "answers the user's own request",
    "community_overwrite_set": "a permission setting",
    "chat_bot_commands_list": "reads",
    "chat_dm_handover": "an agent takes over a bot's DM: what it then sends passes the user's rules for the bot (chat_dm_send)",
    "chat_dm_release": "gives a bot's DM back to its bot",
    "enterprise_member_upsert": "an administrator's directory entry for the user",
    "enterprise_member_remove": "an administrator's directory change",
}


def test_every_request_naming_a_user_is_gated_or_placed():
    from chatd.protocol.registry import REGISTRY

    naming = {
        c.wire
        for c in REGISTRY.commands.values()
        if c.kind == "request" and c.implemented and set(c.request) & {"peer", "user_id", "user_ids", "members", "target_id"}
    }
    assert naming == GATED | set(NOT_REACHING), sorted(naming ^ (GATED | set(NOT_REACHING)))
    for wire in GATED:
        assert "privacy_restricted" in REGISTRY.commands[wire].errors, wire
    for wire in NOT_REACHING:
        assert "privacy_restricted" not in REGISTRY.commands[wire].errors, wire


async def test_walk_the_gated_paths_over_the_wire(harness, users):
    """Each request of GATED, refused for a block and for a privacy setting alike."""
    b, c = users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        # An old DM of each with bob (bob never answered alice; he answered carol, then blocked her).
        old_a = (await a1.request("chat_dm_send", {"peer": b, "content": text("old")}))["id"]
        old_c = (await c1.request("chat_dm_send", {"peer": b, "content": text("old")}))["id"]
        await b1.request("chat_dm_send", {"peer": c, "content": text("answer")})
        await b1.request("chat_block_add", {"user_id": c})
        await b1.request("chat_dm_privacy_set", {"policy": "whitelist", "friend_requests": False})
        for client, old in ((c1, old_c), (a1, old_a)):
            gid = (await client.request("chat_group_create", {"name": "g"}))["group"]["group_id"]
            walk = {
                "chat_dm_send": {"peer": b, "content": text("x")},
                "chat_group_invite": {"group_id": gid, "user_ids": [b]},
                "chat_group_create": {"name": "g2", "members": [b]},
                "chat_friend_add": {"user_id": b},
                "rtc_call_invite": {"peer": b},
                "chat_bot_command": {"peer": b, "bot_id": b, "name": "help"},
            }
            for cmd, data in walk.items():
                await fails(client, cmd, data, "privacy_restricted")
            if client is c1:  # edits and reactions: only a block refuses them
                await fails(c1, "chat_dm_edit", {"peer": b, "msg_id": old, "content": text("y")}, "privacy_restricted")
                await fails(c1, "chat_dm_react", {"peer": b, "msg_id": old, "emoji": "👍"}, "privacy_restricted")
            else:
                await a1.request("chat_dm_edit", {"peer": b, "msg_id": old, "content": text("y")})
                await a1.request("chat_dm_react", {"peer": b, "msg_id": old, "emoji": "👍"})
        # (chat_stream_begin goes through the DM's gate as a send does: only bots stream, so
        # tests/test_streams.py walks it with a bot.)
        assert set(walk) | {"chat_dm_edit", "chat_dm_react", "chat_stream_begin"} == GATED


async def test_an_at_all_by_a_blocked_user_does_not_notify_the_blocker(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await c1.request("chat_group_create", {"name": "carol's", "members": [a, b]}))["group"]["group_id"]
        await c1.request("chat_group_member_role_set", {"group_id": gid, "user_id": a, "role": "admin"})
        await b1.request("chat_block_add", {"user_id": c})

        async def mentioned(client) -> bool:
            convs = (await client.request("chat_group_conversations", {}))["conversations"]
            return next(x for x in convs if x["conv_id"] == gid)["mentioned"]

        sent = await c1.request("chat_group_send", {"group_id": gid, "content": text("@all"), "mentions": [0]})
        await b1.next_push("chat_message", where=lambda d: d["seq"] == sent["seq"])  # the message itself still reaches bob
        assert await mentioned(a1) is True
        assert await mentioned(b1) is False
        # Marked member by member, it is taken back member by member when recalled.
        other = await c1.request("chat_group_send", {"group_id": gid, "content": text("@all 2"), "mentions": [0]})
        await c1.request("chat_group_recall", {"group_id": gid, "msg_id": other["id"]})
        assert await mentioned(a1) is True  # the first is still there
        assert await mentioned(b1) is False
        # A normal @all afterwards notifies everyone; recalled, it leaves carol's quiet for bob.
        again = await a1.request("chat_group_send", {"group_id": gid, "content": text("@all"), "mentions": [0]})
        assert await mentioned(b1) is True
        await a1.request("chat_group_recall", {"group_id": gid, "msg_id": again["id"]})
        assert await mentioned(b1) is False
        assert await mentioned(a1) is False  # sending read carol's @all before it
        # carol's own @all recalled: nothing is marked for anyone.
        await c1.request("chat_group_recall", {"group_id": gid, "msg_id": sent["id"]})
        assert await mentioned(b1) is False


async def test_a_waiting_invitation_is_refused_when_the_invitee_blocked_the_inviter_since(harness, users):
    b, c = users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await a1.request("chat_group_create", {"name": "team", "members": [b], "approval": True}))["group"]["group_id"]
        req = (await b1.request("chat_group_invite", {"group_id": gid, "user_ids": [c]}))["pending"][0]
        await c1.request("chat_block_add", {"user_id": b})
        err = await fails(a1, "chat_group_request_decide", {"request_id": req["request_id"], "approve": True}, "privacy_restricted")
        assert err.field == "request_id"
        await c1.request("chat_block_remove", {"user_id": b})
        out = await a1.request("chat_group_request_decide", {"request_id": req["request_id"], "approve": True})
        assert out["request"]["status"] == "approved"

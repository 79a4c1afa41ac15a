"""Rooms end to end over real sockets: who may create, discovery, joining and presence per
connection (disconnects included), exiting, kicks with a ban, member mutes with expiry,
roles, update and disband."""

from __future__ import annotations

import pytest
import trio

from chatd.client import ClientError

from .test_group import add_users, fails, text


async def create(c, name: str = "lobby", **extra) -> dict:
    return (await c.request("chat_room_create", {"name": name, **extra}))["room"]


async def send(c, rid: int, t: str, **extra) -> dict:
    return await c.request("chat_room_send", {"room_id": rid, "content": text(t), **extra})


async def join(c, rid: int) -> dict:
    return await c.request("room_join", {"room_id": rid})


def system(event: str):
    return lambda d: d["message"]["content"]["type"] == "system" and d["message"]["content"]["event"] == event


def is_text(t: str):
    return lambda d: d["event"] == "new" and d["message"]["content"] == text(t)


async def present(c, rid: int) -> dict[int, int]:
    """{user id: connections in the room} as chat_room_members reports it."""
    out = await c.request("chat_room_members", {"room_id": rid})
    assert out["present_count"] == len(out["members"])
    return {m["user"]["id"]: m["connections"] for m in out["members"]}


async def until_present(c, rid: int, want: dict[int, int]) -> None:
    """Ask until the room's presence is `want` (a disconnect is noticed by the server on its own time)."""
    with trio.fail_after(10):
        while await present(c, rid) != want:
            pass


async def test_only_admins_create_by_default(harness, users):
    a = users["alice"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        err = await fails(b1, "chat_room_create", {"name": "mine"}, "forbidden")
        assert "rooms.create" in err.error["message"]
        room = await create(a1, "大厅", description="everyone welcome")
        rid = room["room_id"]
        assert room == {
            "room_id": rid, "name": "大厅", "avatar": "", "description": "everyone welcome", "owner_id": a, "created_by": a,
            "member_count": 1, "present_count": 1, "created_at": room["created_at"], "last_seq": 1, "role": "owner",
        }  # fmt: skip
        # The creator is in the room on the creating connection.
        assert await present(a1, rid) == {a: 1}
        hist = await a1.request("chat_room_history", {"room_id": rid})
        assert [m["content"]["event"] for m in hist["messages"]] == ["room_created"]
        (conv,) = (await a1.request("chat_room_conversations", {}))["conversations"]
        assert conv["room_id"] == rid and conv["role"] == "owner" and conv["unread"] == 0 and conv["present_count"] == 1
        await fails(a1, "chat_room_create", {"name": ""}, "bad_request")


@pytest.mark.parametrize("config_overrides", [{"rooms": {"create": "everyone"}}])
async def test_everyone_may_create_when_configured(harness, users):
    async with harness.client("bob") as b1:
        room = await create(b1, "bob's room")
        assert room["owner_id"] == users["bob"] and room["role"] == "owner"


async def test_list_for_discovery(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        r1 = await create(a1, "大厅")
        r2 = await create(a1, "dev talk")
        r3 = await create(a1, "Dev ops")
        await join(b1, r1["room_id"])
        await join(c1, r1["room_id"])
        await c1.request("room_exit", {"room_id": r1["room_id"]})
        seen = await b1.request("chat_room_list", {})
        assert seen["total"] == 3
        # Newest activity first: the rooms made later wrote later.
        assert [r["room_id"] for r in seen["rooms"]] == [r3["room_id"], r2["room_id"], r1["room_id"]]
        lobby = seen["rooms"][2]
        assert lobby["member_count"] == 2 and lobby["present_count"] == 2 and lobby["role"] == "member"
        assert seen["rooms"][0]["role"] is None and seen["rooms"][0]["member_count"] == 1
        assert [r["name"] for r in (await b1.request("chat_room_list", {"query": "dev"}))["rooms"]] == ["Dev ops", "dev talk"]
        assert [r["name"] for r in (await b1.request("chat_room_list", {"query": "%"}))["rooms"]] == []
        mine = await b1.request("chat_room_list", {"mine": True})
        assert mine["total"] == 1 and mine["rooms"][0]["room_id"] == r1["room_id"]
        page = await b1.request("chat_room_list", {"limit": 1, "offset": 1})
        assert page["total"] == 3 and [r["room_id"] for r in page["rooms"]] == [r2["room_id"]]
        assert (await c1.request("chat_room_list", {"mine": True}))["rooms"] == []
        assert b not in (await present(a1, r2["room_id"]))


async def test_presence_is_per_connection(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b2:
        rid = (await create(a1))["room_id"]
        async with harness.client("bob") as b1:
            out = await join(b1, rid)
            assert out["joined"] is True and out["room"]["role"] == "member" and out["room"]["present_count"] == 2
            assert out["room"]["member_count"] == 2
            # bob's other device learns of the new membership, though it is not in the room.
            upd = await b2.next_push("chat_room_conversation_update")
            assert upd["data"]["room_id"] == rid and upd["data"]["conversation"]["room_id"] == rid
            assert await present(a1, rid) == {a: 1, b: 1}
            m1 = await send(a1, rid, "first")
            push = await b1.next_push("chat_message")
            assert push["data"] == {"event": "new", "kind": "room", "conv_id": rid, "seq": m1["seq"], "message": m1["message"]}
            # b2 joins on its own connection (bob is a member already): only now does it hear the room.
            again = await join(b2, rid)
            assert again["joined"] is False and again["room"]["member_count"] == 2
            assert await present(a1, rid) == {a: 1, b: 2}
            m2 = await send(a1, rid, "second")
            assert (await b2.next_push("chat_message"))["data"]["seq"] == m2["seq"]
            assert (await b1.next_push("chat_message"))["data"]["seq"] == m2["seq"]
        # b1 disconnected: bob is still in the room on b2.
        await until_present(a1, rid, {a: 1, b: 1})
        m3 = await send(a1, rid, "third")
        assert (await b2.next_push("chat_message"))["data"]["seq"] == m3["seq"]
    async with harness.client("alice") as a1, harness.client("bob") as b3:
        # Every connection is gone: nobody is present, but both are still members.
        assert await present(a1, rid) == {}
        assert (await a1.request("chat_room_list", {}))["rooms"][0]["member_count"] == 2
        hist = await b3.request("chat_room_history", {"room_id": rid, "after_seq": 1})
        assert [m["id"] for m in hist["messages"]] == [m1["id"], m2["id"], m3["id"]]
        (conv,) = (await b3.request("chat_room_conversations", {}))["conversations"]
        assert conv["present_count"] == 0 and conv["last_seq"] == m3["seq"]
        # A message sent to an empty room reaches no one until they join; history has it.
        m4 = await send(b3, rid, "anyone?")
        await join(a1, rid)
        m5 = await send(b3, rid, "hello alice")
        assert (await a1.next_push("chat_message"))["data"]["seq"] == m5["seq"] == m4["seq"] + 1


async def test_members_paged_with_roles_and_mutes(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    (d,) = await add_users(harness, "dave")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1, harness.client("dave") as d1:
        rid = (await create(a1))["room_id"]
        for client in (b1, c1, d1):
            await join(client, rid)
        await a1.request("chat_room_member_role_set", {"room_id": rid, "user_id": b, "role": "admin"})
        await a1.request("chat_room_member_mute_set", {"room_id": rid, "user_id": d, "duration_ms": 60_000})
        page1 = await c1.request("chat_room_members", {"room_id": rid, "limit": 2})
        assert page1["present_count"] == 4 and page1["member_count"] == 4 and page1["has_more"] is True
        assert [(m["user"]["id"], m["role"]) for m in page1["members"]] == [(a, "owner"), (b, "admin")]
        page2 = await c1.request("chat_room_members", {"room_id": rid, "limit": 2, "offset": 2})
        assert page2["has_more"] is False
        assert [(m["user"]["id"], m["muted"]) for m in page2["members"]] == [(c, False), (d, True)]
        assert page2["members"][1]["muted_until"] > 0 and page2["members"][1]["user"]["name"] == "dave"


async def test_exit_ends_membership_on_every_connection(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        rid = (await create(a1))["room_id"]
        await join(b1, rid)
        await join(b2, rid)
        await b2.next_push("chat_room_conversation_update")
        before = await send(b1, rid, "bye")
        assert await b1.request("room_exit", {"room_id": rid}) == {"room_id": rid}
        upd = await b2.next_push("chat_room_conversation_update")
        assert upd["data"] == {"room_id": rid, "removed": True, "conversation": None}
        assert await present(a1, rid) == {a: 1}
        await fails(b2, "chat_room_history", {"room_id": rid}, "not_member")
        await fails(b2, "chat_room_send", {"room_id": rid, "content": text("x")}, "not_member")
        await fails(b1, "room_exit", {"room_id": rid}, "not_member")
        assert (await b1.request("chat_room_conversations", {}))["conversations"] == []
        await send(a1, rid, "while bob is away")
        # Rejoining: what came before counts as read; pushes come to the joining connection only.
        out = await join(b2, rid)
        assert out["joined"] is True and out["room"]["member_count"] == 2
        (conv,) = (await b2.request("chat_room_conversations", {}))["conversations"]
        assert conv["unread"] == 0
        m = await send(a1, rid, "welcome back")
        assert (await b2.next_push("chat_message", where=is_text("welcome back")))["data"]["seq"] == m["seq"]
        await b1.request("ping")
        assert not b1.pending_pushes("chat_message")
        # Joins and exits are not in the history: it would flood a big room.
        hist = await a1.request("chat_room_history", {"room_id": rid})
        assert [m["content"].get("event") or m["content"]["text"] for m in hist["messages"]] == [
            "room_created", "bye", "while bob is away", "welcome back",
        ]  # fmt: skip
        assert before["seq"] == 2


@pytest.mark.parametrize("config_overrides", [{"rooms": {"kick_ban_s": 600}}])
async def test_kick_bans_for_a_while(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2, harness.client("carol") as c1:
        rid = (await create(a1))["room_id"]
        for client in (b1, c1):
            await join(client, rid)
        out = await a1.request("chat_room_member_kick", {"room_id": rid, "user_id": b})
        assert out["room_id"] == rid and out["user_id"] == b and out["banned_until"] > 0
        for client in (c1, b1, b2):
            push = await client.next_push("chat_message", where=system("member_kicked"))
            assert push["data"]["message"]["content"]["data"]["user_id"] == b
        upd = await b1.next_push("chat_room_conversation_update")
        assert upd["data"]["removed"] is True
        assert await present(a1, rid) == {a: 1, c: 1}
        await fails(b1, "chat_room_send", {"room_id": rid, "content": text("x")}, "not_member")
        await fails(b1, "chat_room_history", {"room_id": rid}, "not_member")
        err = await fails(b1, "room_join", {"room_id": rid}, "banned")
        assert 590_000 < err.retry_after_ms <= 600_000
        # b1 is out of the room: what is said next does not reach it.
        await send(c1, rid, "bob is gone")
        await b1.request("ping")
        assert not b1.pending_pushes("chat_message")
        await fails(a1, "chat_room_member_kick", {"room_id": rid, "user_id": b}, "not_found")
        await fails(a1, "chat_room_member_kick", {"room_id": rid, "user_id": a}, "bad_request")


@pytest.mark.parametrize("config_overrides", [{"rooms": {"kick_ban_s": 1}}])
async def test_the_ban_ends(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        rid = (await create(a1))["room_id"]
        await join(b1, rid)
        await a1.request("chat_room_member_kick", {"room_id": rid, "user_id": b})
        with trio.fail_after(10):
            while True:
                try:
                    out = await join(b1, rid)
                    break
                except ClientError as exc:
                    assert exc.code == "banned" and 0 < exc.retry_after_ms <= 1000
                    await trio.sleep(exc.retry_after_ms / 1000)
        assert out["joined"] is True
        m = await send(a1, rid, "back")
        assert (await b1.next_push("chat_message", where=is_text("back")))["data"]["seq"] == m["seq"]


async def test_who_may_kick_whom(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    (d,) = await add_users(harness, "dave")
    await harness.add_user("root", admin=True)
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1, harness.client(
        "dave"
    ) as d1, harness.client("root") as r1:
        rid = (await create(a1))["room_id"]
        for client in (b1, c1, d1):
            await join(client, rid)
        # A plain member may not; a room admin removes plain members, not the owner or other admins.
        await fails(c1, "chat_room_member_kick", {"room_id": rid, "user_id": d}, "forbidden")
        await a1.request("chat_room_member_role_set", {"room_id": rid, "user_id": b, "role": "admin"})
        await a1.request("chat_room_member_role_set", {"room_id": rid, "user_id": c, "role": "admin"})
        await fails(b1, "chat_room_member_kick", {"room_id": rid, "user_id": a}, "forbidden")
        await fails(b1, "chat_room_member_kick", {"room_id": rid, "user_id": c}, "forbidden")
        await b1.request("chat_room_member_kick", {"room_id": rid, "user_id": d})
        # A server admin who is not a member may kick anyone, the owner too.
        await fails(r1, "chat_room_history", {"room_id": rid}, "not_member")
        await r1.request("chat_room_member_kick", {"room_id": rid, "user_id": a})
        await fails(a1, "chat_room_send", {"room_id": rid, "content": text("x")}, "not_member")
        assert await present(b1, rid) == {b: 1, c: 1}


async def test_member_mute_with_expiry_outlives_rejoining(harness, users):
    b, c = users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        rid = (await create(a1))["room_id"]
        await join(b1, rid)
        await join(c1, rid)
        out = await a1.request("chat_room_member_mute_set", {"room_id": rid, "user_id": b, "duration_ms": 600_000})
        assert out["muted"] is True and out["muted_until"] > 0
        push = await c1.next_push("chat_message", where=system("member_muted"))
        assert push["data"]["message"]["content"]["data"]["user_id"] == b
        err = await fails(b1, "chat_room_send", {"room_id": rid, "content": text("hi")}, "muted")
        assert 590_000 < err.retry_after_ms <= 600_000
        await fails(b1, "chat_room_typing", {"room_id": rid}, "muted")
        await b1.request("chat_room_history", {"room_id": rid})
        # Exiting and rejoining does not lift it.
        await b1.request("room_exit", {"room_id": rid})
        await join(b1, rid)
        await fails(b1, "chat_room_send", {"room_id": rid, "content": text("hi")}, "muted")
        out = await a1.request("chat_room_member_mute_set", {"room_id": rid, "user_id": b, "until": 1})
        assert out == {"room_id": rid, "user_id": b, "muted": False, "muted_until": 0}
        await c1.next_push("chat_message", where=system("member_unmuted"))
        await send(b1, rid, "free again")
        await a1.request("chat_room_member_mute_set", {"room_id": rid, "user_id": b, "duration_ms": 300})
        with trio.fail_after(10):
            while True:
                try:
                    await send(b1, rid, "after the mute")
                    break
                except ClientError as exc:
                    assert exc.code == "muted" and 0 < exc.retry_after_ms <= 300
                    await trio.sleep(exc.retry_after_ms / 1000)
        await fails(b1, "chat_room_member_mute_set", {"room_id": rid, "user_id": c, "duration_ms": 1000}, "forbidden")
        await fails(a1, "chat_room_member_mute_set", {"room_id": rid, "user_id": c}, "bad_request")


async def test_roles_owner_handover_and_rejoining_owner(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        rid = (await create(a1))["room_id"]
        await join(b1, rid)
        out = await a1.request("chat_room_member_role_set", {"room_id": rid, "user_id": b, "role": "admin"})
        assert out == {"room_id": rid, "user_id": b, "role": "admin"}
        push = await b1.next_push("chat_message", where=system("role_changed"))
        assert push["data"]["message"]["content"]["data"]["role"] == "admin"
        await fails(b1, "chat_room_member_role_set", {"room_id": rid, "user_id": b, "role": "member"}, "forbidden")
        await fails(a1, "chat_room_member_role_set", {"room_id": rid, "user_id": b, "role": "king"}, "bad_request")
        # The owner exits and comes back as the owner.
        await a1.request("room_exit", {"room_id": rid})
        assert (await join(a1, rid))["room"]["role"] == "owner"
        await a1.request("chat_room_member_role_set", {"room_id": rid, "user_id": b, "role": "owner"})
        rooms = (await b1.request("chat_room_list", {}))["rooms"]
        assert rooms[0]["owner_id"] == b and rooms[0]["role"] == "owner"
        assert (await a1.request("chat_room_list", {}))["rooms"][0]["role"] == "admin"


async def test_update_and_disband(harness, users):
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        rid = (await create(a1, "old"))["room_id"]
        await join(b1, rid)
        await b2.next_push("chat_room_conversation_update")
        out = await a1.request("chat_room_update", {"room_id": rid, "name": "new", "description": "d"})
        assert out["room"]["name"] == "new" and out["room"]["description"] == "d" and out["room"]["present_count"] == 2
        push = await b1.next_push("chat_message", where=system("room_updated"))
        assert push["data"]["message"]["content"]["data"]["changes"] == {"name": "new", "description": "d"}
        await fails(b1, "chat_room_update", {"room_id": rid, "name": "mine"}, "forbidden")
        await fails(b1, "chat_room_disband", {"room_id": rid}, "forbidden")
        assert await a1.request("chat_room_disband", {"room_id": rid}) == {"room_id": rid}
        for client in (b1, b2):
            upd = await client.next_push("chat_room_conversation_update")
            assert upd["data"] == {"room_id": rid, "removed": True, "conversation": None}
        assert (await b1.request("chat_room_list", {}))["total"] == 0
        await fails(b1, "room_join", {"room_id": rid}, "not_found")
        await fails(a1, "chat_room_history", {"room_id": rid}, "not_found")
        assert await b1.request("chat_room_conversations", {}) == {"conversations": []}


async def test_a_join_racing_a_kick_never_leaves_the_kicked_user_in_the_room(harness, users):
    a, b = users["alice"], users["bob"]
    presence = harness.server.services.room_presence
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        for _ in range(20):
            rid = (await create(a1))["room_id"]
            await join(b1, rid)
            outcomes = []

            async def kick() -> None:
                await a1.request("chat_room_member_kick", {"room_id": rid, "user_id": b})

            async def rejoin() -> None:
                frame = await b2.call("room_join", {"room_id": rid})
                outcomes.append("ok" if frame["ok"] else frame["error"]["code"])

            async with trio.open_nursery() as nursery:
                nursery.start_soon(kick)
                nursery.start_soon(rejoin)
            assert outcomes in (["ok"], ["banned"])
            assert await present(a1, rid) == {a: 1} and b not in presence.users(rid)

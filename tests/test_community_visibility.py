"""What members hear when what they may see changes, over real sockets on two devices: a
channel hidden by a move or an overwrite (`hidden`, without the channel) and shown again
(`updated`, with it), community.role_changed for every role write, and join requests
pushed to the members who may decide them, and to no one else."""

from __future__ import annotations

from .test_community_chat import setup, text
from .test_community_requests import _community as _by_request

CHANNEL = "community.channel_changed"


async def _everyone(a1, cid: int) -> int:
    return (await a1.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]


async def test_a_channel_hidden_and_shown_again_by_a_move_and_by_an_overwrite(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("bob") as b2:
        cid, cat, general = await setup(a1, b1)
        staff = (await a1.request("community_category_create", {"community_id": cid, "name": "Staff"}))["category"]["category_id"]
        everyone = await _everyone(a1, cid)
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "category", "place_id": staff,
                                                     "target": "role", "target_id": everyone, "deny": ["view_channel"]})
        for client in (b1, b2):  # a category's overwrites changed: every member hears it
            push = await client.next_push(CHANNEL, where=lambda d: d["event"] == "category_updated")
            assert push["data"]["category_id"] == staff
        # Moved into a category bob cannot see: his devices hear `hidden`, without the channel.
        moved = (await a1.request("community_channel_update", {"community_id": cid, "channel_id": general, "category_id": staff}))["channel"]
        for client in (b1, b2):
            push = await client.next_push(CHANNEL, where=lambda d: d["channel_id"] == general)
            assert push["data"] == {"community_id": cid, "event": "hidden", "channel_id": general, "category_id": None, "channel": None}
        push = await a2.next_push(CHANNEL, where=lambda d: d["channel_id"] == general)
        assert push["data"]["event"] == "updated" and push["data"]["channel"] == moved
        # Moved back: `updated`, with the channel, so that his devices add it again.
        back = (await a1.request("community_channel_update", {"community_id": cid, "channel_id": general, "category_id": cat}))["channel"]
        for client in (b1, b2):
            push = await client.next_push(CHANNEL, where=lambda d: d["channel_id"] == general)
            assert push["data"]["event"] == "updated" and push["data"]["channel"] == back
        # A member overwrite of the channel hides it from him alone, and shows it again.
        a2.clear_pushes()
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": general,
                                                     "target": "member", "target_id": b, "deny": ["view_channel"]})
        push = await b2.next_push(CHANNEL, where=lambda d: d["channel_id"] == general)
        assert push["data"]["event"] == "hidden"
        push = await a2.next_push(CHANNEL, where=lambda d: d["channel_id"] == general)
        assert push["data"]["event"] == "updated" and push["data"]["channel"]["synced"] is False
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": general,
                                                     "target": "member", "target_id": b})
        push = await b2.next_push(CHANNEL, where=lambda d: d["channel_id"] == general)
        assert push["data"]["event"] == "updated" and push["data"]["channel"]["channel_id"] == general
        # A rename hides nothing: everyone who sees it hears `updated`, nobody `hidden`.
        b1.clear_pushes()
        await a1.request("community_channel_update", {"community_id": cid, "channel_id": general, "name": "大厅"})
        push = await b1.next_push(CHANNEL, where=lambda d: d["channel_id"] == general)
        assert push["data"]["event"] == "updated" and push["data"]["channel"]["name"] == "大厅"
        assert not [p for p in b1.pending_pushes(CHANNEL) if p["data"]["event"] == "hidden"]


async def test_every_role_write_is_heard_by_every_member(harness, users):
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        cid, _, _ = await setup(a1, b1)
        mods = (await a1.request("community_role_create", {"community_id": cid, "name": "Mods", "allow": ["kick"]}))["role"]
        helpers = (await a1.request("community_role_create", {"community_id": cid, "name": "Helpers"}))["role"]
        for role in (mods, helpers):
            push = await b2.next_push("community.role_changed", where=lambda d, r=role: d["role_id"] == r["role_id"])
            assert push["data"] == {"community_id": cid, "event": "created", "role_id": role["role_id"], "role": role}
        edited = (await a1.request("community_role_update", {"community_id": cid, "role_id": mods["role_id"], "allow": ["kick", "mute"]}))["role"]
        push = await b1.next_push("community.role_changed", where=lambda d: d["event"] == "updated")
        assert push["data"]["role"] == edited
        await a1.request("community_role_reorder", {"community_id": cid, "role_ids": [mods["role_id"], helpers["role_id"]]})
        push = await b2.next_push("community.role_changed", where=lambda d: d["event"] == "reordered")
        assert push["data"] == {"community_id": cid, "event": "reordered", "role_id": None, "role": None}
        await a1.request("community_role_delete", {"community_id": cid, "role_id": helpers["role_id"]})
        push = await b2.next_push("community.role_changed", where=lambda d: d["event"] == "deleted")
        assert push["data"] == {"community_id": cid, "event": "deleted", "role_id": helpers["role_id"], "role": None}


async def test_join_requests_reach_those_who_may_decide_them_and_nobody_else(harness, users):
    c, d = users["carol"], await harness.add_user("dave")
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, \
            harness.client("carol") as c1, harness.client("dave") as d1:
        cid, ch = await _by_request(a1, b1)
        # @everyone may invite (the default): bob, a plain member, hears the request.
        await c1.request("community_join", {"community_id": cid, "message": "让我进去"})
        for client in (a2, b1):
            push = await client.next_push("community.join_requested")
            req = push["data"]["request"]
            assert push["data"]["community_id"] == cid and (req["user_id"], req["message"], req["status"]) == (c, "让我进去", "pending")
        # Without invite for @everyone, only the owner (on every device) hears the next one.
        everyone = await _everyone(a1, cid)
        await a1.request("community_role_update", {"community_id": cid, "role_id": everyone, "allow": ["view_channel", "send", "read_history"]})
        for client in (a1, b1):
            client.clear_pushes()
        await d1.request("community_join", {"community_id": cid})
        for client in (a1, a2):
            push = await client.next_push("community.join_requested")
            assert push["data"]["request"]["user_id"] == d
        # A member whose role may decide hears the next one too.
        mods = (await a1.request("community_role_create", {"community_id": cid, "name": "Mods", "allow": ["manage_community"]}))["role"]
        await a1.request("community_role_set", {"community_id": cid, "user_id": users["bob"], "add": [mods["role_id"]]})
        e = await harness.add_user("erin")
        async with harness.client("erin") as e1:
            await e1.request("community_join", {"community_id": cid})
        push = await b1.next_push("community.join_requested")
        assert push["data"]["request"]["user_id"] == e
        await a1.request("community_role_set", {"community_id": cid, "user_id": users["bob"], "remove": [mods["role_id"]]})
        for client in (a1, b1):
            client.clear_pushes()
        await a1.request("community_send", {"channel_id": ch, "content": text("later")})  # pushed after it, in commit order
        await b1.next_push("community.message")
        assert b1.pending_pushes("community.join_requested") == []
        # The decision reaches the requester and those who may decide (their lists drop it).
        a2.clear_pushes()
        await a1.request("community_request_decide", {"community_id": cid, "user_id": d, "approve": False})
        for client in (a2, d1):
            push = await client.next_push("community.request_decided")
            assert push["data"] == {"community_id": cid, "user_id": d, "status": "refused"}

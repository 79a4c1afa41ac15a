"""Control messages over real sockets on every kind: to the conversation's connections now (the
sender's other devices too), in order with its messages, with an increasing id and no seq;
never stored or counted; the size limit, the send rate and a blocking DM peer."""

from __future__ import annotations

from typing import Any

import pytest

from .test_community_chat import fails, setup, text



@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return {"limits": {"max_control_bytes": 64}}


async def test_a_group_control_reaches_every_device_in_order_and_is_never_stored(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        gid = (await a1.request("chat_group_create", {"name": "g", "members": [b]}))["group"]["group_id"]
        before = await b1.request("chat_group_conversations", {})
        sent = await a1.request("chat_group_send", {"group_id": gid, "content": text("棋局开始")})
        first = await a1.request("chat_group_control", {"group_id": gid, "name": "move", "data": {"from": "e2", "to": "e4"}})
        second = await a1.request("chat_group_control", {"group_id": gid, "name": "move"})
        assert second["id"] > first["id"] and first["conv_id"] == gid
        for client in (b1, a2):  # the message, then both controls, in that order
            await client.next_push("chat_control", where=lambda d: d["id"] == second["id"])
            got = [(f["cmd"], f["data"].get("seq") if f["cmd"] == "chat_message" else f["data"]["id"]) for f in client.pending_pushes()
                   if f["cmd"] == "chat_control" or (f["cmd"] == "chat_message" and f["data"]["event"] == "new")]
            assert got[-2:] == [("chat_message", sent["seq"]), ("chat_control", first["id"])], got
        push = b1.pending_pushes("chat_control")[-1]["data"]
        assert (push["kind"], push["user_id"], push["name"], push["data"]) == ("group", users["alice"], "move", {"from": "e2", "to": "e4"})
        assert not a1.pending_pushes("chat_control")  # the sending connection has the response
        # Nothing stored: history and badges are as the message left them.
        page = await b1.request("chat_group_history", {"group_id": gid, "after_seq": sent["seq"] - 1})
        assert [m["id"] for m in page["messages"]] == [sent["id"]]
        after = await b1.request("chat_group_conversations", {})
        unread = {c["group_id"]: c["unread"] for c in after["conversations"]}
        assert unread[gid] == 1 + {c["group_id"]: c["unread"] for c in before["conversations"]}.get(gid, 0)
        # Errors.
        await fails(a1, "chat_group_control", {"group_id": gid, "name": "x", "data": "y" * 100}, "too_large")
        await fails(a1, "chat_group_control", {"group_id": gid, "name": ""}, "bad_request")
        async with harness.client("carol") as c1:
            await fails(c1, "chat_group_control", {"group_id": gid, "name": "x"}, "not_member")


async def test_dm_channel_and_room_controls(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        await a1.request("chat_dm_send", {"peer": b, "content": text("hi")})
        sent = await a1.request("chat_dm_control", {"peer": b, "name": "viewing"})
        for client in (b1, b2):
            push = await client.next_push("chat_control")
            assert (push["data"]["kind"], push["data"]["id"], push["data"]["data"]) == ("dm", sent["id"], None)
        # bob blocks alice: her controls reach him no more (she is not told).
        await b1.request("chat_block_add", {"user_id": a})
        assert (await a1.request("chat_dm_control", {"peer": b, "name": "viewing"}))["id"] > sent["id"]
        cid, _, ch = await setup(a1, b1)
        await a1.request("community_control", {"channel_id": ch, "name": "poll", "data": [1, 2]})
        push = await b2.next_push("community.control")  # the channel's, after the DM's, which never came
        assert push["data"]["name"] == "poll" and push["data"]["kind"] == "channel"
        assert b2.pending_pushes("chat_control") == []
        room = (await a1.request("chat_room_create", {"name": "大厅"}))["room"]["room_id"]
        await b1.request("room_join", {"room_id": room})
        await a1.request("chat_room_control", {"room_id": room, "name": "wave"})
        push = await b1.next_push("chat_control", where=lambda d: d["kind"] == "room")
        assert push["data"]["conv_id"] == room
        assert cid

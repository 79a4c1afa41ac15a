"""Room chat end to end over real sockets: send and fanout to the connections in the room,
mentions, quotes, history and catch-up, search (only rooms the user is in, CJK included),
the conversation list, read, pin, notification mute, typing, edit, recall, delete, react."""

from __future__ import annotations

import pytest

from .test_group import add_users, fails, text
from .test_room import create, is_text, join, send



async def room_with(a1, *others) -> int:
    """A room made by a1's user, joined on every other client's connection."""
    rid = (await create(a1))["room_id"]
    for client in others:
        await join(client, rid)
    return rid


async def test_send_reaches_every_connection_in_the_room_once(harness, users):
    a = users["alice"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client(
        "bob", msgpack=True
    ) as b2, harness.client("carol") as c1, harness.client("carol") as c2:
        rid = await room_with(a1, a2, b1, b2, c1)  # c2 is carol's device that is not in the room
        out = await send(a1, rid, "大家好", client_msg_id="r1")
        assert out["conv_id"] == rid and out["seq"] == 2 and out["duplicate"] is False
        assert out["message"]["sender_id"] == a and out["message"]["content"] == text("大家好")
        for client in (a2, b1, b2, c1):
            push = await client.next_push("chat_message")
            assert push["data"] == {"event": "new", "kind": "room", "conv_id": rid, "seq": 2, "message": out["message"]}
        for client in (a1, c2):
            await client.request("ping")
            assert not [p for p in client.pending_pushes("chat_message") if p["data"]["seq"] == 2]
        # No conversation update per message.
        for client in (a2, b1, c1, c2):
            assert not [p for p in client.pending_pushes("chat_room_conversation_update") if p["data"]["conversation"]["last_seq"] == 2]
        again = await send(a1, rid, "大家好", client_msg_id="r1")
        assert again["duplicate"] is True and again["id"] == out["id"]
        hist = await c2.request("chat_room_history", {"room_id": rid})
        assert [m["id"] for m in hist["messages"]][1:] == [out["id"]]
        err = await fails(a1, "chat_room_send", {"room_id": rid, "content": {"type": "system", "event": "x"}}, "bad_request")
        assert err.field == "content.type"
        await fails(a1, "chat_room_send", {"room_id": 99999, "content": text("x")}, "not_found")


async def test_mentions_and_quotes(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    (d,) = await add_users(harness, "dave")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        rid = await room_with(a1, b1, c1)
        other = await room_with(a1, b1)
        err = await fails(b1, "chat_room_send", {"room_id": rid, "content": text("@all"), "mentions": [0]}, "forbidden")
        assert err.field == "mentions"
        err = await fails(b1, "chat_room_send", {"room_id": rid, "content": text("@dave"), "mentions": [d]}, "bad_request")
        assert err.field == "mentions"
        orig = await send(b1, rid, "@carol look", mentions=[c])
        (conv,) = (await c1.request("chat_room_conversations", {}))["conversations"]
        assert conv["mentioned"] is True
        await send(a1, rid, "@all meeting", mentions=[0])
        reply = await send(c1, rid, "seen", quote_id=orig["id"])
        assert reply["message"]["quote"]["id"] == orig["id"] and reply["message"]["quote"]["sender_id"] == b
        err = await fails(b1, "chat_room_send", {"room_id": other, "content": text("x"), "quote_id": orig["id"]}, "not_found")
        assert err.field == "quote_id"
        assert a


async def test_history_by_seq_and_by_time(harness, users):
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        rid = await room_with(a1, b1)
        sent = [await send(a1, rid, f"m{i}") for i in range(20)]  # seqs 2..21
        latest = await b1.request("chat_room_history", {"room_id": rid, "limit": 5})
        assert [m["seq"] for m in latest["messages"]] == [17, 18, 19, 20, 21]
        assert latest["has_more"] is True and latest["last_seq"] == 21 and latest["room_id"] == rid
        older = await b1.request("chat_room_history", {"room_id": rid, "before_seq": 17, "limit": 5})
        assert [m["seq"] for m in older["messages"]] == [12, 13, 14, 15, 16]
        gap = await b1.request("chat_room_history", {"room_id": rid, "after_seq": 19})
        assert [m["id"] for m in gap["messages"]] == [m["id"] for m in sent[-2:]]
        page = await b1.request("chat_room_history", {"room_id": rid, "desc": True, "num": 3})
        assert [m["id"] for m in page["messages"]] == [m["id"] for m in sent[-3:]][::-1]
        nxt = await b1.request("chat_room_history", {"room_id": rid, "desc": True, "num": 2, "lastid": page["lastid"]})
        assert [m["id"] for m in nxt["messages"]] == [sent[-4]["id"], sent[-5]["id"]]


async def test_search_only_rooms_the_user_is_in(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        r1 = await room_with(a1, b1)
        r2 = await room_with(a1, b1, c1)
        m1 = await send(a1, r1, "明天开会讨论预算")
        m2 = await send(b1, r2, "Meeting notes: 下午开会")
        await c1.request("chat_dm_send", {"peer": b, "content": text("开会 in a DM")})
        found = await b1.request("chat_room_search", {"query": "开会"})
        assert [r["message"]["id"] for r in found["results"]] == [m2["id"], m1["id"]]
        assert [r["room_id"] for r in found["results"]] == [r2, r1] and "[开会]" in found["results"][0]["snippet"]
        assert [r["message"]["id"] for r in (await c1.request("chat_room_search", {"query": "开会"}))["results"]] == [m2["id"]]
        only = await b1.request("chat_room_search", {"query": "会", "room_id": r1})
        assert [r["message"]["id"] for r in only["results"]] == [m1["id"]]
        assert [r["message"]["id"] for r in (await b1.request("chat_room_search", {"query": "meet"}))["results"]] == [m2["id"]]
        assert (await b1.request("chat_room_search", {"query": "开讨"}))["results"] == []
        await fails(c1, "chat_room_search", {"query": "开会", "room_id": r1}, "not_member")
        assert (await b1.request("chat_room_search", {"query": "开会", "limit": 1}))["has_more"] is True
        # Group search does not see rooms, nor room search groups.
        assert (await b1.request("chat_group_search", {"query": "开会"}))["results"] == []
        # After exiting, the room's messages are no longer found.
        await b1.request("room_exit", {"room_id": r1})
        assert [r["message"]["id"] for r in (await b1.request("chat_room_search", {"query": "开会"}))["results"]] == [m2["id"]]


async def test_conversations_read_pin_and_notification_mute(harness, users):
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        r1 = await room_with(a1, b1)
        r2 = await room_with(a1, b1)
        for i in range(3):
            await send(a1, r1, f"x{i}")
        convs = (await b1.request("chat_room_conversations", {}))["conversations"]
        assert [x["room_id"] for x in convs] == [r1, r2]
        assert convs[0]["unread"] == 3 and convs[0]["last_message"]["content"] == text("x2") and convs[0]["name"] == "lobby"
        assert convs[0]["member_count"] == 2 and convs[0]["role"] == "member" and convs[0]["present_count"] == 2
        out = await b1.request("chat_room_mark_read", {"room_id": r1, "seq": 2})
        assert out == {"room_id": r1, "conv_id": r1, "last_read_seq": 2}
        upd = await b2.next_push("chat_room_conversation_update", where=lambda d: d["conversation"] and d["conversation"]["last_read_seq"] == 2)
        assert upd["data"]["conversation"]["unread"] == 2 and upd["data"]["room_id"] == r1
        assert (await b1.request("chat_room_mark_read", {"room_id": r1, "seq": 1}))["last_read_seq"] == 2
        assert (await b1.request("chat_room_mark_read", {"room_id": r1}))["last_read_seq"] == 4
        await send(a1, r2, "news")
        unread = (await b1.request("chat_room_conversations", {"unread_only": True}))["conversations"]
        assert [x["room_id"] for x in unread] == [r2]
        assert await b1.request("chat_room_pin_set", {"room_id": r1, "pinned": True}) == {"room_id": r1, "conv_id": r1, "pinned": True}
        upd = await b2.next_push("chat_room_conversation_update", where=lambda d: d["conversation"] and d["conversation"]["pinned"])
        assert upd["data"]["room_id"] == r1
        assert [x["room_id"] for x in (await b1.request("chat_room_conversations", {}))["conversations"]] == [r1, r2]
        out = await b1.request("chat_room_mute_set", {"room_id": r2, "muted": True})
        assert out == {"room_id": r2, "conv_id": r2, "muted": True}
        upd = await b2.next_push("chat_room_conversation_update", where=lambda d: d["conversation"] and d["conversation"]["muted"])
        assert upd["data"]["room_id"] == r2
        await send(b1, r2, "still here")
        convs = {x["room_id"]: x for x in (await b1.request("chat_room_conversations", {}))["conversations"]}
        assert convs[r2]["muted"] is True and convs[r1]["muted"] is False


async def test_typing_goes_to_the_others_in_the_room(harness, users):
    a = users["alice"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client(
        "carol"
    ) as c1, harness.client("carol") as c2:
        rid = await room_with(a1, a2, b1, c1)
        assert await a1.request("chat_room_typing", {"room_id": rid}) == {"sent": True}
        for client in (b1, c1):
            push = await client.next_push("chat_typing")
            assert push["data"] == {"kind": "room", "conv_id": rid, "user_id": a, "typing": True}
        assert (await a1.request("chat_room_typing", {"room_id": rid}))["sent"] is False
        for client in (a1, a2, c2):
            await client.request("ping")
            assert not client.pending_pushes("chat_typing")


async def test_edit_react_delete(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("carol") as c1:
        rid = await room_with(a1, a2, b1, c1)
        m = await send(a1, rid, "明天开会")
        for client in (a2, b1, c1):
            await client.next_push("chat_message", where=is_text("明天开会"))
        edited = await a1.request("chat_room_edit", {"room_id": rid, "msg_id": m["id"], "content": text("后天开会")})
        assert edited["message"]["edited_at"] and edited["message"]["content"] == text("后天开会")
        for client in (a2, b1, c1):
            push = await client.next_push("chat_message", where=lambda d: d["event"] == "edit")
            assert push["data"]["message"]["content"] == text("后天开会") and push["data"]["kind"] == "room"
        assert (await c1.request("chat_message_edits", {"msg_id": m["id"]}))["total"] == 1
        await fails(b1, "chat_room_edit", {"room_id": rid, "msg_id": m["id"], "content": text("mine")}, "forbidden")
        out = await b1.request("chat_room_react", {"room_id": rid, "msg_id": m["id"], "emoji": "👍"})
        assert out["message"]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [b]}]
        for client in (a1, c1):
            push = await client.next_push("chat_message", where=lambda d: d["event"] == "react")
            assert push["data"]["message"]["reactions"][0]["count"] == 1
        out = await b1.request("chat_room_react", {"room_id": rid, "msg_id": m["id"], "emoji": "👍", "remove": True})
        assert out["message"]["reactions"] == []
        keep = await send(a1, rid, "keep")
        assert await a1.request("chat_room_delete", {"room_id": rid, "msg_ids": [keep["id"]]}) == {"deleted": [keep["id"]]}
        push = await a2.next_push("chat_message", where=lambda d: d["event"] == "delete")
        assert push["data"]["msg_ids"] == [keep["id"]] and push["data"]["kind"] == "room"
        upd = await a2.next_push("chat_room_conversation_update", where=lambda d: d["conversation"]["last_message"]["id"] == m["id"])
        assert upd["data"]["room_id"] == rid
        assert keep["id"] not in [x["id"] for x in (await a1.request("chat_room_history", {"room_id": rid}))["messages"]]
        assert keep["id"] in [x["id"] for x in (await b1.request("chat_room_history", {"room_id": rid}))["messages"]]
        await fails(a1, "chat_room_delete", {"room_id": rid, "msg_ids": [123]}, "not_found")


@pytest.mark.parametrize("config_overrides", [{"messages": {"recall_window_s": 0}}])
async def test_recall_by_sender_window_and_room_admins(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        rid = await room_with(a1, b1, c1)
        from_c = await send(c1, rid, "secret plan")
        await fails(c1, "chat_room_recall", {"room_id": rid, "msg_id": from_c["id"]}, "recall_window_passed")
        await fails(b1, "chat_room_recall", {"room_id": rid, "msg_id": from_c["id"]}, "forbidden")
        await a1.request("chat_room_member_role_set", {"room_id": rid, "user_id": b, "role": "admin"})
        out = await b1.request("chat_room_recall", {"room_id": rid, "msg_id": from_c["id"]})
        assert out["message"]["recalled_at"] and out["message"]["content"] is None
        push = await c1.next_push("chat_message", where=lambda d: d["event"] == "recall")
        assert push["data"]["message"]["id"] == from_c["id"]
        assert (await a1.request("chat_room_search", {"query": "secret"}))["results"] == []
        await fails(c1, "chat_room_react", {"room_id": rid, "msg_id": from_c["id"], "emoji": "👍"}, "not_editable")

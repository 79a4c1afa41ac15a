"""Group chat end to end over real sockets: send and fanout, mentions, quotes, history and
catch-up, search, the conversation list, read, pin, mute, typing, edit, recall, delete,
react, and aggregated read receipts."""

from __future__ import annotations

import contextlib

import pytest
import trio

from chatd.client import ClientError

from .test_group import add_users, create, fails, send, text



async def test_send_reaches_every_member_device_once(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client(
        "bob", msgpack=True
    ) as b2, harness.client("carol") as c1:
        gid = (await create(a1, "team", [b, c]))["group_id"]
        for client in (a1, a2, b1, b2, c1):
            await client.next_push("chat_message")  # group_created
        out = await send(a1, gid, "大家好", client_msg_id="g1")
        assert out["conv_id"] == gid and out["seq"] == 2 and out["duplicate"] is False
        assert out["message"]["sender_id"] == a and out["message"]["content"] == text("大家好")
        for client in (a2, b1, b2, c1):
            push = await client.next_push("chat_message")
            assert push["data"] == {"event": "new", "kind": "group", "conv_id": gid, "seq": 2, "message": out["message"]}
        await a1.request("ping")
        assert not a1.pending_pushes("chat_message")
        # No conversation update per message: clients update from chat_message.
        for client in (a2, b1, c1):
            await client.request("ping")
            assert not [p for p in client.pending_pushes("chat_group_conversation_update") if p["data"]["conversation"]["last_seq"] == 2]
        again = await send(a1, gid, "大家好", client_msg_id="g1")
        assert again["duplicate"] is True and again["id"] == out["id"]
        hist = await c1.request("chat_group_history", {"group_id": gid})
        assert [m["id"] for m in hist["messages"]][1:] == [out["id"]]
        # client_msg_id is the sender's: reusing it for another conversation is refused.
        await a1.request("chat_dm_send", {"peer": b, "content": text("dm"), "client_msg_id": "d1"})
        err = await fails(a1, "chat_group_send", {"group_id": gid, "content": text("x"), "client_msg_id": "d1"}, "conflict")
        assert err.field == "client_msg_id"


async def test_content_types_and_bad_content(harness, users):
    b = users["bob"]
    contents = [
        {"type": "markdown", "text": "**bold**"},
        {"type": "image", "url": "https://x/y.png", "width": 10, "height": 20},
        {"type": "file", "url": "https://x/a.pdf", "name": "a.pdf", "size": 1234},
        {"type": "buttons", "text": "Choose", "buttons": [[{"text": "Yes", "action": "callback", "value": "y"}]]},
    ]
    async with harness.client("alice") as a1:
        gid = (await create(a1, "team", [b]))["group_id"]
        for content in contents:
            out = await a1.request("chat_group_send", {"group_id": gid, "content": content})
            assert out["message"]["content"] == content
        err = await fails(a1, "chat_group_send", {"group_id": gid, "content": {"type": "system", "event": "x"}}, "bad_request")
        assert err.field == "content.type"
        await fails(a1, "chat_group_send", {"group_id": 99999, "content": text("x")}, "not_found")


async def test_mentions_and_all_for_admins_only(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    (d,) = await add_users(harness, "dave")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await create(a1, "team", [b, c]))["group_id"]
        err = await fails(b1, "chat_group_send", {"group_id": gid, "content": text("@all"), "mentions": [0]}, "forbidden")
        assert err.field == "mentions"
        err = await fails(b1, "chat_group_send", {"group_id": gid, "content": text("@dave"), "mentions": [d]}, "bad_request")
        assert err.field == "mentions"
        await send(b1, gid, "@carol look", mentions=[c])
        (conv,) = (await c1.request("chat_group_conversations", {}))["conversations"]
        assert conv["mentioned"] is True
        await c1.request("chat_group_mark_read", {"group_id": gid})
        out = await send(a1, gid, "@all meeting", mentions=[0])
        assert out["message"]["mentions"] == [0]
        for client in (b1, c1):
            (conv,) = (await client.request("chat_group_conversations", {}))["conversations"]
            assert conv["mentioned"] is True
        # Admins may mention everyone too.
        await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": b, "role": "admin"})
        await send(b1, gid, "@all from an admin", mentions=[0])


async def test_quote_within_the_group_only(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        gid = (await create(a1, "team", [b]))["group_id"]
        other = (await create(a1, "other", [b]))["group_id"]
        orig = await send(a1, gid, "what time?")
        reply = await send(b1, gid, "three", quote_id=orig["id"])
        assert reply["message"]["quote"] == {"id": orig["id"], "sender_id": a, "type": "text", "text": "what time?", "recalled": False}
        err = await fails(b1, "chat_group_send", {"group_id": other, "content": text("x"), "quote_id": orig["id"]}, "not_found")
        assert err.field == "quote_id"


async def test_history_by_seq_catch_up_and_by_time(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1:
        gid = (await create(a1, "team", [b]))["group_id"]
        sent = [await send(a1, gid, f"m{i}") for i in range(20)]  # seqs 2..21
        async with harness.client("bob") as b1:
            latest = await b1.request("chat_group_history", {"group_id": gid, "limit": 5})
            assert [m["seq"] for m in latest["messages"]] == [17, 18, 19, 20, 21]
            assert latest["has_more"] is True and latest["last_seq"] == 21 and latest["group_id"] == gid
            older = await b1.request("chat_group_history", {"group_id": gid, "before_seq": 17, "limit": 5})
            assert [m["seq"] for m in older["messages"]] == [12, 13, 14, 15, 16]
        more = [await send(a1, gid, f"late{i}") for i in range(3)]
        async with harness.client("bob") as b1:
            gap = await b1.request("chat_group_history", {"group_id": gid, "after_seq": 21})
            assert [m["id"] for m in gap["messages"]] == [m["id"] for m in more] and gap["has_more"] is False
            page = await b1.request("chat_group_history", {"group_id": gid, "desc": True, "num": 3})
            assert [m["id"] for m in page["messages"]] == [m["id"] for m in more][::-1]
            nxt = await b1.request("chat_group_history", {"group_id": gid, "desc": True, "num": 2, "lastid": page["lastid"]})
            assert [m["id"] for m in nxt["messages"]] == [sent[-1]["id"], sent[-2]["id"]]


async def test_search_only_groups_the_user_is_in(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        g1 = (await create(a1, "one", [b]))["group_id"]
        g2 = (await create(a1, "two", [b, c]))["group_id"]
        m1 = await send(a1, g1, "明天开会讨论预算")
        m2 = await send(b1, g2, "Meeting notes: 下午开会")
        await c1.request("chat_dm_send", {"peer": b, "content": text("开会 in a DM")})
        found = await b1.request("chat_group_search", {"query": "开会"})
        assert [r["message"]["id"] for r in found["results"]] == [m2["id"], m1["id"]]
        assert [r["group_id"] for r in found["results"]] == [g2, g1] and "[开会]" in found["results"][0]["snippet"]
        assert [r["message"]["id"] for r in (await c1.request("chat_group_search", {"query": "开会"}))["results"]] == [m2["id"]]
        only = await b1.request("chat_group_search", {"query": "会", "group_id": g1})
        assert [r["message"]["id"] for r in only["results"]] == [m1["id"]]
        assert [r["message"]["id"] for r in (await b1.request("chat_group_search", {"query": "meet"}))["results"]] == [m2["id"]]
        await fails(c1, "chat_group_search", {"query": "开会", "group_id": g1}, "not_member")
        paged = await b1.request("chat_group_search", {"query": "开会", "limit": 1})
        assert paged["has_more"] is True


async def test_conversations_read_pin_and_notification_mute(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        g1 = (await create(a1, "one", [b]))["group_id"]
        g2 = (await create(a1, "two", [b]))["group_id"]
        for i in range(3):
            await send(a1, g1, f"x{i}")
        convs = (await b1.request("chat_group_conversations", {}))["conversations"]
        assert [x["group_id"] for x in convs] == [g1, g2]
        assert convs[0]["unread"] == 4 and convs[0]["last_message"]["content"] == text("x2") and convs[0]["name"] == "one"
        out = await b1.request("chat_group_mark_read", {"group_id": g1, "seq": 2})
        assert out == {"group_id": g1, "conv_id": g1, "last_read_seq": 2}
        upd = await b2.next_push("chat_group_conversation_update", where=lambda d: d["conversation"]["last_read_seq"] == 2)
        assert upd["data"]["conversation"]["unread"] == 2
        assert (await b1.request("chat_group_mark_read", {"group_id": g1, "seq": 1}))["last_read_seq"] == 2
        assert (await b1.request("chat_group_mark_read", {"group_id": g1}))["last_read_seq"] == 4
        unread = (await b1.request("chat_group_conversations", {"unread_only": True}))["conversations"]
        assert [x["group_id"] for x in unread] == [g2]
        assert (await b1.request("chat_group_pin_set", {"group_id": g2, "pinned": True})) == {"group_id": g2, "conv_id": g2, "pinned": True}
        upd = await b2.next_push("chat_group_conversation_update", where=lambda d: d["conversation"]["pinned"])
        assert upd["data"]["group_id"] == g2
        assert [x["group_id"] for x in (await b1.request("chat_group_conversations", {}))["conversations"]] == [g2, g1]
        out = await b1.request("chat_group_mute_set", {"group_id": g1, "muted": True})
        assert out == {"group_id": g1, "conv_id": g1, "muted": True}
        upd = await b2.next_push("chat_group_conversation_update", where=lambda d: d["conversation"]["muted"])
        assert upd["data"]["group_id"] == g1
        # A notification mute is not a member mute: bob still sends.
        await send(b1, g1, "still here")
        convs = {x["group_id"]: x for x in (await b1.request("chat_group_conversations", {}))["conversations"]}
        assert convs[g1]["muted"] is True and convs[g2]["muted"] is False


async def test_typing_is_pushed_to_members_and_rate_limited(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await create(a1, "team", [b, c]))["group_id"]
        assert (await a1.request("chat_group_typing", {"group_id": gid})) == {"sent": True}
        for client in (b1, c1):
            push = await client.next_push("chat_typing")
            assert push["data"] == {"kind": "group", "conv_id": gid, "user_id": a, "typing": True}
        assert (await a1.request("chat_group_typing", {"group_id": gid}))["sent"] is False
        await a1.request("ping")
        assert not a1.pending_pushes("chat_typing")


async def test_edit_react_delete(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await create(a1, "team", [b, c]))["group_id"]
        m = await send(a1, gid, "明天开会")
        edited = await a1.request("chat_group_edit", {"group_id": gid, "msg_id": m["id"], "content": text("后天开会")})
        assert edited["message"]["edited_at"] and edited["message"]["content"] == text("后天开会")
        for client in (a2, b1, c1):
            push = await client.next_push("chat_message", where=lambda d: d["event"] == "edit")
            assert push["data"]["message"]["content"] == text("后天开会") and push["data"]["kind"] == "group"
        assert (await c1.request("chat_message_edits", {"msg_id": m["id"]}))["total"] == 1
        await fails(b1, "chat_group_edit", {"group_id": gid, "msg_id": m["id"], "content": text("mine")}, "forbidden")
        out = await b1.request("chat_group_react", {"group_id": gid, "msg_id": m["id"], "emoji": "👍"})
        assert out["message"]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [b]}]
        for client in (a1, c1):
            push = await client.next_push("chat_message", where=lambda d: d["event"] == "react")
            assert push["data"]["message"]["reactions"][0]["count"] == 1
        out = await b1.request("chat_group_react", {"group_id": gid, "msg_id": m["id"], "emoji": "👍", "remove": True})
        assert out["message"]["reactions"] == []
        keep = await send(a1, gid, "keep")
        out = await a1.request("chat_group_delete", {"group_id": gid, "msg_ids": [keep["id"]]})
        assert out == {"deleted": [keep["id"]]}
        push = await a2.next_push("chat_message", where=lambda d: d["event"] == "delete")
        assert push["data"]["msg_ids"] == [keep["id"]] and push["data"]["kind"] == "group"
        upd = await a2.next_push("chat_group_conversation_update", where=lambda d: d["conversation"]["last_message"]["id"] == m["id"])
        assert upd["data"]["group_id"] == gid
        mine = await a1.request("chat_group_history", {"group_id": gid})
        assert keep["id"] not in [x["id"] for x in mine["messages"]]
        theirs = await b1.request("chat_group_history", {"group_id": gid})
        assert keep["id"] in [x["id"] for x in theirs["messages"]]
        await fails(a1, "chat_group_delete", {"group_id": gid, "msg_ids": [123]}, "not_found")


@pytest.mark.parametrize("config_overrides", [{"messages": {"recall_window_s": 0}}])
async def test_recall_by_sender_window_and_group_admins(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await create(a1, "team", [b, c]))["group_id"]
        from_c = await send(c1, gid, "secret plan")
        # carol's window is 0 s; bob (a plain member) cannot recall others' messages.
        await fails(c1, "chat_group_recall", {"group_id": gid, "msg_id": from_c["id"]}, "recall_window_passed")
        await fails(b1, "chat_group_recall", {"group_id": gid, "msg_id": from_c["id"]}, "forbidden")
        await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": b, "role": "admin"})
        out = await b1.request("chat_group_recall", {"group_id": gid, "msg_id": from_c["id"]})
        assert out["message"]["recalled_at"] and out["message"]["content"] is None
        push = await c1.next_push("chat_message", where=lambda d: d["event"] == "recall")
        assert push["data"]["message"]["id"] == from_c["id"]
        assert (await a1.request("chat_group_search", {"query": "secret"}))["results"] == []
        await fails(c1, "chat_group_react", {"group_id": gid, "msg_id": from_c["id"], "emoji": "👍"}, "not_editable")


async def test_read_receipts_are_aggregated(harness, users):
    """Ten members read alice's message at once: alice gets a few receipts, not ten."""
    harness.server.services.group_receipts.interval_s = 2.0
    names = [f"reader{i}" for i in range(10)]
    ids = await add_users(harness, *names)
    async with harness.client("alice") as a1:
        gid = (await create(a1, "team", ids))["group_id"]
        m1 = await send(a1, gid, "please read")
        m2 = await send(a1, gid, "and this")

        # Every reader is connected first (logins hash passwords, slowly on a busy machine),
        # then all of them read at once.
        async with contextlib.AsyncExitStack() as stack:
            readers = [await stack.enter_async_context(harness.client(name)) for name in names]
            async with trio.open_nursery() as nursery:
                for c in readers:
                    nursery.start_soon(c.request, "chat_group_mark_read", {"group_id": gid})
        receipts = []
        while True:
            push = await a1.next_push("chat_group_read_receipt", timeout=15)
            receipts.append(push["data"])
            counts = {r["msg_id"]: r["read_count"] for r in push["data"]["reads"]}
            if counts.get(m2["id"]) == 10:
                break
        assert counts == {m1["id"]: 10, m2["id"]: 10}
        assert all(r["group_id"] == gid and r["conv_id"] == gid and r["member_count"] == 11 for r in receipts)
        assert len(receipts) <= 2, receipts
        # The same counts on request, for a client that opens the group later.
        asked = await a1.request("chat_group_read_counts", {"group_id": gid})
        assert {r["msg_id"]: r["read_count"] for r in asked["reads"]} == counts and asked["member_count"] == 11
        assert (await a1.request("chat_group_read_counts", {"group_id": gid, "after_seq": m1["seq"]}))["reads"][0]["msg_id"] == m2["id"]
        async with harness.client(names[0]) as r0:  # a reader's own messages: none
            assert (await r0.request("chat_group_read_counts", {"group_id": gid}))["reads"] == []


async def test_fanout_skips_removed_members_and_reaches_added_ones(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await create(a1, "team", [b]))["group_id"]
        await send(a1, gid, "warm the member cache")
        await a1.request("chat_group_invite", {"group_id": gid, "user_ids": [c]})
        m = await send(a1, gid, "welcome carol")
        push = await c1.next_push("chat_message", where=lambda d: d["event"] == "new" and d["message"]["id"] == m["id"])
        assert push["data"]["seq"] == m["seq"]
        await a1.request("chat_group_member_kick", {"group_id": gid, "user_id": b})
        gone = await send(a1, gid, "bob is gone")
        await c1.next_push("chat_message", where=lambda d: d["event"] == "new" and d["message"]["id"] == gone["id"])
        await b1.request("ping")
        assert not [p for p in b1.pending_pushes("chat_message") if p["data"]["message"]["id"] == gone["id"]]
        with pytest.raises(ClientError):
            await b1.request("chat_group_typing", {"group_id": gid})

"""Direct messages end to end: two users with two devices each, over real sockets."""

from __future__ import annotations

import pytest


from chatd.client import ClientError


def text(t: str) -> dict:
    return {"type": "text", "text": t}


async def send(c, peer: int, t: str, **extra) -> dict:
    return await c.request("chat_dm_send", {"peer": peer, "content": text(t), **extra})


async def test_send_reaches_peer_devices_and_own_other_device(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("bob") as b2:
        out = await send(a1, b, "hello bob", client_msg_id="m1")
        assert out["seq"] == 1 and out["id"] > 0 and out["server_time"] > 0 and out["duplicate"] is False
        msg = out["message"]
        assert msg["content"] == text("hello bob") and msg["sender_id"] == a and msg["conv_id"] == out["conv_id"]
        for c, peer in ((b1, a), (b2, a), (a2, b)):
            push = await c.next_push("chat_message")
            assert push["data"]["event"] == "new"
            assert push["data"]["peer"] == peer
            assert push["data"]["seq"] == 1
            assert push["data"]["message"]["id"] == out["id"]
        # The sending device got the response, not a push.
        assert not a1.pending_pushes("chat_message")
        # The first message starts the conversation: both users' other devices get its entry.
        upd = await b1.next_push("chat_dm_conversation_update")
        conv = upd["data"]["conversation"]
        assert conv["unread"] == 1 and conv["peer"]["id"] == a and conv["last_message"]["id"] == out["id"]
        upd = await a2.next_push("chat_dm_conversation_update")
        assert upd["data"]["conversation"]["unread"] == 0
        # Delivered to a live device of bob: the response says so, alice's other device gets a receipt.
        assert out["delivered"] is True
        receipt = await a2.next_push("chat_dm_delivery_receipt")
        assert receipt["data"] == {"conv_id": out["conv_id"], "peer": b, "seq": 1}

        # A later message: chat_message only, no conversation update, and no receipt for the sender.
        out2 = await send(a1, b, "again")
        assert out2["delivered"] is True
        for c in (b1, b2, a2):
            push = await c.next_push("chat_message")
            assert push["data"]["seq"] == 2
        await a2.next_push("chat_dm_delivery_receipt", where=lambda d: d["seq"] == 2)
        # A barrier: bob's reply reaches every device after anything pushed for the second message.
        await send(b1, a, "reply")
        for c in (a1, a2, b2):
            await c.next_push("chat_message", where=lambda d: d["seq"] == 3)
        for c in (a1, a2, b1, b2):
            assert not [p for p in c.pending_pushes("chat_dm_conversation_update") if p["data"]["conversation"]["last_seq"] >= 2]
        assert not a1.pending_pushes("chat_dm_delivery_receipt")


async def test_send_to_offline_peer_is_not_delivered(harness, users):
    async with harness.client("alice") as a1:
        out = await send(a1, users["bob"], "are you there?")
        assert out["delivered"] is False
        again = await send(a1, users["bob"], "are you there?", client_msg_id="x")
        assert again["delivered"] is False and again["duplicate"] is False
        dup = await send(a1, users["bob"], "are you there?", client_msg_id="x")
        assert dup["duplicate"] is True and dup["delivered"] is False
    async with harness.client("bob") as b1:
        page = await b1.request("chat_dm_history", {"peer": users["alice"]})
        assert [m["seq"] for m in page["messages"]] == [1, 2]


async def test_content_types(harness, users):
    b = users["bob"]
    contents = [
        text("plain"),
        {"type": "markdown", "text": "**bold**"},
        {"type": "html", "text": "<b>bold</b>"},
        {"type": "image", "url": "https://x/y.png", "width": 10, "height": 20},
        {"type": "file", "url": "https://x/a.pdf", "name": "a.pdf", "size": 1234},
        {"type": "video", "url": "https://x/v.mp4", "duration_ms": 5000},
        {"type": "audio", "url": "https://x/a.m4a", "duration_ms": 3000},
        {"type": "sticker", "url": "https://x/s.png", "sticker_id": "s1", "pack_id": "p1"},
        {"type": "form", "text": "Pick", "fields": [{"id": "f1", "type": "radio", "label": "City", "options": ["A", "B"]}]},
        {"type": "buttons", "text": "Choose", "buttons": [[{"text": "Yes", "action": "callback", "value": "y"}]]},
    ]
    async with harness.client("alice") as a1:
        for content in contents:
            out = await a1.request("chat_dm_send", {"peer": b, "content": content})
            assert out["message"]["content"] == content
        hist = await a1.request("chat_dm_history", {"peer": b})
        assert [m["content"] for m in hist["messages"]] == contents
        for bad, field in (
            ({"type": "image"}, "content"),
            ({"type": "nope", "text": "x"}, "content"),
            ({"type": "system", "event": "x"}, "content.type"),
            ({"type": "text", "text": ""}, "content.text"),
        ):
            with pytest.raises(ClientError) as exc:
                await a1.request("chat_dm_send", {"peer": b, "content": bad})
            assert exc.value.code == "bad_request"
            assert exc.value.field is not None and exc.value.field.startswith(field)


async def test_idempotent_resend_returns_original(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        first = await send(a1, b, "once", client_msg_id="same")
        again = await send(a1, b, "once", client_msg_id="same")
        assert again["duplicate"] is True
        assert again["id"] == first["id"] and again["seq"] == first["seq"]
        hist = await b1.request("chat_dm_history", {"peer": users["alice"]})
        assert [m["id"] for m in hist["messages"]] == [first["id"]]


async def test_quote_and_mentions(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        orig = await send(a1, b, "what time?")
        reply = await send(b1, a, "at three", quote_id=orig["id"], mentions=[a])
        assert reply["message"]["quote"] == {"id": orig["id"], "sender_id": a, "type": "text", "text": "what time?", "recalled": False}
        assert reply["message"]["mentions"] == [a]
        convs = await a1.request("chat_dm_conversations", {})
        assert convs["conversations"][0]["mentioned"] is True
        with pytest.raises(ClientError) as exc:
            await send(a1, b, "x", quote_id=999999)
        assert exc.value.code == "not_found" and exc.value.field == "quote_id"
        with pytest.raises(ClientError) as exc:
            await send(a1, b, "x", mentions=[users["carol"]])
        assert exc.value.code == "bad_request" and exc.value.field == "mentions"


async def test_history_by_seq_and_catch_up_after_reconnect(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1:
        sent = [await send(a1, b, f"m{i}") for i in range(1, 26)]
        async with harness.client("bob") as b1:
            latest = await b1.request("chat_dm_history", {"peer": a, "limit": 10})
            assert [m["seq"] for m in latest["messages"]] == list(range(16, 26))
            assert latest["has_more"] is True and latest["last_seq"] == 25
            older = await b1.request("chat_dm_history", {"peer": a, "before_seq": 16, "limit": 10})
            assert [m["seq"] for m in older["messages"]] == list(range(6, 16))
            oldest = await b1.request("chat_dm_history", {"peer": a, "before_seq": 6, "limit": 10})
            assert [m["seq"] for m in oldest["messages"]] == [1, 2, 3, 4, 5] and oldest["has_more"] is False
            seen = 25
        # bob is offline; alice sends more; bob reconnects and fetches the gap by seq.
        more = [await send(a1, b, f"late{i}") for i in range(5)]
        async with harness.client("bob") as b1:
            gap = await b1.request("chat_dm_history", {"peer": a, "after_seq": seen, "limit": 100})
            assert [m["id"] for m in gap["messages"]] == [m["id"] for m in more]
            assert [m["seq"] for m in gap["messages"]] == list(range(26, 31))
            assert gap["has_more"] is False
        assert sent[0]["seq"] == 1
        with pytest.raises(ClientError) as exc:
            await a1.request("chat_dm_history", {"peer": b, "limit": 101})
        assert exc.value.code == "bad_request" and exc.value.field == "limit"


async def test_history_by_time_paging(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1:
        ids = [(await send(a1, b, f"t{i}"))["id"] for i in range(12)]
        page1 = await a1.request("chat_dm_history", {"peer": b, "desc": True, "num": 5})
        assert [m["id"] for m in page1["messages"]] == ids[::-1][:5]
        assert page1["num"] == 5 and page1["lastid"] == ids[-5]
        page2 = await a1.request("chat_dm_history", {"peer": b, "desc": True, "num": 5, "lastid": page1["lastid"]})
        assert [m["id"] for m in page2["messages"]] == ids[::-1][5:10]
        fwd = await a1.request("chat_dm_history", {"peer": b, "desc": False, "num": 4})
        assert [m["id"] for m in fwd["messages"]] == ids[:4]
        fwd2 = await a1.request("chat_dm_history", {"peer": b, "desc": False, "num": 4, "lastid": fwd["lastid"]})
        assert [m["id"] for m in fwd2["messages"]] == ids[4:8]
        window = await a1.request("chat_dm_history", {"peer": b, "desc": False, "num": 100, "begin": fwd["begin"], "end": fwd["end"]})
        assert {m["id"] for m in window["messages"]} >= set(ids[:4])


async def test_conversations_sorted_pinned_first_then_activity(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        await send(b1, a, "from bob")
        await send(c1, a, "from carol")
        convs = (await a1.request("chat_dm_conversations", {}))["conversations"]
        assert [x["peer"]["id"] for x in convs] == [c, b]
        assert all(x["unread"] == 1 for x in convs)
        assert convs[0]["peer_online"] is True
        pinned = await a1.request("chat_dm_pin_set", {"peer": b, "pinned": True})
        assert pinned["pinned"] is True
        convs = (await a1.request("chat_dm_conversations", {}))["conversations"]
        assert [x["peer"]["id"] for x in convs] == [b, c] and convs[0]["pinned"] is True
        unread = (await a1.request("chat_dm_conversations", {"unread_only": True}))["conversations"]
        assert len(unread) == 2
        await a1.request("chat_dm_mark_read", {"peer": c})
        unread = (await a1.request("chat_dm_conversations", {"unread_only": True}))["conversations"]
        assert [x["peer"]["id"] for x in unread] == [b]


async def test_mark_read_receipts_and_own_devices(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        for i in range(3):
            await send(a1, b, f"x{i}")
        out = await b1.request("chat_dm_mark_read", {"peer": a, "seq": 2})
        assert out["last_read_seq"] == 2
        receipt = await a1.next_push("chat_dm_read_receipt")
        assert receipt["data"] == {"conv_id": out["conv_id"], "peer": b, "seq": 2}
        upd = await b2.next_push("chat_dm_conversation_update", where=lambda d: d["conversation"]["last_read_seq"] == 2)
        assert upd["data"]["conversation"]["unread"] == 1
        # The read pointer never moves back.
        back = await b1.request("chat_dm_mark_read", {"peer": a, "seq": 1})
        assert back["last_read_seq"] == 2
        full = await b1.request("chat_dm_mark_read", {"peer": a})
        assert full["last_read_seq"] == 3
        upd = await b2.next_push("chat_dm_conversation_update", where=lambda d: d["conversation"]["last_read_seq"] == 3)
        assert upd["data"]["conversation"]["unread"] == 0


async def test_typing_is_pushed_and_rate_limited(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        with pytest.raises(ClientError) as exc:
            await a1.request("chat_dm_typing", {"peer": b})
        assert exc.value.code == "not_found"  # no conversation yet
        await send(a1, b, "hi")
        assert (await a1.request("chat_dm_typing", {"peer": b}))["sent"] is True
        push = await b1.next_push("chat_typing")
        assert push["data"]["user_id"] == a and push["data"]["typing"] is True and push["data"]["kind"] == "dm"
        assert (await a1.request("chat_dm_typing", {"peer": b}))["sent"] is False


async def test_edit_keeps_history_and_is_pushed(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        out = await send(a1, b, "明天开会")
        edited = await a1.request("chat_dm_edit", {"peer": b, "msg_id": out["id"], "content": text("明天下午开会")})
        assert edited["message"]["content"] == text("明天下午开会") and edited["message"]["edited_at"]
        push = await b1.next_push("chat_message", where=lambda d: d["event"] == "edit")
        assert push["data"]["message"]["content"] == text("明天下午开会")
        await a1.request("chat_dm_edit", {"peer": b, "msg_id": out["id"], "content": text("后天开会")})
        edits = await b1.request("chat_message_edits", {"msg_id": out["id"]})
        assert edits["total"] == 2
        assert [e["content"]["text"] for e in edits["edits"]] == ["明天下午开会", "明天开会"]
        with pytest.raises(ClientError) as exc:
            await b1.request("chat_dm_edit", {"peer": a, "msg_id": out["id"], "content": text("hijack")})
        assert exc.value.code == "forbidden"
        with pytest.raises(ClientError) as exc:
            await a1.request("chat_dm_edit", {"peer": b, "msg_id": out["id"], "content": {"type": "image", "url": "https://x/u.png"}})
        assert exc.value.code == "not_editable"
        async with harness.client("carol") as c1:
            with pytest.raises(ClientError) as exc:
                await c1.request("chat_message_edits", {"msg_id": out["id"]})
            assert exc.value.code == "not_found"
        # Search sees the new text only.
        found = await b1.request("chat_dm_search", {"query": "后天"})
        assert [r["message"]["id"] for r in found["results"]] == [out["id"]]
        assert (await b1.request("chat_dm_search", {"query": "下午"}))["results"] == []


@pytest.mark.parametrize("config_overrides", [{"messages": {"recall_window_s": 0}}])
async def test_recall_window_and_admin(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        from_bob = await send(b1, a, "secret")
        # bob's window is 0 s: too late for him, but alice is an admin and may recall any time.
        with pytest.raises(ClientError) as exc:
            await b1.request("chat_dm_recall", {"peer": a, "msg_id": from_bob["id"]})
        assert exc.value.code in ("recall_window_passed",)
        out = await a1.request("chat_dm_recall", {"peer": b, "msg_id": from_bob["id"]})
        assert out["message"]["recalled_at"] and out["message"]["content"] is None
        push = await b1.next_push("chat_message", where=lambda d: d["event"] == "recall")
        assert push["data"]["message"]["content"] is None
        hist = await b1.request("chat_dm_history", {"peer": a})
        assert hist["messages"][0]["recalled_at"] and hist["messages"][0]["content"] is None
        assert (await a1.request("chat_dm_search", {"query": "secret"}))["results"] == []


async def test_recall_by_sender_within_window(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("bob") as b1, harness.client("carol") as c1:
        out = await send(b1, a, "oops")
        res = await b1.request("chat_dm_recall", {"peer": a, "msg_id": out["id"]})
        assert res["message"]["recalled_at"]
        mine = await send(b1, a, "keep")
        await send(c1, b, "carol to bob")
        with pytest.raises(ClientError) as exc:
            # carol is not in the alice/bob conversation: she cannot reach its messages.
            await c1.request("chat_dm_recall", {"peer": b, "msg_id": mine["id"]})
        assert exc.value.code == "not_found" and exc.value.field == "msg_id"
        with pytest.raises(ClientError) as exc:
            await b1.request("chat_dm_react", {"peer": a, "msg_id": out["id"], "emoji": "👍"})
        assert exc.value.code == "not_editable"


async def test_delete_for_me_only(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        m1 = await send(a1, b, "keep")
        m2 = await send(a1, b, "remove me")
        out = await a1.request("chat_dm_delete", {"peer": b, "msg_ids": [m2["id"]]})
        assert out["deleted"] == [m2["id"]]
        push = await a2.next_push("chat_message", where=lambda d: d["event"] == "delete")
        assert push["data"]["msg_ids"] == [m2["id"]]
        mine = await a1.request("chat_dm_history", {"peer": b})
        assert [m["id"] for m in mine["messages"]] == [m1["id"]]
        theirs = await b1.request("chat_dm_history", {"peer": a})
        assert [m["id"] for m in theirs["messages"]] == [m1["id"], m2["id"]]
        conv = (await a1.request("chat_dm_conversations", {}))["conversations"][0]
        assert conv["last_message"]["id"] == m1["id"]
        assert (await a1.request("chat_dm_search", {"query": "remove"}))["results"] == []
        assert len((await b1.request("chat_dm_search", {"query": "remove"}))["results"]) == 1
        with pytest.raises(ClientError) as exc:
            await a1.request("chat_dm_delete", {"peer": b, "msg_ids": [123]})
        assert exc.value.code == "not_found" and exc.value.field == "msg_ids"


async def test_react_add_remove_pushed(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        m = await send(a1, b, "nice")
        out = await b1.request("chat_dm_react", {"peer": a, "msg_id": m["id"], "emoji": "👍"})
        assert out["message"]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [b]}]
        push = await a1.next_push("chat_message", where=lambda d: d["event"] == "react")
        assert push["data"]["message"]["reactions"][0]["count"] == 1
        await a1.request("chat_dm_react", {"peer": b, "msg_id": m["id"], "emoji": "👍"})
        hist = await a1.request("chat_dm_history", {"peer": b})
        (reaction,) = hist["messages"][0]["reactions"]
        assert reaction["emoji"] == "👍" and reaction["count"] == 2 and sorted(reaction["user_ids"]) == sorted([a, b])
        out = await b1.request("chat_dm_react", {"peer": a, "msg_id": m["id"], "emoji": "👍", "remove": True})
        assert out["message"]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [a]}]


async def test_search_cjk_and_english_newest_first(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        m1 = await send(a1, b, "明天开会讨论预算")
        m2 = await send(b1, a, "Meeting notes: budget review")
        m3 = await send(a1, b, "会议室改到三楼, 下午开会")
        await send(c1, b, "carol 开会 private")  # not alice's conversation
        two = await a1.request("chat_dm_search", {"query": "开会"})
        assert [r["message"]["id"] for r in two["results"]] == [m3["id"], m1["id"]]
        assert "[开会]" in two["results"][0]["snippet"]
        assert two["results"][0]["peer"] == b
        one = await a1.request("chat_dm_search", {"query": "会"})
        assert [r["message"]["id"] for r in one["results"]] == [m3["id"], m1["id"]]
        eng = await a1.request("chat_dm_search", {"query": "budget"})
        assert [r["message"]["id"] for r in eng["results"]] == [m2["id"]]
        assert "[budget]" in eng["results"][0]["snippet"]
        prefix = await a1.request("chat_dm_search", {"query": "meet"})
        assert [r["message"]["id"] for r in prefix["results"]] == [m2["id"]]
        paged = await a1.request("chat_dm_search", {"query": "开会", "limit": 1})
        assert paged["has_more"] is True
        nxt = await a1.request("chat_dm_search", {"query": "开会", "limit": 1, "before_id": paged["results"][0]["message"]["id"]})
        assert [r["message"]["id"] for r in nxt["results"]] == [m1["id"]]
        only_bob = await a1.request("chat_dm_search", {"query": "开会", "peer": b})
        assert len(only_bob["results"]) == 2
        # Not a match: the two characters apart.
        assert (await a1.request("chat_dm_search", {"query": "开讨"}))["results"] == []


async def test_presence_first_and_last_device(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1:
        async with harness.client("bob") as b1:
            await send(b1, a, "hi")
        # bob's only device left: alice sees him offline.
        push = await a1.next_push("chat_presence_update", where=lambda d: d["online"] is False)
        assert push["data"]["user_id"] == b
        async with harness.client("bob") as b1:
            push = await a1.next_push("chat_presence_update", where=lambda d: d["online"] is True)
            assert push["data"]["user_id"] == b
            async with harness.client("bob"):
                pass
            # A second device coming and going does not change presence.
            await b1.request("ping")
            assert not a1.pending_pushes("chat_presence_update")


async def test_unknown_peer_and_self(harness, users):
    async with harness.client("alice") as a1:
        with pytest.raises(ClientError) as exc:
            await send(a1, 9999, "x")
        assert exc.value.code == "not_found" and exc.value.field == "peer"
        with pytest.raises(ClientError) as exc:
            await send(a1, users["alice"], "x")
        assert exc.value.code == "bad_request" and exc.value.field == "peer"
        empty = await a1.request("chat_dm_history", {"peer": users["bob"]})
        assert empty["messages"] == [] and empty["conv_id"] == 0


async def test_sender_disabled_while_connected_is_closed_with_4003(harness, users):
    from chatd.store import users as users_store

    async with harness.client("bob") as b1:
        await send(b1, users["alice"], "before")

        def disable(ctx):
            users_store.set_disabled(ctx.conn, "bob")

        await harness.server.writer.submit(disable)
        with pytest.raises(ClientError) as exc:
            await send(b1, users["alice"], "after")
        assert exc.value.code == "user_disabled"
        closed = await b1.wait_closed()
        assert closed.reason.code == 4003


async def test_the_conversation_says_how_far_the_peer_read(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        for n in range(3):
            await a.request("chat_dm_send", {"peer": users["bob"], "content": text(f"m{n}")})

        def entry(listing):
            return listing["conversations"][0]

        assert entry(await a.request("chat_dm_conversations", {}))["peer_last_read_seq"] == 0
        await b.request("chat_dm_mark_read", {"peer": users["alice"], "seq": 2})
        await a.next_push("chat_dm_read_receipt")
        assert entry(await a.request("chat_dm_conversations", {}))["peer_last_read_seq"] == 2
        home = (await a.request("chat_conversations", {"kinds": ["dm"]}))["conversations"][0]
        assert home["peer_last_read_seq"] == 2
        assert entry(await b.request("chat_dm_conversations", {}))["peer_last_read_seq"] == 3  # alice read what she sent

"""Per-channel state of a community member over real sockets, two devices: notification mute
and pin (community_mute_set, community_pin_set) in community_conversations, and mentions of
everyone (user id 0), which need mention_everyone in the channel."""

from __future__ import annotations

from .test_community_chat import fails, setup, text


async def test_mute_and_pin_per_channel_on_two_devices(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)
        other = (await a1.request("community_channel_create", {"community_id": cid, "name": "二号", "category_id": cat}))["channel"]["channel_id"]
        await b1.request("community_send", {"channel_id": other, "content": text("newest activity")})
        convs = (await a1.request("community_conversations", {}))["conversations"]
        assert [c["channel_id"] for c in convs] == [other, ch] and not any(c["pinned"] or c["muted"] for c in convs)
        a2.clear_pushes()
        pinned = await a1.request("community_pin_set", {"channel_id": ch, "pinned": True})
        assert pinned == {"channel_id": ch, "conv_id": ch, "pinned": True}
        upd = await a2.next_push("community.conversation_update")
        assert upd["data"]["channel_id"] == ch and upd["data"]["removed"] is False and upd["data"]["conversation"]["pinned"] is True
        assert not a1.pending_pushes("community.conversation_update")
        muted = await a1.request("community_mute_set", {"channel_id": other, "muted": True})
        assert muted == {"channel_id": other, "conv_id": other, "muted": True}
        upd = await a2.next_push("community.conversation_update", where=lambda d: d["channel_id"] == other)
        assert upd["data"]["conversation"]["muted"] is True and upd["data"]["conversation"]["pinned"] is False
        convs = (await a1.request("community_conversations", {}))["conversations"]
        assert [(c["channel_id"], c["pinned"], c["muted"]) for c in convs] == [(ch, True, False), (other, False, True)]
        # Only alice's entries changed; the mute silences nothing of the channel itself.
        assert [(c["pinned"], c["muted"]) for c in (await b1.request("community_conversations", {}))["conversations"]] == [(False, False)] * 2
        await a1.request("community_send", {"channel_id": other, "content": text("still delivered")})
        await b1.next_push("community.message", where=lambda d: d["conv_id"] == other)
        await a1.request("community_pin_set", {"channel_id": ch, "pinned": False})
        upd = await a2.next_push("community.conversation_update", where=lambda d: d["channel_id"] == ch and not d["conversation"]["pinned"])
        # A channel one cannot see, or none, is not_found; nothing changes.
        await a1.request("community_overwrite_set", {
            "community_id": cid, "place": "channel", "place_id": other, "target": "member", "target_id": b, "deny": ["view_channel"]})
        await fails(b1, "community_pin_set", {"channel_id": other, "pinned": True}, "not_found")
        await fails(b1, "community_mute_set", {"channel_id": 99999, "muted": True}, "not_found")
        await fails(b1, "community_mute_set", {"channel_id": ch}, "bad_request")
        async with harness.client("carol") as c1:
            await fails(c1, "community_pin_set", {"channel_id": ch, "pinned": True}, "not_found")


async def test_mentioning_everyone_needs_mention_everyone_in_the_channel(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2, harness.client("carol") as c1:
        cid, cat, ch = await setup(a1, b1)
        await c1.request("community_join", {"community_id": cid})
        # @everyone lacks mention_everyone: bob is refused, with what is missing and where; nothing is written.
        err = await fails(b1, "community_send", {"channel_id": ch, "content": text("@所有人"), "mentions": [0]}, "forbidden")
        assert err.missing == "mention_everyone" and err.by
        assert (await a1.request("community_history", {"channel_id": ch}))["messages"] == []
        await fails(b1, "community_send", {"channel_id": ch, "content": text("x"), "mentions": [99999]}, "bad_request")
        # A plain mention of a member needs nothing more.
        await b1.request("community_send", {"channel_id": ch, "content": text("@carol"), "mentions": [users["carol"]]})
        badges = {c["channel_id"]: c["mentioned"] for c in (await c1.request("community_conversations", {}))["conversations"]}
        assert badges == {ch: True}
        await c1.request("community_mark_read", {"channel_id": ch})
        # The owner may: everyone's mention badge rises (the sender's own does not count).
        sent = await a1.request("community_send", {"channel_id": ch, "content": text("@所有人 开会"), "mentions": [0]})
        assert sent["message"]["mentions"] == [0]
        for client in (b1, c1):
            conv = (await client.request("community_conversations", {}))["conversations"][0]
            assert conv["mentioned"] is True and conv["unread"] >= 1
        await b2.request("community_mark_read", {"channel_id": ch})
        assert (await b1.request("community_conversations", {}))["conversations"][0]["mentioned"] is False
        # An overwrite on the channel allowing it to bob lets him; carol still may not.
        await a1.request("community_overwrite_set", {
            "community_id": cid, "place": "channel", "place_id": ch, "target": "member", "target_id": b, "allow": ["mention_everyone"]})
        await b1.request("community_send", {"channel_id": ch, "content": text("@所有人"), "mentions": [0]})
        assert (await c1.request("community_conversations", {}))["conversations"][0]["mentioned"] is True
        err = await fails(c1, "community_send", {"channel_id": ch, "content": text("@所有人"), "mentions": [0]}, "forbidden")
        assert err.missing == "mention_everyone"
        # The owner's badge rises too: bob's message mentions everyone.
        assert (await a1.request("community_conversations", {}))["conversations"][0]["mentioned"] is True

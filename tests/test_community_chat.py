"""Community channels over real sockets, two users on two devices: create and join, the
engine's chat verbs under the community's permissions, and no push after VIEW is revoked."""

from __future__ import annotations

import pytest
import trio

from chatd.client import ClientError



def text(t: str) -> dict:
    return {"type": "text", "text": t}


async def fails(c, cmd: str, data: dict, code: str) -> ClientError:
    with pytest.raises(ClientError) as exc:
        await c.request(cmd, data)
    assert exc.value.code == code, exc.value
    return exc.value


async def setup(a1, b1, **extra) -> tuple[int, int, int]:
    """alice's open community with bob in it: (community_id, category_id, channel_id)."""
    made = await a1.request("community_create", {"name": "开源社区", "public": True, "join_mode": "open", **extra})
    cid = made["community"]["community_id"]
    joined = await b1.request("community_join", {"community_id": cid})
    assert joined["joined"] is True and joined["community"]["member_count"] == 2
    return cid, made["category_id"], made["channel_id"]


async def test_create_join_send_history_read_on_two_devices(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("bob") as b2:
        made = await a1.request("community_create", {"name": "开源社区", "join_mode": "open"})
        assert made["community"]["owner_id"] == a and made["community"]["member_count"] == 1
        await a2.next_push("community.member_changed", where=lambda d: d["user_id"] == a)
        cid, ch = made["community"]["community_id"], made["channel_id"]
        await b1.request("community_join", {"community_id": cid})
        for client in (a1, a2, b2):
            push = await client.next_push("community.member_changed", where=lambda d: d["user_id"] == b)
            assert push["data"] == {"community_id": cid, "user_id": b, "event": "joined"}
        sent = await b1.request("community_send", {"channel_id": ch, "content": text("大家好"), "client_msg_id": "c-1"})
        assert sent["conv_id"] == ch and sent["seq"] == 1 and sent["duplicate"] is False
        for client in (a1, a2, b2):
            push = await client.next_push("community.message")
            assert push["data"]["kind"] == "channel" and push["data"]["conv_id"] == ch and push["data"]["message"]["id"] == sent["id"]
        assert not b1.pending_pushes("community.message")
        again = await b1.request("community_send", {"channel_id": ch, "content": text("大家好"), "client_msg_id": "c-1"})
        assert again["duplicate"] is True and again["id"] == sent["id"]
        page = await a1.request("community_history", {"channel_id": ch, "after_seq": 0})
        assert page["channel_id"] == ch and [m["id"] for m in page["messages"]] == [sent["id"]]
        convs = (await a1.request("community_conversations", {}))["conversations"]
        assert [(c["channel_id"], c["community_id"], c["unread"]) for c in convs] == [(ch, cid, 1)]
        read = await a1.request("community_mark_read", {"channel_id": ch})
        assert read == {"channel_id": ch, "conv_id": ch, "last_read_seq": 1}
        upd = await a2.next_push("community.conversation_update")
        assert upd["data"]["channel_id"] == ch and upd["data"]["conversation"]["unread"] == 0
        assert (await b1.request("community_typing", {"channel_id": ch}))["sent"] is True
        typing = await a1.next_push("community.typing")
        assert typing["data"] == {"kind": "channel", "conv_id": ch, "user_id": b, "typing": True}
        assert not b2.pending_pushes("community.typing")
        # A reconnecting device catches up by seq.
        await a1.request("community_send", {"channel_id": ch, "content": text("two")})
        page = await b2.request("community_history", {"channel_id": ch, "after_seq": 1})
        assert [m["seq"] for m in page["messages"]] == [2]


async def test_non_members_and_bad_input_write_nothing(harness, users):
    async with harness.client("alice") as a1, harness.client("carol") as c1:
        made = await a1.request("community_create", {"name": "private"})
        cid, ch = made["community"]["community_id"], made["channel_id"]
        await fails(c1, "community_send", {"channel_id": ch, "content": text("x")}, "not_found")
        await fails(c1, "community_history", {"channel_id": ch}, "not_found")
        await fails(c1, "community_send", {"channel_id": 99999, "content": text("x")}, "not_found")
        await fails(c1, "community_join", {"community_id": cid}, "forbidden")  # invite only
        await fails(c1, "community_join", {"invite_code": "nope"}, "not_found")
        await fails(c1, "community_join", {}, "bad_request")
        await fails(a1, "community_create", {"name": "x", "join_mode": "sometimes"}, "bad_request")
        await fails(a1, "community_create", {"name": "x" * 10000}, "bad_request")
        await fails(a1, "community_leave", {"community_id": cid}, "owner_must_transfer")
        assert (await a1.request("community_history", {"channel_id": ch}))["messages"] == []


async def test_denials_explain_themselves(harness, users):
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)
        community = await a1.request("community_overwrite_set", {
            "community_id": cid, "place": "category", "place_id": cat, "target": "member", "target_id": users["bob"], "deny": ["send"]})
        assert community["deny"] == ["send"]
        err = await fails(b1, "community_send", {"channel_id": ch, "content": text("x")}, "forbidden")
        assert err.missing == "send" and "on category Text Channels" in err.by
        # bob may not grant himself anything back.
        err = await fails(b1, "community_overwrite_set", {
            "community_id": cid, "place": "category", "place_id": cat, "target": "member", "target_id": users["bob"], "allow": ["send"]}, "forbidden")
        assert err.missing == "manage_roles"
        await fails(a1, "community_overwrite_set", {
            "community_id": cid, "place": "category", "place_id": cat, "target": "role", "target_id": 99999, "deny": ["send"]}, "not_found")
        await fails(a1, "community_overwrite_set", {
            "community_id": cid, "place": "shelf", "place_id": cat, "target": "role", "target_id": 1, "deny": ["send"]}, "bad_request")
        await fails(a1, "community_overwrite_set", {
            "community_id": cid, "place": "category", "place_id": cat, "target": "member", "target_id": users["bob"], "deny": ["fly"]}, "bad_request")
        # Reading is still allowed: the overwrite denied send only.
        assert (await b1.request("community_history", {"channel_id": ch}))["messages"] == []


async def test_no_push_after_view_is_revoked(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("bob") as b2, \
            harness.client("carol") as c1:
        cid, cat, ch = await setup(a1, b1)
        await c1.request("community_join", {"community_id": cid})
        await a1.request("community_send", {"channel_id": ch, "content": text("before")})
        await b2.next_push("community.message")
        revoke = {"community_id": cid, "place": "channel", "place_id": ch, "target": "member", "target_id": b, "deny": ["view_channel"]}
        # Revoke and send in the same instant: whatever commits after the revoke reaches nobody of bob's.
        async with trio.open_nursery() as n:
            n.start_soon(a1.request, "community_overwrite_set", revoke)
            for i in range(5):
                n.start_soon(a2.request, "community_send", {"channel_id": ch, "content": text(f"race {i}")})
        after = await a1.request("community_send", {"channel_id": ch, "content": text("after")})
        await a2.request("community_typing", {"channel_id": ch})
        await c1.next_push("community.typing")  # a2's typing reached carol, so bob's devices had their chance
        for client in (b1, b2):
            got = [p["data"]["seq"] for p in client.pending_pushes("community.message")]
            assert after["seq"] not in got
            assert not client.pending_pushes("community.typing")
        await fails(b1, "community_history", {"channel_id": ch}, "not_found")
        await fails(b1, "community_mark_read", {"channel_id": ch}, "not_found")
        await fails(b1, "community_send", {"channel_id": ch, "content": text("x")}, "not_found")
        assert (await b1.request("community_conversations", {}))["conversations"] == []
        # Leaving takes every channel at once.
        await b1.request("community_leave", {"community_id": cid})
        await a1.next_push("community.member_changed", where=lambda d: d["event"] == "left")


async def test_search_within_a_channel(harness, users):
    """community_search: one channel at a time, CJK by one or two characters, only where its
    history may be read."""
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)
        other = (await a1.request("community_channel_create", {"community_id": cid, "name": "other", "category_id": cat}))["channel"]["channel_id"]
        found = await a1.request("community_send", {"channel_id": ch, "content": text("明天开会 at ten")})
        await a1.request("community_send", {"channel_id": ch, "content": text("午饭")})
        await a1.request("community_send", {"channel_id": other, "content": text("开会 elsewhere")})
        for query in ("开会", "会"):
            out = await b1.request("community_search", {"channel_id": ch, "query": query})
            assert [(r["message"]["id"], r["channel_id"], r["conv_id"]) for r in out["results"]] == [(found["id"], ch, ch)], query
            assert out["results"][0]["snippet"] == ("明天[开会] at ten" if query == "开会" else "明天开[会] at ten") and out["has_more"] is False
        assert (await b1.request("community_search", {"channel_id": ch, "query": "早饭"}))["results"] == []
        # Without read_history in the channel: refused as its history is; unseen: not found.
        await a1.request("community_overwrite_set", {
            "community_id": cid, "place": "channel", "place_id": ch, "target": "member", "target_id": b, "deny": ["read_history"]})
        denied = await fails(b1, "community_search", {"channel_id": ch, "query": "开会"}, "forbidden")
        assert "cannot read the history in channel #general" in str(denied)
        await a1.request("community_overwrite_set", {
            "community_id": cid, "place": "channel", "place_id": other, "target": "member", "target_id": b, "deny": ["view_channel"]})
        await fails(b1, "community_search", {"channel_id": other, "query": "开会"}, "not_found")
        await fails(b1, "community_search", {"channel_id": 10**9, "query": "开会"}, "not_found")

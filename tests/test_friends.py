"""Friends over real sockets: requests with messages and states, pushes to every device of both
users, a request to someone who asked you is an accept, refresh instead of duplicates, expiry,
the hourly limit, remarks shown only to their owner, removal of both sides, and bad input."""

from __future__ import annotations

import pytest
import trio

from chatd.store import users as users_store

from .test_community_chat import fails



async def _count(harness, table: str) -> int:
    return await harness.server.writer.submit(lambda ctx: ctx.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_request_accept_on_every_device_then_remove(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("bob") as b2:
        sent = await a1.request("chat_friend_add", {"user_id": b, "message": "我是爱丽丝"})
        req = sent["request"]
        assert sent["friends"] is False
        assert (req["from_user"]["id"], req["to_user"]["id"], req["message"], req["status"], req["decided_at"]) == (a, b, "我是爱丽丝", "pending", 0)
        assert req["expires_at"] == req["created_at"] + 604800 * 1000
        for c in (a2, b1, b2):
            push = await c.next_push("chat_friend_request_update")
            assert push["data"]["request"] == req
        assert not a1.pending_pushes("chat_friend_request_update")  # the asking connection has the response
        # Both sides see it, incoming and outgoing.
        incoming = await b1.request("chat_friend_request_list", {})
        assert incoming["total"] == 1 and incoming["requests"] == [req]
        outgoing = await a1.request("chat_friend_request_list", {"direction": "outgoing"})
        assert outgoing["requests"] == [req]
        assert (await a1.request("chat_friend_request_list", {}))["total"] == 0
        # Asking again refreshes (new message), never duplicates.
        again = await a1.request("chat_friend_add", {"user_id": b, "message": "再问一次"})
        assert again["request"]["message"] == "再问一次"
        page = await b1.request("chat_friend_request_list", {})
        assert page["total"] == 1 and page["requests"][0]["message"] == "再问一次"
        for c in (a1, a2, b1, b2):
            c.clear_pushes()
        done = await b1.request("chat_friend_accept", {"user_id": a})
        assert done["request"]["status"] == "accepted" and done["request"]["decided_at"] > 0
        assert done["friend"]["user"]["id"] == a and done["friend"]["online"] is True and done["friend"]["remark"] == ""
        for c in (a1, a2, b2):
            push = await c.next_push("chat_friend_request_update", where=lambda d: d["request"]["status"] == "accepted")
            assert push["data"]["request"]["from_user"]["id"] == a
        for c, other in ((a1, b), (a2, b), (b2, a)):
            push = await c.next_push("chat_friend_update")
            assert push["data"]["event"] == "added" and push["data"]["user_id"] == other and push["data"]["friend"]["user"]["id"] == other
            assert push["data"]["friend"]["online"] is True
        listed = await a1.request("chat_friend_list", {})
        assert listed["total"] == 1 and listed["friends"][0]["user"]["id"] == b and listed["friends"][0]["online"] is True
        assert (await b1.request("chat_friend_list", {}))["friends"][0]["user"]["id"] == a
        await fails(b1, "chat_friend_accept", {"user_id": a}, "conflict")  # decided already
        await fails(a1, "chat_friend_add", {"user_id": b}, "conflict")  # friends already
        # Removing removes both sides, and both users' devices hear it.
        for c in (a1, a2, b1, b2):
            c.clear_pushes()
        assert await a1.request("chat_friend_remove", {"user_id": b}) == {"user_id": b}
        for c, other in ((a2, b), (b1, a), (b2, a)):
            push = await c.next_push("chat_friend_update")
            assert push["data"] == {"event": "removed", "user_id": other, "friend": None}
        assert (await a1.request("chat_friend_list", {}))["total"] == 0
        assert (await b1.request("chat_friend_list", {}))["total"] == 0
        await fails(b1, "chat_friend_remove", {"user_id": a}, "not_found")


async def test_a_request_to_someone_who_asked_you_is_an_accept(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        await a1.request("chat_friend_add", {"user_id": b})
        out = await b1.request("chat_friend_add", {"user_id": a, "message": "好"})
        assert out["friends"] is True and out["request"]["status"] == "accepted" and out["request"]["from_user"]["id"] == a
        push = await a1.next_push("chat_friend_update")
        assert push["data"]["event"] == "added" and push["data"]["user_id"] == b
        # No second request was made.
        assert (await a1.request("chat_friend_request_list", {}))["total"] == 0
        assert (await a1.request("chat_friend_list", {}))["total"] == 1


async def test_reject_then_ask_again(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        await a1.request("chat_friend_add", {"user_id": b})
        a1.clear_pushes()
        out = await b1.request("chat_friend_reject", {"user_id": a})
        assert out["request"]["status"] == "rejected"
        push = await a1.next_push("chat_friend_request_update")
        assert push["data"]["request"]["status"] == "rejected"
        await fails(b1, "chat_friend_reject", {"user_id": a}, "conflict")
        await fails(b1, "chat_friend_accept", {"user_id": users["carol"]}, "not_found")
        again = await a1.request("chat_friend_add", {"user_id": b})
        assert again["request"]["status"] == "pending"


@pytest.mark.parametrize("config_overrides", [{"social": {"friend_request_ttl_s": 1}}])
async def test_requests_expire(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        req = (await a1.request("chat_friend_add", {"user_id": b}))["request"]
        assert req["expires_at"] - req["created_at"] == 1000
        await trio.sleep(1.1)
        assert (await b1.request("chat_friend_request_list", {}))["requests"][0]["status"] == "expired"
        await fails(b1, "chat_friend_accept", {"user_id": a}, "conflict")
        # An expired request is no request: asking back makes a new one, not an accept.
        out = await b1.request("chat_friend_add", {"user_id": a})
        assert out["friends"] is False and out["request"]["status"] == "pending"


@pytest.mark.parametrize("config_overrides", [{"social": {"friend_requests_per_hour": 2}}])
async def test_friend_requests_are_limited_per_hour(harness, users):
    dave = await harness.add_user("dave")
    async with harness.client("alice") as a1:
        await a1.request("chat_friend_add", {"user_id": users["bob"]})
        await a1.request("chat_friend_add", {"user_id": users["carol"]})
        err = await fails(a1, "chat_friend_add", {"user_id": dave}, "rate_limited")
        assert 0 < err.retry_after_ms <= 3_600_000
        assert await _count(harness, "friend_requests") == 2


async def test_remarks_are_their_owners(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        await a1.request("chat_friend_add", {"user_id": b})
        await b1.request("chat_friend_accept", {"user_id": a})
        for c in (a1, a2, b1):
            c.clear_pushes()
        out = await a1.request("chat_friend_remark_set", {"user_id": b, "remark": "老王"})
        assert out["friend"]["remark"] == "老王" and out["friend"]["user"]["id"] == b
        push = await a2.next_push("chat_friend_update", where=lambda d: d["event"] == "remark")
        assert push["data"]["event"] == "remark" and push["data"]["friend"]["remark"] == "老王"
        assert (await a1.request("chat_friend_list", {}))["friends"][0]["remark"] == "老王"
        assert (await b1.request("chat_friend_list", {}))["friends"][0]["remark"] == ""
        await b1.request("ping")
        assert not [p for p in b1.pending_pushes("chat_friend_update") if p["data"]["event"] == "remark"]  # bob is not told alice's name for him
        # In alice's DM list too (and only hers).
        await a1.request("chat_dm_send", {"peer": b, "content": {"type": "text", "text": "hi"}})
        assert (await a1.request("chat_dm_conversations", {}))["conversations"][0]["peer_remark"] == "老王"
        assert (await b1.request("chat_dm_conversations", {}))["conversations"][0]["peer_remark"] == ""
        found = (await a1.request("chat_dm_search", {"query": "hi"}))["results"]
        assert [(r["peer"], r["peer_remark"]) for r in found] == [(b, "老王")]
        found = (await b1.request("chat_dm_search", {"query": "hi"}))["results"]
        assert [(r["peer"], r["peer_remark"]) for r in found] == [(a, "")]
        # A remark of 10,000 characters is refused and nothing is written.
        await fails(a1, "chat_friend_remark_set", {"user_id": b, "remark": "x" * 10_000}, "bad_request")
        assert (await a1.request("chat_friend_list", {}))["friends"][0]["remark"] == "老王"
        await fails(a1, "chat_friend_remark_set", {"user_id": users["carol"], "remark": "x"}, "not_found")  # not a friend


async def test_bad_input_writes_nothing(harness, users):
    a = users["alice"]
    dave = await harness.add_user("dave")
    await harness.server.writer.submit(lambda ctx: users_store.set_disabled(ctx.conn, "dave"))
    async with harness.client("alice") as a1:
        err = await fails(a1, "chat_friend_add", {"user_id": a}, "bad_request")
        assert err.field == "user_id"
        await fails(a1, "chat_friend_add", {"user_id": 99999}, "not_found")
        await fails(a1, "chat_friend_add", {"user_id": dave}, "forbidden")
        await fails(a1, "chat_friend_add", {"user_id": users["bob"], "message": "x" * 10_000}, "bad_request")
        await fails(a1, "chat_friend_request_list", {"direction": "sideways"}, "bad_request")
        await fails(a1, "chat_friend_list", {"limit": 0}, "bad_request")
        for cmd in ("chat_friend_remove", "chat_friend_accept", "chat_friend_reject"):
            await fails(a1, cmd, {"user_id": a}, "bad_request" if cmd == "chat_friend_remove" else "not_found")
            await fails(a1, cmd, {"user_id": 99999}, "not_found")
        await fails(a1, "chat_friend_remark_set", {"user_id": 99999, "remark": "x"}, "not_found")
        await fails(a1, "chat_friend_remark_set", {"user_id": a, "remark": "x"}, "bad_request")
    for table in ("friend_requests", "friendships", "friend_request_sends"):
        assert await _count(harness, table) == 0, table


async def test_friends_hear_presence(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1:
        async with harness.client("bob") as b1:
            await a1.request("chat_friend_add", {"user_id": b})
            await b1.request("chat_friend_accept", {"user_id": a})
        # No DM between them: alice hears bob come and go as his friend.
        push = await a1.next_push("chat_presence_update", where=lambda d: d["user_id"] == b and not d["online"])
        async with harness.client("bob"):
            push = await a1.next_push("chat_presence_update", where=lambda d: d["user_id"] == b and d["online"])
            assert push["data"]["online"] is True
            listed = await a1.request("chat_friend_list", {})
            assert listed["friends"][0]["online"] is True
        await a1.next_push("chat_presence_update", where=lambda d: d["user_id"] == b and not d["online"])
        assert (await a1.request("chat_friend_list", {}))["friends"][0]["online"] is False


async def test_a_block_ends_the_pending_requests_between_the_two(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("carol") as c1:
        await b1.request("chat_friend_add", {"user_id": a})  # bob asks alice
        await a1.request("chat_friend_add", {"user_id": c})  # alice asks carol
        a2.clear_pushes()
        b1.clear_pushes()
        await a1.request("chat_block_add", {"user_id": b})
        await a1.request("chat_block_add", {"user_id": c})
        ended = [(await a2.next_push("chat_friend_request_update"))["data"]["request"] for _ in range(2)]
        assert {(r["from_user"]["id"], r["to_user"]["id"], r["status"]) for r in ended} == {(b, a, "rejected"), (a, c, "rejected")}
        assert [r["status"] for r in (await a1.request("chat_friend_request_list", {}))["requests"]] == ["rejected"]
        # Neither can still accept the request: carol cannot befriend the one who blocked her.
        await fails(a1, "chat_friend_accept", {"user_id": b}, "conflict")
        await fails(c1, "chat_friend_accept", {"user_id": a}, "conflict")
        # The blocked user is told nothing: a push alice causes him later comes, none before it.
        made = await a1.request("community_create", {"name": "shared", "join_mode": "open"})
        await b1.request("community_join", {"community_id": made["community"]["community_id"]})
        await a1.request("community_send", {"channel_id": made["channel_id"], "content": {"type": "text", "text": "hi"}})
        await b1.next_push("community.message")
        assert b1.pending_pushes("chat_friend_request_update") == []

"""Community members and settings over real sockets: members page, kick, time-out, owner
transfer, disband, update, info and discover, with their pushes to every device and their errors."""

from __future__ import annotations

import trio

from .test_community_chat import fails, setup, text


async def test_members_page_and_discover(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        cid, cat, ch = await setup(a1, b1)
        page = await b1.request("community_members", {"community_id": cid, "limit": 1})
        assert page["total"] == 2 and page["has_more"] is True and [m["user_id"] for m in page["members"]] == [a]
        page = await b1.request("community_members", {"community_id": cid, "limit": 1, "offset": 1})
        assert page["has_more"] is False and page["members"][0] == {**page["members"][0], "user_id": b, "role_ids": [], "timed_out_until": 0}
        await fails(c1, "community_members", {"community_id": cid}, "not_found")
        await fails(c1, "community_members", {"community_id": cid, "limit": 0}, "bad_request")
        await a1.request("community_create", {"name": "hidden 社区"})
        await c1.request("community_create", {"name": "Open Source Club", "public": True})
        found = await c1.request("community_discover", {"query": "社区"})
        assert [(x["community_id"], x["member_count"]) for x in found["communities"]] == [(cid, 2)] and found["total"] == 1
        found = await c1.request("community_discover", {"query": "open"})
        assert [x["name"] for x in found["communities"]] == ["Open Source Club"]
        everything = await c1.request("community_discover", {"limit": 1})
        assert everything["total"] == 2 and everything["has_more"] is True and everything["communities"][0]["community_id"] == cid
        assert (await c1.request("community_discover", {"limit": 1, "offset": 1}))["has_more"] is False


async def test_kick_takes_every_channel_at_once(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("bob") as b2, \
            harness.client("carol") as c1:
        cid, cat, ch = await setup(a1, b1)
        await c1.request("community_join", {"community_id": cid})
        # Without kick, and never the owner.
        err = await fails(b1, "community_member_kick", {"community_id": cid, "user_id": c}, "forbidden")
        assert err.missing == "kick"
        await fails(a1, "community_member_kick", {"community_id": cid, "user_id": a}, "forbidden")
        await fails(a1, "community_member_kick", {"community_id": cid, "user_id": 99999}, "not_found")
        await fails(c1, "community_member_kick", {"community_id": 99999, "user_id": b}, "not_found")
        b2.clear_pushes()
        kicked = await a1.request("community_member_kick", {"community_id": cid, "user_id": b})
        assert kicked == {"community_id": cid, "user_id": b, "kicked": True}
        for client in (a2, b1, b2, c1):
            push = await client.next_push("community.member_changed", where=lambda d: d["event"] == "kicked")
            assert push["data"] == {"community_id": cid, "user_id": b, "event": "kicked"}
        await fails(b1, "community_send", {"channel_id": ch, "content": text("x")}, "not_found")
        await fails(b1, "community_history", {"channel_id": ch}, "not_found")
        assert (await b1.request("community_conversations", {}))["conversations"] == []
        await a1.request("community_send", {"channel_id": ch, "content": text("after")})
        await c1.next_push("community.message")
        assert not b1.pending_pushes("community.message") and not b2.pending_pushes("community.message")
        assert (await a1.request("community_members", {"community_id": cid}))["total"] == 2


async def test_time_out_expires_by_itself_and_zero_lifts_it(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        cid, cat, ch = await setup(a1, b1)
        err = await fails(b1, "community_member_mute_set", {"community_id": cid, "user_id": users["alice"], "duration_ms": 1000}, "forbidden")
        assert err.missing == "mute"
        await fails(a1, "community_member_mute_set", {"community_id": cid, "user_id": b, "duration_ms": -1}, "bad_request")
        out = await a1.request("community_member_mute_set", {"community_id": cid, "user_id": b, "duration_ms": 600})
        assert out["timed_out_until"] > 0
        push = await b2.next_push("community.member_changed", where=lambda d: d["event"] == "timed_out")
        assert push["data"]["user_id"] == b
        err = await fails(b1, "community_send", {"channel_id": ch, "content": text("x")}, "forbidden")
        assert err.missing == "send"
        assert (await b1.request("community_history", {"channel_id": ch}))["messages"] == []  # read_history kept
        page = await a1.request("community_members", {"community_id": cid})
        assert page["members"][1]["timed_out_until"] == out["timed_out_until"]
        await trio.sleep(0.7)
        assert (await b1.request("community_send", {"channel_id": ch, "content": text("back")}))["seq"] == 1
        assert (await a1.request("community_members", {"community_id": cid}))["members"][1]["timed_out_until"] == 0
        await a1.request("community_member_mute_set", {"community_id": cid, "user_id": b, "duration_ms": 3600_000})
        await fails(b1, "community_send", {"channel_id": ch, "content": text("x")}, "forbidden")
        lifted = await a1.request("community_member_mute_set", {"community_id": cid, "user_id": b, "duration_ms": 0})
        assert lifted["timed_out_until"] == 0
        await b2.next_push("community.member_changed", where=lambda d: d["event"] == "time_out_lifted")
        assert (await b1.request("community_send", {"channel_id": ch, "content": text("again")}))["seq"] == 2


async def test_owner_transfer_is_atomic_and_owner_only(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2, harness.client("carol") as c1:
        cid, cat, ch = await setup(a1, b1)
        await fails(b1, "community_owner_transfer", {"community_id": cid, "user_id": b}, "forbidden")
        await fails(a1, "community_owner_transfer", {"community_id": cid, "user_id": users["carol"]}, "not_found")
        await fails(c1, "community_owner_transfer", {"community_id": cid, "user_id": b}, "not_found")
        out = await a1.request("community_owner_transfer", {"community_id": cid, "user_id": b})
        assert out == {"community_id": cid, "owner_id": b}
        push = await b2.next_push("community.member_changed", where=lambda d: d["event"] == "owner")
        assert push["data"]["user_id"] == b
        await fails(a1, "community_disband", {"community_id": cid}, "forbidden")
        # The old owner can leave now, and is no longer above the new one.
        await fails(a1, "community_member_kick", {"community_id": cid, "user_id": b}, "forbidden")
        await fails(b1, "community_leave", {"community_id": cid}, "owner_must_transfer")
        assert (await a1.request("community_leave", {"community_id": cid}))["left"] is True
        info = await b1.request("community_update", {"community_id": cid})
        assert info["community"]["owner_id"] == b and info["community"]["member_count"] == 1


async def test_update_needs_manage_community(harness, users):
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)
        err = await fails(b1, "community_update", {"community_id": cid, "name": "mine"}, "forbidden")
        assert err.missing == "manage_community"
        await fails(a1, "community_update", {"community_id": cid, "join_mode": "sometimes"}, "bad_request")
        await fails(a1, "community_update", {"community_id": cid, "name": "x" * 10000}, "bad_request")
        await fails(a1, "community_update", {"community_id": cid, "name": ""}, "bad_request")
        out = await a1.request("community_update", {"community_id": cid, "description": "开源爱好者", "public": False, "join_mode": "invite"})
        c = out["community"]
        assert (c["name"], c["description"], c["public"], c["join_mode"]) == ("开源社区", "开源爱好者", False, "invite")
        assert (await b1.request("community_discover", {}))["total"] == 0
        # community_info: the community as it is now, for a member; a non-member learns nothing
        info = (await b1.request("community_info", {"community_id": cid}))["community"]
        assert info == c
        async with harness.client("carol") as c1:
            await fails(c1, "community_info", {"community_id": cid}, "not_found")
            await fails(c1, "community_info", {"community_id": 10**9}, "not_found")


async def test_disband_removes_everything_and_tells_every_member(harness, users):
    a = users["alice"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("bob") as b2:
        cid, cat, ch = await setup(a1, b1)
        await b1.request("community_send", {"channel_id": ch, "content": text("hi")})
        await fails(b1, "community_disband", {"community_id": cid}, "forbidden")
        assert (await a1.request("community_disband", {"community_id": cid})) == {"community_id": cid, "disbanded": True}
        for client in (a2, b1, b2):
            push = await client.next_push("community.member_changed", where=lambda d: d["event"] == "disbanded")
            assert push["data"] == {"community_id": cid, "user_id": a, "event": "disbanded"}
        for client in (a1, b1):
            await fails(client, "community_history", {"channel_id": ch}, "not_found")
            await fails(client, "community_members", {"community_id": cid}, "not_found")
            assert (await client.request("community_conversations", {}))["conversations"] == []
        await fails(a1, "community_disband", {"community_id": cid}, "not_found")
        assert (await b1.request("community_discover", {}))["total"] == 0

"""Requests to join a community whose join_mode is request, over real sockets: recorded by
community_join, listed and decided by members with invite or manage_community, the
requester's devices told the decision, and the errors."""

from __future__ import annotations

from .test_community_chat import fails, text


async def _community(a1, b1) -> tuple[int, int]:
    """alice's community joined by request, with bob a member: (community_id, channel_id)."""
    made = await a1.request("community_create", {"name": "申请制", "public": True, "join_mode": "request"})
    cid = made["community"]["community_id"]
    code = (await a1.request("community_invite_create", {"community_id": cid}))["invite"]["code"]
    assert (await b1.request("community_join", {"invite_code": code}))["joined"] is True
    return cid, made["channel_id"]


async def test_request_list_and_approve_on_two_devices(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, \
            harness.client("carol") as c1, harness.client("carol") as c2:
        cid, ch = await _community(a1, b1)
        asked = await c1.request("community_join", {"community_id": cid, "message": "让我进去"})
        assert asked["joined"] is False and asked["community"]["member_count"] == 2
        await fails(c1, "community_send", {"channel_id": ch, "content": text("x")}, "not_found")
        await fails(c1, "community_request_list", {"community_id": cid}, "not_found")
        page = await a1.request("community_request_list", {"community_id": cid})
        assert page["total"] == 1 and page["has_more"] is False
        req = page["requests"][0]
        assert (req["user_id"], req["name"], req["message"], req["status"], req["decided_by"]) == (c, "carol", "让我进去", "pending", 0)
        # Asking again keeps one request, with the new message.
        await c1.request("community_join", {"community_id": cid, "message": "again"})
        page = await b1.request("community_request_list", {"community_id": cid, "limit": 1})  # @everyone may invite
        assert page["total"] == 1 and page["requests"][0]["message"] == "again"
        await fails(a1, "community_request_list", {"community_id": cid, "limit": 0}, "bad_request")
        a2.clear_pushes()
        done = await a1.request("community_request_decide", {"community_id": cid, "user_id": c, "approve": True})
        assert done["request"]["status"] == "approved" and done["request"]["decided_by"] == a and done["request"]["decided_at"] > 0
        for client in (c1, c2):
            push = await client.next_push("community.request_decided")
            assert push["data"] == {"community_id": cid, "user_id": c, "status": "approved"}
        for client in (a2, b1, c1, c2):
            push = await client.next_push("community.member_changed", where=lambda d: d["user_id"] == c)
            assert push["data"] == {"community_id": cid, "user_id": c, "event": "joined"}
        members = await c1.request("community_members", {"community_id": cid})
        assert members["total"] == 3 and [m["role_ids"] for m in members["members"] if m["user_id"] == c] == [[]]
        await c1.request("community_send", {"channel_id": ch, "content": text("我来了")})
        await b1.next_push("community.message")
        assert (await a1.request("community_request_list", {"community_id": cid}))["total"] == 0
        err = await fails(a1, "community_request_decide", {"community_id": cid, "user_id": c, "approve": False}, "conflict")
        assert err.field == "user_id"


async def test_refuse_errors_and_forbidden(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1, harness.client("carol") as c2:
        cid, ch = await _community(a1, b1)
        await c1.request("community_join", {"community_id": cid})
        await fails(a1, "community_request_decide", {"community_id": cid, "user_id": b, "approve": True}, "not_found")  # no request
        await fails(a1, "community_request_decide", {"community_id": 99999, "user_id": c, "approve": True}, "not_found")
        await fails(c1, "community_request_decide", {"community_id": cid, "user_id": c, "approve": True}, "not_found")  # not a member
        # Without invite (taken from @everyone) and without manage_community: forbidden, named.
        everyone = (await a1.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]
        await a1.request("community_role_update", {"community_id": cid, "role_id": everyone, "allow": ["view_channel", "send", "read_history"]})
        err = await fails(b1, "community_request_list", {"community_id": cid}, "forbidden")
        assert err.missing == "invite" and err.by
        err = await fails(b1, "community_request_decide", {"community_id": cid, "user_id": c, "approve": True}, "forbidden")
        assert err.missing == "invite"
        # manage_community is enough.
        role = (await a1.request("community_role_create", {"community_id": cid, "name": "Mods", "allow": ["manage_community"]}))["role"]["role_id"]
        await a1.request("community_role_set", {"community_id": cid, "user_id": b, "add": [role]})
        assert (await b1.request("community_request_list", {"community_id": cid}))["total"] == 1
        c2.clear_pushes()
        done = await b1.request("community_request_decide", {"community_id": cid, "user_id": c, "approve": False})
        assert done["request"]["status"] == "refused" and done["request"]["decided_by"] == b
        for client in (c1, c2):
            push = await client.next_push("community.request_decided")
            assert push["data"] == {"community_id": cid, "user_id": c, "status": "refused"}
        assert (await a1.request("community_members", {"community_id": cid}))["total"] == 2
        await fails(c1, "community_history", {"channel_id": ch}, "not_found")
        await fails(a1, "community_request_decide", {"community_id": cid, "user_id": c, "approve": True}, "conflict")
        # Asking again makes it pending anew.
        await c1.request("community_join", {"community_id": cid})
        page = await a1.request("community_request_list", {"community_id": cid})
        assert [(r["user_id"], r["status"]) for r in page["requests"]] == [(c, "pending")]

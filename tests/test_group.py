"""Group management end to end over real sockets: create, list, members, update, invite codes,
joining, invitations with approval, kicks, member mutes with expiry, roles, leaving."""

from __future__ import annotations

import pytest
import trio

from chatd.client import ClientError



def text(t: str) -> dict:
    return {"type": "text", "text": t}


async def create(c, name: str = "team", members=(), **extra) -> dict:
    return (await c.request("chat_group_create", {"name": name, "members": list(members), **extra}))["group"]


async def send(c, gid: int, t: str, **extra) -> dict:
    return await c.request("chat_group_send", {"group_id": gid, "content": text(t), **extra})


async def fails(c, cmd: str, data: dict, code: str) -> ClientError:
    with pytest.raises(ClientError) as exc:
        await c.request(cmd, data)
    assert exc.value.code == code, exc.value
    return exc.value


def system(event: str):
    return lambda d: d["message"]["content"]["type"] == "system" and d["message"]["content"]["event"] == event


async def add_users(harness, *names: str) -> list[int]:
    return [await harness.add_user(n) for n in names]


async def test_create_pushes_system_message_and_entries(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        g = await create(a1, "项目组", [b, c], description="plans")
        assert g["name"] == "项目组" and g["role"] == "owner" and g["owner_id"] == a and g["member_count"] == 3
        assert g["description"] == "plans" and g["join_by_id"] is False and g["approval"] is False and g["invite_code"] is None
        gid = g["group_id"]
        for client in (a1, a2, b1):
            push = await client.next_push("chat_message", where=system("group_created"))
            data = push["data"]
            assert data["kind"] == "group" and data["conv_id"] == gid and data["seq"] == 1
            assert data["message"]["content"]["data"]["member_ids"] == [a, b, c]
        upd = await b1.next_push("chat_group_conversation_update")
        conv = upd["data"]["conversation"]
        assert upd["data"]["group_id"] == gid and upd["data"]["removed"] is False
        assert conv["group_id"] == gid and conv["role"] == "member" and conv["unread"] == 1 and conv["member_count"] == 3
        upd = await a2.next_push("chat_group_conversation_update")
        assert upd["data"]["conversation"]["role"] == "owner" and upd["data"]["conversation"]["unread"] == 0
        await fails(a1, "chat_group_create", {"name": "x", "members": [9999]}, "not_found")
        await fails(a1, "chat_group_create", {"name": ""}, "bad_request")


@pytest.mark.parametrize("config_overrides", [{"groups": {"max_members": 3}}])
async def test_max_members(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    (d,) = await add_users(harness, "dave")
    async with harness.client("alice") as a1:
        err = await fails(a1, "chat_group_create", {"name": "big", "members": [b, c, d]}, "bad_request")
        assert err.field == "members"
        g = await create(a1, "ok", [b, c])
        await fails(a1, "chat_group_invite", {"group_id": g["group_id"], "user_ids": [d]}, "conflict")


async def test_list_and_members_paged(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    d, e = await add_users(harness, "dave", "erin")
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        g1 = await create(a1, "first", [b, c, d, e])
        g2 = await create(a1, "second", [c])
        await a1.request("chat_group_member_role_set", {"group_id": g1["group_id"], "user_id": d, "role": "admin"})
        mine = await a1.request("chat_group_list", {})
        # Newest activity first: the role change wrote to the first group last.
        assert [g["name"] for g in mine["groups"]] == ["first", "second"] and mine["total"] == 2
        assert [g["group_id"] for g in (await a1.request("chat_group_list", {"limit": 1, "offset": 1}))["groups"]] == [g2["group_id"]]
        theirs = await b1.request("chat_group_list", {})
        assert [g["name"] for g in theirs["groups"]] == ["first"] and theirs["groups"][0]["role"] == "member"
        page1 = await b1.request("chat_group_members", {"group_id": g1["group_id"], "limit": 2})
        assert page1["total"] == 5 and page1["has_more"] is True
        assert [(m["user"]["id"], m["role"]) for m in page1["members"]] == [(a, "owner"), (d, "admin")]
        page2 = await b1.request("chat_group_members", {"group_id": g1["group_id"], "limit": 2, "offset": 2})
        page3 = await b1.request("chat_group_members", {"group_id": g1["group_id"], "limit": 2, "offset": 4})
        assert [m["user"]["id"] for m in page2["members"] + page3["members"]] == [b, c, e]
        assert page3["has_more"] is False
        assert all(m["muted"] is False and m["muted_until"] == 0 for m in page1["members"] + page2["members"])


async def test_update_invite_code_and_join_by_id(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        g = await create(a1, "team", [b])
        gid = g["group_id"]
        out = await a1.request("chat_group_update", {"group_id": gid, "name": "new team", "description": "d", "invite_code": True})
        code = out["group"]["invite_code"]
        assert out["group"]["name"] == "new team" and code
        push = await b1.next_push("chat_message", where=system("group_updated"))
        assert push["data"]["message"]["content"]["data"]["changes"]["name"] == "new team"
        # Joining by id is off: carol needs the code.
        await fails(c1, "chat_group_join", {"group_id": gid}, "forbidden")
        await fails(c1, "chat_group_join", {"invite_code": "nope"}, "not_found")
        joined = await c1.request("chat_group_join", {"invite_code": code})
        assert joined == {"group_id": gid, "joined": True, "request": None}
        push = await b1.next_push("chat_message", where=system("member_joined"))
        assert push["data"]["message"]["content"]["data"] == {"user_ids": [c], "by": c, "via": "code"}
        (conv,) = (await c1.request("chat_group_conversations", {}))["conversations"]
        assert conv["unread"] == 0 and conv["name"] == "new team" and conv["group_id"] == gid
        again = await c1.request("group_join", {"invite_code": code})
        assert again["joined"] is True
        # A new code replaces the old one; codes off.
        out = await a1.request("chat_group_update", {"group_id": gid, "invite_code": True})
        assert out["group"]["invite_code"] != code
        await a1.request("chat_group_update", {"group_id": gid, "invite_code": False, "join_by_id": True})
        assert (await a1.request("chat_group_list", {}))["groups"][0]["invite_code"] is None
        (d,) = await add_users(harness, "dave")
        async with harness.client("dave") as d1:
            await fails(d1, "group_join", {"invite_code": code}, "not_found")
            assert (await d1.request("group_join", {"group_id": gid}))["joined"] is True
            assert (await d1.request("chat_group_members", {"group_id": gid}))["total"] == 4
        assert d


async def test_invitations_and_join_requests_with_approval(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    d, e = await add_users(harness, "dave", "erin")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("dave") as d1, harness.client("erin") as e1:
        g = await create(a1, "team", [b], join_by_id=True)
        gid = g["group_id"]
        assert (await a1.request("chat_group_invite_approval_set", {"group_id": gid, "approval": True})) == {"group_id": gid, "approval": True}
        await b1.next_push("chat_message", where=system("approval_set"))
        # A plain member's invitation waits for the owner.
        out = await b1.request("chat_group_invite", {"group_id": gid, "user_ids": [d], "message": "dave knows the plan"})
        assert out["added"] == [] and len(out["pending"]) == 1
        req = out["pending"][0]
        assert req["kind"] == "invite" and req["status"] == "pending" and req["user"]["id"] == d and req["inviter_id"] == b
        push = await a1.next_push("chat_group_request_update")
        assert push["data"]["request"]["request_id"] == req["request_id"]
        listed = await a1.request("chat_group_requests", {"group_id": gid})
        assert [r["request_id"] for r in listed["requests"]] == [req["request_id"]] and listed["total"] == 1
        await fails(d1, "chat_group_history", {"group_id": gid}, "not_member")
        decided = await a1.request("chat_group_request_decide", {"request_id": req["request_id"], "approve": True})
        assert decided["request"]["status"] == "approved" and decided["request"]["decided_by"] == a
        for client in (b1, d1):
            push = await client.next_push("chat_group_request_update")
            assert push["data"]["request"]["status"] == "approved"
        upd = await d1.next_push("chat_group_conversation_update")
        assert upd["data"]["conversation"]["group_id"] == gid
        assert (await d1.request("chat_group_history", {"group_id": gid}))["last_seq"] >= 3
        await fails(a1, "chat_group_request_decide", {"request_id": req["request_id"], "approve": False}, "conflict")
        # An owner's invitation goes in at once, approval or not.
        out = await a1.request("chat_group_invite", {"group_id": gid, "user_ids": [c, d]})
        assert out["added"] == [c] and out["already"] == [d]
        # A join request, rejected.
        asked = await e1.request("chat_group_join", {"group_id": gid, "message": "hi"})
        assert asked["joined"] is False and asked["request"]["kind"] == "join" and asked["request"]["status"] == "pending"
        again = await e1.request("chat_group_join", {"group_id": gid})
        assert again["request"]["request_id"] == asked["request"]["request_id"]
        push = await a1.next_push("chat_group_request_update", where=lambda x: x["request"]["kind"] == "join")
        assert push["data"]["request"]["message"] == "hi"
        own = await e1.request("chat_group_requests", {})
        assert [r["request_id"] for r in own["requests"]] == [asked["request"]["request_id"]]
        await a1.request("chat_group_request_decide", {"request_id": asked["request"]["request_id"], "approve": False})
        push = await e1.next_push("chat_group_request_update")
        assert push["data"]["request"]["status"] == "rejected"
        await fails(e1, "chat_group_history", {"group_id": gid}, "not_member")
        assert (await a1.request("chat_group_requests", {"group_id": gid, "status": "all"}))["total"] == 2
        await fails(a1, "chat_group_requests", {"group_id": gid, "status": "maybe"}, "bad_request")
        await fails(a1, "chat_group_request_decide", {"request_id": 9999, "approve": True}, "not_found")


async def test_kick_removes_reading_and_pushes(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    (d,) = await add_users(harness, "dave")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1, harness.client("carol") as c2:
        g = await create(a1, "team", [b, c, d])
        gid = g["group_id"]
        await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": b, "role": "admin"})
        before = await send(a1, gid, "before the kick")
        await c1.next_push("chat_message", where=lambda x: x["message"]["id"] == before["id"])
        # An admin kicks a plain member.
        out = await b1.request("chat_group_member_kick", {"group_id": gid, "user_id": c})
        assert out == {"group_id": gid, "user_id": c}
        push = await c1.next_push("chat_message", where=system("member_kicked"))
        assert push["data"]["message"]["content"]["data"] == {"user_id": c, "by": b}
        upd = await c2.next_push("chat_group_conversation_update", where=lambda x: x["removed"])
        assert upd["data"] == {"group_id": gid, "removed": True, "conversation": None}
        after = await send(a1, gid, "after the kick")
        await b1.next_push("chat_message", where=lambda x: x["message"]["id"] == after["id"])
        await a1.request("ping")
        assert not [p for p in c1.pending_pushes("chat_message") if p["data"]["message"]["id"] == after["id"]]
        await fails(c1, "chat_group_history", {"group_id": gid}, "not_member")
        await fails(c1, "chat_message_edits", {"msg_id": before["id"]}, "not_found")
        assert (await c1.request("chat_group_search", {"query": "kick"}))["results"] == []
        assert (await c1.request("chat_group_list", {}))["total"] == 0
        # An admin cannot kick an admin or the owner; the owner can kick an admin.
        await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": d, "role": "admin"})
        await fails(b1, "chat_group_member_kick", {"group_id": gid, "user_id": d}, "forbidden")
        await fails(b1, "chat_group_member_kick", {"group_id": gid, "user_id": a}, "forbidden")
        await fails(b1, "chat_group_member_kick", {"group_id": gid, "user_id": c}, "not_found")
        await fails(a1, "chat_group_member_kick", {"group_id": gid, "user_id": a}, "bad_request")
        await a1.request("chat_group_member_kick", {"group_id": gid, "user_id": d})
        members = await a1.request("chat_group_members", {"group_id": gid})
        assert [m["user"]["id"] for m in members["members"]] == [a, b] and members["total"] == 2


async def test_member_mute_with_expiry(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        g = await create(a1, "team", [b, c])
        gid = g["group_id"]
        out = await a1.request("chat_group_member_mute_set", {"group_id": gid, "user_id": b, "duration_ms": 600_000})
        assert out["muted"] is True and out["muted_until"] > 0
        push = await c1.next_push("chat_message", where=system("member_muted"))
        assert push["data"]["message"]["content"]["data"]["user_id"] == b
        err = await fails(b1, "chat_group_send", {"group_id": gid, "content": text("hi")}, "muted")
        assert 590_000 < err.retry_after_ms <= 600_000
        await fails(b1, "chat_group_typing", {"group_id": gid}, "muted")
        members = (await c1.request("chat_group_members", {"group_id": gid}))["members"]
        assert [m["muted"] for m in members if m["user"]["id"] == b] == [True]
        # A muted member still reads, reacts and marks read.
        await b1.request("chat_group_history", {"group_id": gid})
        # An expiry in the past unmutes.
        out = await a1.request("chat_group_member_mute_set", {"group_id": gid, "user_id": b, "until": 1})
        assert out == {"group_id": gid, "user_id": b, "muted": False, "muted_until": 0}
        await c1.next_push("chat_message", where=system("member_unmuted"))
        await send(b1, gid, "free again")
        # A short mute ends by itself.
        await a1.request("chat_group_member_mute_set", {"group_id": gid, "user_id": b, "duration_ms": 300})
        with trio.fail_after(10):
            while True:
                try:
                    await send(b1, gid, "after the mute")
                    break
                except ClientError as exc:
                    assert exc.code == "muted" and 0 < exc.retry_after_ms <= 300
                    await trio.sleep(exc.retry_after_ms / 1000)
        # Who may mute whom.
        await fails(b1, "chat_group_member_mute_set", {"group_id": gid, "user_id": c, "duration_ms": 1000}, "forbidden")
        await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": b, "role": "admin"})
        await b1.request("chat_group_member_mute_set", {"group_id": gid, "user_id": c, "duration_ms": 1000})
        await fails(b1, "chat_group_member_mute_set", {"group_id": gid, "user_id": a, "duration_ms": 1000}, "forbidden")
        await fails(a1, "chat_group_member_mute_set", {"group_id": gid, "user_id": c}, "bad_request")


async def test_roles_and_owner_transfer(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        g = await create(a1, "team", [b, c])
        gid = g["group_id"]
        await fails(b1, "chat_group_update", {"group_id": gid, "name": "mine"}, "forbidden")
        out = await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": b, "role": "admin"})
        assert out == {"group_id": gid, "user_id": b, "role": "admin"}
        upd = await b1.next_push("chat_group_conversation_update", where=lambda x: x["conversation"]["role"] == "admin")
        assert upd["data"]["group_id"] == gid
        await c1.next_push("chat_message", where=system("role_changed"))
        await b1.request("chat_group_update", {"group_id": gid, "name": "renamed by bob"})
        await fails(b1, "chat_group_member_role_set", {"group_id": gid, "user_id": c, "role": "admin"}, "forbidden")
        await fails(a1, "chat_group_member_role_set", {"group_id": gid, "user_id": c, "role": "boss"}, "bad_request")
        await fails(a1, "chat_group_member_role_set", {"group_id": gid, "user_id": a, "role": "member"}, "bad_request")
        # The last owner cannot leave without handing the group over.
        await fails(a1, "chat_group_leave", {"group_id": gid}, "owner_must_transfer")
        await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": c, "role": "owner"})
        push = await b1.next_push("chat_message", where=system("owner_transferred"))
        assert push["data"]["message"]["content"]["data"] == {"from": a, "to": c, "by": a}
        members = (await b1.request("chat_group_members", {"group_id": gid}))["members"]
        assert {m["user"]["id"]: m["role"] for m in members} == {a: "admin", b: "admin", c: "owner"}
        group = (await c1.request("chat_group_list", {}))["groups"][0]
        assert group["owner_id"] == c and group["role"] == "owner" and group["name"] == "renamed by bob"
        await fails(a1, "chat_group_member_role_set", {"group_id": gid, "user_id": b, "role": "member"}, "forbidden")
        assert (await a1.request("chat_group_leave", {"group_id": gid})) == {"group_id": gid}


async def test_leave_then_cannot_read_and_empty_group_is_gone(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        g = await create(a1, "team", [b, c])
        gid = g["group_id"]
        old = await send(a1, gid, "会议纪要 before leaving")
        await b1.request("chat_group_leave", {"group_id": gid})
        upd = await b2.next_push("chat_group_conversation_update", where=lambda x: x["removed"])
        assert upd["data"]["conversation"] is None
        push = await a1.next_push("chat_message", where=system("member_left"))
        assert push["data"]["message"]["sender_id"] == b
        new = await send(a1, gid, "会议纪要 after leaving")
        await fails(b1, "chat_group_history", {"group_id": gid}, "not_member")
        await fails(b1, "chat_group_send", {"group_id": gid, "content": text("x")}, "not_member")
        await fails(b1, "chat_group_leave", {"group_id": gid}, "not_member")
        await fails(b1, "chat_group_react", {"group_id": gid, "msg_id": old["id"], "emoji": "👍"}, "not_member")
        assert (await b1.request("chat_group_search", {"query": "纪要"}))["results"] == []
        assert (await b1.request("chat_group_conversations", {}))["conversations"] == []
        await b2.request("ping")
        assert not [p for p in b2.pending_pushes("chat_message") if p["data"].get("message", {}).get("id") == new["id"]]
        # group_exit is chat_group_leave; an owner alone may leave, and the group is gone.
        await a1.request("chat_group_member_kick", {"group_id": gid, "user_id": c})
        assert (await a1.request("group_exit", {"group_id": gid})) == {"group_id": gid}
        await fails(a1, "chat_group_history", {"group_id": gid}, "not_found")
        await fails(b1, "chat_group_join", {"group_id": gid}, "not_found")


async def test_member_changes_are_system_messages_in_order(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1:
        g = await create(a1, "team", [b])
        gid = g["group_id"]
        await a1.request("chat_group_invite", {"group_id": gid, "user_ids": [c]})
        await a1.request("chat_group_member_role_set", {"group_id": gid, "user_id": c, "role": "admin"})
        await send(a1, gid, "hello")
        await a1.request("chat_group_member_mute_set", {"group_id": gid, "user_id": b, "duration_ms": 1000})
        await a1.request("chat_group_member_kick", {"group_id": gid, "user_id": b})
        await a1.request("chat_group_update", {"group_id": gid, "description": "about"})
        hist = await a1.request("chat_group_history", {"group_id": gid})
        got = [(m["seq"], m["content"]["type"], m["content"].get("event")) for m in hist["messages"]]
        assert got == [
            (1, "system", "group_created"),
            (2, "system", "member_joined"),
            (3, "system", "role_changed"),
            (4, "text", None),
            (5, "system", "member_muted"),
            (6, "system", "member_kicked"),
            (7, "system", "group_updated"),
        ]
        assert hist["messages"][1]["content"]["text"] == "alice added carol"
        # System messages cannot be edited and are not searchable.
        await fails(a1, "chat_group_edit", {"group_id": gid, "msg_id": hist["messages"][0]["id"], "content": text("x")}, "not_editable")
        assert (await a1.request("chat_group_search", {"query": "added"}))["results"] == []

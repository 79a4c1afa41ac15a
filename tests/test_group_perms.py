"""The permission walk: every group command, by a non-member and, where an owner or admin is
needed, by a plain member. Membership is checked in one place (store.group.access, with the group policy);
this walks the wire to show that every command goes through it."""

from __future__ import annotations

import pytest

from chatd.client import ClientError
from chatd.protocol.registry import REGISTRY

from .test_group import add_users, create, send, text

GROUP_SECTIONS = ("group_chat", "group_admin", "group_ops")
GROUP_COMMANDS = sorted(c.wire for c in REGISTRY.commands.values() if c.group in GROUP_SECTIONS and c.kind == "request")

# Commands that name no group: they list or create the user's own, so there is nothing to refuse.
NOT_GROUP_SCOPED = {"chat_group_create", "chat_group_list", "chat_group_conversations"}


def requests_for(gid: int, msg_id: int, req_id: int, target: int) -> dict[str, dict]:
    """A valid request of every group-scoped command (valid for a member who may do it)."""
    return {
        "chat_group_send": {"group_id": gid, "content": text("hi")},
        "chat_group_join": {"group_id": gid},
        "group_join": {"group_id": gid},
        "chat_group_history": {"group_id": gid},
        "chat_group_search": {"query": "hello", "group_id": gid},
        "chat_group_mark_read": {"group_id": gid},
        "chat_group_mute_set": {"group_id": gid, "muted": True},
        "chat_group_pin_set": {"group_id": gid, "pinned": True},
        "chat_group_typing": {"group_id": gid},
        "chat_group_control": {"group_id": gid, "name": "x"},
        "chat_group_edit": {"group_id": gid, "msg_id": msg_id, "content": text("edited")},
        "chat_group_recall": {"group_id": gid, "msg_id": msg_id},
        "chat_group_recall_batch": {"group_id": gid, "msg_ids": [msg_id]},
        "chat_group_delete": {"group_id": gid, "msg_ids": [msg_id]},
        "chat_group_react": {"group_id": gid, "msg_id": msg_id, "emoji": "👍"},
        "chat_group_update": {"group_id": gid, "name": "taken over"},
        "chat_group_invite": {"group_id": gid, "user_ids": [target]},
        "chat_group_invite_approval_set": {"group_id": gid, "approval": False},
        "chat_group_members": {"group_id": gid},
        "chat_group_info": {"group_id": gid},
        "chat_group_read_counts": {"group_id": gid},
        "chat_group_member_kick": {"group_id": gid, "user_id": target},
        "chat_group_member_mute_set": {"group_id": gid, "user_id": target, "duration_ms": 1000},
        "chat_group_member_role_set": {"group_id": gid, "user_id": target, "role": "admin"},
        "chat_group_leave": {"group_id": gid},
        "group_exit": {"group_id": gid},
        "chat_group_requests": {"group_id": gid},
        "chat_group_request_decide": {"request_id": req_id, "approve": True},
    }


# What a plain member may not do: owner or admin needed.
ADMIN_ONLY = {
    "chat_group_update",
    "chat_group_invite_approval_set",
    "chat_group_member_kick",
    "chat_group_member_mute_set",
    "chat_group_member_role_set",
    "chat_group_requests",
    "chat_group_request_decide",
}


def test_the_walk_covers_every_group_command():
    cases = set(requests_for(1, 1, 1, 1))
    assert set(GROUP_COMMANDS) == cases | NOT_GROUP_SCOPED, sorted(set(GROUP_COMMANDS) ^ (cases | NOT_GROUP_SCOPED))
    assert ADMIN_ONLY <= cases


@pytest.fixture
async def setup(harness, users):
    """alice owns a group with bob (a plain member) and erin; approval is on and bob's
    invitation of dave waits; carol is not a member."""
    a, b = users["alice"], users["bob"]
    d, e = await add_users(harness, "dave", "erin")
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        gid = (await create(a1, "private", [b, e], approval=True))["group_id"]
        msg = await send(a1, gid, "hello from the owner")
        pending = (await b1.request("chat_group_invite", {"group_id": gid, "user_ids": [d]}))["pending"]
        return {"gid": gid, "msg": msg["id"], "req": pending[0]["request_id"], "erin": e, "dave": d, "alice": a}


async def test_non_member_is_refused_everywhere(harness, users, setup):
    gid = setup["gid"]
    calls = requests_for(gid, setup["msg"], setup["req"], setup["erin"])
    problems = []
    async with harness.client("carol") as c1:
        for cmd in GROUP_COMMANDS:
            if cmd in NOT_GROUP_SCOPED:
                continue
            frame = await c1.call(cmd, calls[cmd])
            code = None if frame["ok"] else frame["error"]["code"]
            # Joining is a non-member's way in: this group is joined by invitation only.
            want = "forbidden" if cmd in ("chat_group_join", "group_join") else "not_member"
            if code != want:
                problems.append(f"{cmd}: {code or 'ok'} (wanted {want})")
        # Nothing of the group shows in the user's own lists.
        assert (await c1.request("chat_group_list", {}))["groups"] == []
        assert (await c1.request("chat_group_conversations", {}))["conversations"] == []
        assert (await c1.request("chat_group_search", {"query": "hello"}))["results"] == []
    assert not problems, "\n".join(problems)
    async with harness.client("alice") as a1:
        hist = await a1.request("chat_group_history", {"group_id": gid})
        assert [m["content"]["type"] for m in hist["messages"]] == ["system", "text"], "a refused command wrote something"


async def test_plain_member_is_refused_where_an_admin_is_needed(harness, users, setup):
    gid = setup["gid"]
    calls = requests_for(gid, setup["msg"], setup["req"], setup["erin"])
    problems = []
    async with harness.client("bob") as b1:
        for cmd in sorted(ADMIN_ONLY):
            frame = await b1.call(cmd, calls[cmd])
            code = None if frame["ok"] else frame["error"]["code"]
            if code != "forbidden":
                problems.append(f"{cmd}: {code or 'ok'} (wanted forbidden)")
        # Other members' messages: no edit, no recall, no @all.
        for cmd in ("chat_group_edit", "chat_group_recall", "chat_group_recall_batch"):
            frame = await b1.call(cmd, calls[cmd])
            if frame["ok"] or frame["error"]["code"] != "forbidden":
                problems.append(f"{cmd} of the owner's message: {frame.get('error') or 'ok'}")
        frame = await b1.call("chat_group_send", {"group_id": gid, "content": text("@all"), "mentions": [0]})
        if frame["ok"] or frame["error"]["code"] != "forbidden":
            problems.append(f"@all by a plain member: {frame.get('error') or 'ok'}")
        # What a plain member may do.
        for cmd in ("chat_group_send", "chat_group_history", "chat_group_search", "chat_group_members", "chat_group_info", "chat_group_read_counts", "chat_group_react"):
            await b1.request(cmd, calls[cmd])
    assert not problems, "\n".join(problems)
    async with harness.client("alice") as a1:
        members = await a1.request("chat_group_members", {"group_id": gid})
        assert {m["user"]["id"]: m["role"] for m in members["members"]}[setup["erin"]] == "member"
        assert members["total"] == 3
        group = (await a1.request("chat_group_list", {}))["groups"][0]
        assert group["name"] == "private" and group["approval"] is True
        # chat_group_info shows the group as the list does, with the asker's own role.
        assert (await a1.request("chat_group_info", {"group_id": gid}))["group"] == group
    async with harness.client("erin") as e1:
        assert (await e1.request("chat_group_info", {"group_id": gid}))["group"]["role"] == "member"


async def test_unknown_group_is_not_found(harness, users):
    async with harness.client("alice") as a1:
        for cmd, data in requests_for(987654, 1, 987654, users["bob"]).items():
            with pytest.raises(ClientError) as exc:
                await a1.request(cmd, data)
            assert exc.value.code == "not_found", (cmd, exc.value)

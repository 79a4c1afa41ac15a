"""The permission walk: every room command, by a non-member and, where the room's owner or
admins are needed, by a plain member. Membership is checked in one place
(store.room.access, with the room policy); this walks the wire to show that every command goes through it."""

from __future__ import annotations

import pytest

from chatd.client import ClientError
from chatd.protocol.registry import REGISTRY

from .test_group import add_users, text
from .test_room import create, join, present, send

ROOM_SECTIONS = ("room_chat", "room_ops", "room_query", "room_members")
ROOM_COMMANDS = sorted(c.wire for c in REGISTRY.commands.values() if c.group in ROOM_SECTIONS and c.kind == "request")

# Commands that name no room: they create one, or list rooms or the user's own.
NOT_ROOM_SCOPED = {"chat_room_create", "chat_room_list", "chat_room_conversations"}
# Joining is open to every logged-in user: it is how a non-member gets in.
OPEN = {"room_join"}


def requests_for(rid: int, msg_id: int, target: int) -> dict[str, dict]:
    """A valid request of every room-scoped command (valid for a member who may do it)."""
    return {
        "chat_room_send": {"room_id": rid, "content": text("hi")},
        "chat_room_history": {"room_id": rid},
        "chat_room_search": {"query": "hello", "room_id": rid},
        "chat_room_mark_read": {"room_id": rid},
        "chat_room_mute_set": {"room_id": rid, "muted": True},
        "chat_room_pin_set": {"room_id": rid, "pinned": True},
        "chat_room_typing": {"room_id": rid},
        "chat_room_control": {"room_id": rid, "name": "x"},
        "chat_room_edit": {"room_id": rid, "msg_id": msg_id, "content": text("edited")},
        "chat_room_recall": {"room_id": rid, "msg_id": msg_id},
        "chat_room_recall_batch": {"room_id": rid, "msg_ids": [msg_id]},
        "chat_room_delete": {"room_id": rid, "msg_ids": [msg_id]},
        "chat_room_react": {"room_id": rid, "msg_id": msg_id, "emoji": "👍"},
        "room_join": {"room_id": rid},
        "room_exit": {"room_id": rid},
        "chat_room_update": {"room_id": rid, "name": "taken over"},
        "chat_room_disband": {"room_id": rid},
        "chat_room_members": {"room_id": rid},
        "chat_room_member_kick": {"room_id": rid, "user_id": target},
        "chat_room_member_mute_set": {"room_id": rid, "user_id": target, "duration_ms": 1000},
        "chat_room_member_role_set": {"room_id": rid, "user_id": target, "role": "admin"},
    }


# What a plain member may not do: the room's owner or admins (or a server admin) needed.
ADMIN_ONLY = {
    "chat_room_update",
    "chat_room_disband",
    "chat_room_member_kick",
    "chat_room_member_mute_set",
    "chat_room_member_role_set",
}


def test_the_walk_covers_every_room_command():
    cases = set(requests_for(1, 1, 1))
    assert set(ROOM_COMMANDS) == cases | NOT_ROOM_SCOPED, sorted(set(ROOM_COMMANDS) ^ (cases | NOT_ROOM_SCOPED))
    assert ADMIN_ONLY <= cases and OPEN <= cases
    assert {"room_join", "room_exit", "chat_room_members", "chat_room_member_kick", "chat_room_member_mute_set"} <= cases


@pytest.fixture
async def setup(harness, users):
    """alice (the owner) has a room with bob and erin (plain members) in it; carol is not a member."""
    b = users["bob"]
    (e,) = await add_users(harness, "erin")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("erin") as e1:
        rid = (await create(a1, "public"))["room_id"]
        await join(b1, rid)
        await join(e1, rid)
        msg = await send(a1, rid, "hello from the owner")
        return {"rid": rid, "msg": msg["id"], "erin": e, "bob": b}


async def test_non_member_is_refused_everywhere(harness, users, setup):
    rid = setup["rid"]
    calls = requests_for(rid, setup["msg"], setup["erin"])
    problems = []
    async with harness.client("carol") as c1:
        for cmd in ROOM_COMMANDS:
            if cmd in NOT_ROOM_SCOPED or cmd in OPEN:
                continue
            frame = await c1.call(cmd, calls[cmd])
            code = None if frame["ok"] else frame["error"]["code"]
            if code != "not_member":
                problems.append(f"{cmd}: {code or 'ok'} (wanted not_member)")
        # Nothing of the room shows in the user's own lists, but it can be discovered.
        assert (await c1.request("chat_room_conversations", {}))["conversations"] == []
        assert (await c1.request("chat_room_search", {"query": "hello"}))["results"] == []
        assert (await c1.request("chat_room_list", {"mine": True}))["rooms"] == []
        (room,) = (await c1.request("chat_room_list", {}))["rooms"]
        assert room["room_id"] == rid and room["role"] is None and room["member_count"] == 3
        # And joining lets them in.
        assert (await join(c1, rid))["joined"] is True
        await c1.request("chat_room_history", {"room_id": rid})
    assert not problems, "\n".join(problems)
    async with harness.client("alice") as a1:
        hist = await a1.request("chat_room_history", {"room_id": rid})
        assert [m["content"]["type"] for m in hist["messages"]] == ["system", "text"], "a refused command wrote something"
        assert hist["messages"][1]["content"] == text("hello from the owner") and hist["messages"][1]["reactions"] == []


async def test_plain_member_is_refused_where_an_admin_is_needed(harness, users, setup):
    rid = setup["rid"]
    calls = requests_for(rid, setup["msg"], setup["erin"])
    problems = []
    async with harness.client("bob") as b1, harness.client("erin") as e1:
        await join(b1, rid)
        await join(e1, rid)
        for cmd in sorted(ADMIN_ONLY):
            frame = await b1.call(cmd, calls[cmd])
            code = None if frame["ok"] else frame["error"]["code"]
            if code != "forbidden":
                problems.append(f"{cmd}: {code or 'ok'} (wanted forbidden)")
        # Other members' messages: no edit, no recall, no @all.
        for cmd in ("chat_room_edit", "chat_room_recall", "chat_room_recall_batch"):
            frame = await b1.call(cmd, calls[cmd])
            if frame["ok"] or frame["error"]["code"] != "forbidden":
                problems.append(f"{cmd} of the owner's message: {frame.get('error') or 'ok'}")
        frame = await b1.call("chat_room_send", {"room_id": rid, "content": text("@all"), "mentions": [0]})
        if frame["ok"] or frame["error"]["code"] != "forbidden":
            problems.append(f"@all by a plain member: {frame.get('error') or 'ok'}")
        # What a plain member may do.
        for cmd in ("chat_room_send", "chat_room_history", "chat_room_search", "chat_room_members", "chat_room_react", "chat_room_typing"):
            await b1.request(cmd, calls[cmd])
        assert await present(b1, rid) == {setup["bob"]: 1, setup["erin"]: 1}
    assert not problems, "\n".join(problems)
    async with harness.client("alice") as a1:
        await join(a1, rid)
        members = await a1.request("chat_room_members", {"room_id": rid})
        assert members["member_count"] == 3
        (room,) = (await a1.request("chat_room_list", {}))["rooms"]
        assert room["name"] == "public"


async def test_unknown_room_is_not_found(harness, users):
    async with harness.client("alice") as a1:
        for cmd, data in requests_for(987654, 1, users["bob"]).items():
            with pytest.raises(ClientError) as exc:
                await a1.request(cmd, data)
            assert exc.value.code == "not_found", (cmd, exc.value)

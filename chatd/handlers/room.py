"""Rooms: create, list (discovery), update, disband, join and exit (room_join / room_exit), and
who is in a room now (chat_room_members). Each write is one op of chatd.core.membership or
chatd.core.room_ops; their pushes are its effects. Kicks (with a ban), member mutes and roles
are registered for every kind with members by handlers/membership.py."""

from __future__ import annotations

from typing import Any

from ..core import membership, room_ops
from ..core.kinds import ROOM
from ..store import room as room_store
from ..store.db import now_ms
from . import Call, handler


def _present(call: Call, room: dict[str, Any]) -> dict[str, Any]:
    room["present_count"] = call.ctx.services.room_presence.count(room["room_id"])
    return room


@handler("chat_room_create")
async def create(call: Call) -> dict[str, Any]:
    out = await call.write(room_ops.op_create, call.user_id, call.data, call.ctx.cfg.rooms.create)
    _present(call, out["room"])
    return out  # type: ignore[no-any-return]


@handler("chat_room_list")
async def room_list(call: Call) -> dict[str, Any]:
    d = call.data
    out = await call.ctx.readers.read(room_store.list_rooms, call.user_id, d.query, d.mine, d.limit, d.offset)
    for room in out["rooms"]:
        _present(call, room)
    return out


@handler("chat_room_update")
async def update(call: Call) -> dict[str, Any]:
    out = await call.write(membership.op_update, ROOM, call.user_id, call.data)
    _present(call, out["room"])
    return out  # type: ignore[no-any-return]


@handler("chat_room_disband")
async def disband(call: Call) -> dict[str, Any]:
    return await call.write(room_ops.op_disband, call.user_id, call.data.room_id)  # type: ignore[no-any-return]


@handler("room_join")
async def join(call: Call) -> dict[str, Any]:
    out = await call.write(room_ops.op_join, call.user_id, call.data.room_id)
    _present(call, out["room"])
    return out  # type: ignore[no-any-return]


@handler("room_exit")
async def exit_room(call: Call) -> dict[str, Any]:
    return await call.write(membership.op_leave, ROOM, call.user_id, call.data.room_id)  # type: ignore[no-any-return]


@handler("chat_room_members")
async def members(call: Call) -> dict[str, Any]:
    d = call.data
    present = call.ctx.services.room_presence.users(d.room_id)
    ids = sorted(present)
    page = ids[d.offset : d.offset + d.limit]
    out = await call.ctx.readers.read(room_store.members_info, d.room_id, call.user_id, page, now_ms())
    for m in out["members"]:
        m["connections"] = present.get(m["user"]["id"], 0)
    return {
        "room_id": d.room_id,
        "members": out["members"],
        "present_count": len(ids),
        "member_count": out["member_count"],
        "has_more": d.offset + len(page) < len(ids),
    }

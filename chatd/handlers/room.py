"""Rooms: create, list (discovery), update, delete, join and exit (room_join / room_exit),
who is in a room now (chat_room_members), kick with a ban, member mutes and roles."""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..store import room as room_store
from ..store.db import now_ms
from . import Call, handler
from .common import mute_until
from .room_common import apply, presence_of, submit_removal, with_presence


@handler("chat_room_create")
async def create(call: Call) -> dict[str, Any]:
    server = call.server
    out = await server.writer.submit(room_store.op_create, call.user_id, call.data, server.cfg.rooms.create)
    presence_of(server).enter(call.session, out.room_id)
    apply(call, out)
    with_presence(server, out.result["room"])
    return out.result


@handler("chat_room_list")
async def room_list(call: Call) -> dict[str, Any]:
    d = call.data
    out = await call.server.readers.read(room_store.list_rooms, call.user_id, d.query, d.mine, d.limit, d.offset)
    for room in out["rooms"]:
        with_presence(call.server, room)
    return out


@handler("chat_room_update")
async def update(call: Call) -> dict[str, Any]:
    out = await call.server.writer.submit(room_store.op_update, call.user_id, call.data)
    apply(call, out)
    with_presence(call.server, out.result["room"])
    return out.result


@handler("chat_room_disband")
async def disband(call: Call) -> dict[str, Any]:
    rid = call.data.room_id
    out = await submit_removal(call, rid, room_store.op_delete, call.user_id, rid)
    apply(call, out)
    presence_of(call.server).clear(rid)
    return out.result


@handler("room_join")
async def join(call: Call) -> dict[str, Any]:
    server, rid, me = call.server, call.data.room_id, call.user_id
    presence = presence_of(server)
    epoch = presence.epoch(rid)
    entered = False

    def enter(_: Any) -> None:
        # At commit, before any later message's fanout runs: the connection gets every message
        # committed after its join. Unless a removal was submitted meanwhile (it may have
        # committed after this join): then ask the database below.
        nonlocal entered
        if presence.epoch(rid) == epoch:
            presence.enter(call.session, rid)
            entered = True

    out = await server.writer.submit(room_store.op_join, me, rid, on_commit=enter)
    if not entered and await server.readers.read(room_store.is_member, rid, me):
        presence.enter(call.session, rid)
    apply(call, out)
    with_presence(server, out.result["room"])
    return out.result


@handler("room_exit")
async def exit_room(call: Call) -> dict[str, Any]:
    rid = call.data.room_id
    out = await submit_removal(call, rid, room_store.op_exit, call.user_id, rid)
    apply(call, out)
    return out.result


@handler("chat_room_members")
async def members(call: Call) -> dict[str, Any]:
    d = call.data
    present = presence_of(call.server).users(d.room_id)
    ids = sorted(present)
    page = ids[d.offset : d.offset + d.limit]
    out = await call.server.readers.read(room_store.members_info, d.room_id, call.user_id, page, now_ms())
    for m in out["members"]:
        m["connections"] = present.get(m["user"]["id"], 0)
    return {
        "room_id": d.room_id,
        "members": out["members"],
        "present_count": len(ids),
        "member_count": out["member_count"],
        "has_more": d.offset + len(page) < len(ids),
    }


@handler("chat_room_member_kick")
async def kick(call: Call) -> dict[str, Any]:
    d, server = call.data, call.server
    ban_ms = server.cfg.rooms.kick_ban_s * 1000
    out = await submit_removal(call, d.room_id, room_store.op_kick, call.user_id, d.room_id, d.user_id, ban_ms)
    apply(call, out)
    return out.result


@handler("chat_room_member_mute_set")
async def member_mute_set(call: Call) -> dict[str, Any]:
    d = call.data
    until = mute_until(d)
    out = await call.server.writer.submit(room_store.op_mute, call.user_id, d.room_id, d.user_id, until)
    apply(call, out)
    return out.result


@handler("chat_room_member_role_set")
async def role_set(call: Call) -> dict[str, Any]:
    d = call.data
    if d.role not in room_store.RANK:
        raise ChatError("bad_request", "role is owner, admin or member", field="role")
    out = await call.server.writer.submit(room_store.op_role_set, call.user_id, d.room_id, d.user_id, d.role)
    apply(call, out)
    return out.result

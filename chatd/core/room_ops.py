"""What only rooms have: who may create one (rooms.create), joining freely unless a kick's ban
runs, and disbanding. The rest of room membership is chatd.core.membership; presence (which
connections are in the room) follows the Entered, Left and Emptied effects."""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import roles
from ..store import conversations as conv_store
from ..store import membership as rows
from ..store import room as room_store
from . import membership
from .effects import Emptied, Entered, Outcome
from .kinds import ROOM


def op_create(ctx: Any, creator: int, d: Any, who_may: str) -> Outcome:
    """Create a room; the creator is its owner and is in it on this connection."""
    if not room_store.may_create(ctx.conn, creator, who_may):
        raise ChatError("forbidden", "only server admins may create rooms here (rooms.create)")
    rid, out = membership.create(ctx, ROOM, creator, d.name, [], {"avatar": d.avatar, "description": d.description})
    out.effects.append(Entered(rid))
    out.result = {"room": room_store.info(ctx.conn, rid, "owner")}
    return out


def op_join(ctx: Any, user_id: int, room_id: int) -> Outcome:
    """Become a member and enter the room on this connection (unless a kick's ban is running).
    What was said before counts as read; the room's owner gets the owner role back, and a
    running member mute comes back too."""
    room = room_store.info(ctx.conn, room_id, None)
    role = rows.role_of(ctx.conn, room_id, user_id)
    out = Outcome()
    joined = role is None
    if joined:
        banned_until, muted_until = room_store.sanctions(ctx.conn, room_id, user_id)
        left = conv_store.remaining_ms(banned_until, ctx.now)
        if left:
            raise ChatError("banned", f"you were removed from this room; you may rejoin in {(left + 999) // 1000} s", retry_after_ms=left)
        role = "owner" if room["owner_id"] == user_id else "member"
        membership.add_members(ctx, ROOM, out, room_id, user_id, [user_id], "id", role=role, muted_until=muted_until if muted_until > ctx.now else 0)
    out.effects.append(Entered(room_id))
    out.result = {"room": room_store.info(ctx.conn, room_id, role), "joined": joined}
    return out


def op_disband(ctx: Any, actor: int, room_id: int) -> Outcome:
    """The owner (or a server admin) disbands the room: every member is removed; messages stay stored."""
    membership.access(ctx, ROOM, room_id, actor, roles.DISBAND)
    members = room_store.disband(ctx, room_id)
    out = Outcome({"room_id": room_id})
    membership.removed(ROOM, out, room_id, members)
    out.effects.append(Emptied(room_id))
    return out

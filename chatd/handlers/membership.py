"""Acting on another member, for every kind with members, registered from one table:
<prefix>member_kick, <prefix>member_mute_set and <prefix>member_role_set (chat_group_*,
chat_room_*), each one op of chatd.core.membership bound to its kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..core import membership
from ..core.kinds import MEMBER_KINDS, Kind
from ..core.validate import mute_until
from ..errors import ChatError
from ..policy import roles
from . import Call, register_for_kinds


async def member_kick(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    ban_ms = call.ctx.cfg.rooms.kick_ban_s * 1000 if kind.bans else 0
    return await call.write(membership.op_kick, kind, call.user_id, getattr(d, kind.id_field), d.user_id, ban_ms)  # type: ignore[no-any-return]


async def member_mute_set(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    return await call.write(membership.op_mute_member, kind, call.user_id, getattr(d, kind.id_field), d.user_id, mute_until(d))  # type: ignore[no-any-return]


async def member_role_set(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    if not roles.valid_role(d.role):
        raise ChatError("bad_request", "role is owner, admin or member", field="role")
    return await call.write(membership.op_role_set, kind, call.user_id, getattr(d, kind.id_field), d.user_id, d.role)  # type: ignore[no-any-return]


_VERBS: dict[str, Callable[[Call, Kind], Awaitable[dict[str, Any]]]] = {
    "member_kick": member_kick,
    "member_mute_set": member_mute_set,
    "member_role_set": member_role_set,
}


register_for_kinds(MEMBER_KINDS, _VERBS)

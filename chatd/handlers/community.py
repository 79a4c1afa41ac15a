"""Community commands: create, join, join requests, leave, permission overwrites, invite codes and the
permission view. The chat verbs of channels (community_send, community_history, ...) are
the engine's, registered in handlers/conversations.py from the CHANNEL kind."""

from __future__ import annotations

from typing import Any

from ..core import community_ops as ops
from ..core import community_perm_view as perm_view
from ..core import community_requests as requests
from ..store.db import now_ms
from . import Call, handler


@handler("community_create")
async def community_create(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_create, call.user_id, d.name, d.description, d.icon, d.public, d.join_mode)  # type: ignore[no-any-return]


@handler("community_join")
async def community_join(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_join, call.user_id, d.community_id, d.invite_code, d.message)  # type: ignore[no-any-return]


@handler("community_leave")
async def community_leave(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_leave, call.user_id, call.data.community_id)  # type: ignore[no-any-return]


@handler("community_overwrite_set")
async def community_overwrite_set(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(  # type: ignore[no-any-return]
        ops.op_overwrite_set, call.user_id, d.community_id, d.place, d.place_id, d.target, d.target_id, d.allow, d.deny
    )


@handler("community_invite_create")
async def community_invite_create(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(perm_view.op_invite_create, call.user_id, d.community_id, d.max_uses, d.expires_in_ms)  # type: ignore[no-any-return]


@handler("community_permissions")
async def community_permissions(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(perm_view.permissions, d.community_id, call.user_id, d.user_id, d.channel_id, now_ms())  # type: ignore[no-any-return]


@handler("community_request_list")
async def community_request_list(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(requests.request_list, d.community_id, call.user_id, d.limit, d.offset, now_ms())  # type: ignore[no-any-return]


@handler("community_request_decide")
async def community_request_decide(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(requests.op_request_decide, call.user_id, d.community_id, d.user_id, d.approve)  # type: ignore[no-any-return]

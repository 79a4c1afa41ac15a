"""Community commands on members and on the community itself: members, kick, time-out,
owner transfer, disband, settings and discovery; roles and who has them."""

from __future__ import annotations

from typing import Any

from ..core import community_members as ops
from ..core import community_role_ops as role_ops
from ..store import community as store
from ..store import community_roles as roles_store
from ..store.db import now_ms
from . import Call, handler


@handler("community_info")
async def community_info(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(store.info_for, call.data.community_id, call.user_id)  # type: ignore[no-any-return]


@handler("community_members")
async def community_members(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(store.members_for, d.community_id, call.user_id, d.limit, d.offset, now_ms())  # type: ignore[no-any-return]


@handler("community_member_kick")
async def community_member_kick(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_kick, call.user_id, d.community_id, d.user_id)  # type: ignore[no-any-return]


@handler("community_member_mute_set")
async def community_member_mute_set(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_mute_set, call.user_id, d.community_id, d.user_id, d.duration_ms)  # type: ignore[no-any-return]


@handler("community_owner_transfer")
async def community_owner_transfer(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_owner_transfer, call.user_id, d.community_id, d.user_id)  # type: ignore[no-any-return]


@handler("community_disband")
async def community_disband(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_disband, call.user_id, call.data.community_id)  # type: ignore[no-any-return]


@handler("community_update")
async def community_update(call: Call) -> dict[str, Any]:
    d = call.data
    fields = {"name": d.name, "description": d.description, "icon": d.icon, "public": d.public, "join_mode": d.join_mode}
    return await call.write(ops.op_update, call.user_id, d.community_id, fields)  # type: ignore[no-any-return]


@handler("community_discover")
async def community_discover(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(store.discover, d.query, d.limit, d.offset)  # type: ignore[no-any-return]


@handler("community_role_set")
async def community_role_set(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(role_ops.op_role_set, call.user_id, d.community_id, d.user_id, list(d.add), list(d.remove))  # type: ignore[no-any-return]


@handler("community_role_list")
async def community_role_list(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(roles_store.roles_for, call.data.community_id, call.user_id)  # type: ignore[no-any-return]


@handler("community_role_create")
async def community_role_create(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(role_ops.op_role_create, call.user_id, d.community_id, d.name, list(d.allow), d.position)  # type: ignore[no-any-return]


@handler("community_role_update")
async def community_role_update(call: Call) -> dict[str, Any]:
    d = call.data
    allow = None if d.allow is None else list(d.allow)
    return await call.write(role_ops.op_role_update, call.user_id, d.community_id, d.role_id, d.name, allow, d.position)  # type: ignore[no-any-return]


@handler("community_role_delete")
async def community_role_delete(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(role_ops.op_role_delete, call.user_id, d.community_id, d.role_id)  # type: ignore[no-any-return]


@handler("community_role_reorder")
async def community_role_reorder(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(role_ops.op_role_reorder, call.user_id, d.community_id, list(d.role_ids))  # type: ignore[no-any-return]

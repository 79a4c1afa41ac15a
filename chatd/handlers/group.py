"""Group management: create, update, invite, approval, requests, members, kick, mute,
roles, list, join and leave (chat_group_* and group_join / group_exit)."""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..store import group as group_store
from ..store import group_admin as ops
from ..store.db import now_ms
from . import Call, handler
from .common import mute_until
from .group_common import apply, submit, submit_removal


@handler("chat_group_create")
async def create(call: Call) -> dict[str, Any]:
    server = call.server
    out = await submit(call, ops.op_create, call.user_id, call.data, server.cfg.groups.max_members)
    await apply(call, out)
    return out.result


@handler("chat_group_update")
async def update(call: Call) -> dict[str, Any]:
    out = await submit(call, ops.op_update, call.user_id, call.data)
    await apply(call, out)
    return out.result


@handler("chat_group_invite_approval_set")
async def approval_set(call: Call) -> dict[str, Any]:
    d = call.data
    out = await submit(call, ops.op_approval_set, call.user_id, d.group_id, d.approval)
    await apply(call, out)
    return out.result


@handler("chat_group_invite")
async def invite(call: Call) -> dict[str, Any]:
    server = call.server
    out = await submit(call, ops.op_invite, call.user_id, call.data, server.cfg.groups.max_members)
    await apply(call, out)
    return out.result


@handler("chat_group_join")
@handler("group_join")
async def join(call: Call) -> dict[str, Any]:
    server = call.server
    out = await submit(call, ops.op_join, call.user_id, call.data, server.cfg.groups.max_members)
    await apply(call, out)
    return out.result


_STATUSES = frozenset({"pending", "approved", "rejected", "cancelled", "all"})


@handler("chat_group_requests")
async def requests(call: Call) -> dict[str, Any]:
    if call.data.status not in _STATUSES:
        raise ChatError("bad_request", "status is pending, approved, rejected, cancelled or all", field="status")
    return await call.server.readers.read(group_store.list_requests, call.user_id, call.data)


@handler("chat_group_request_decide")
async def request_decide(call: Call) -> dict[str, Any]:
    d, server = call.data, call.server
    out = await submit(call, ops.op_decide, call.user_id, d.request_id, d.approve, server.cfg.groups.max_members)
    await apply(call, out)
    return out.result


@handler("chat_group_members")
async def members(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.server.readers.read(group_store.members_page, d.group_id, call.user_id, d.limit, d.offset, now_ms())


@handler("chat_group_member_kick")
async def kick(call: Call) -> dict[str, Any]:
    d = call.data
    out = await submit_removal(call, d.group_id, d.user_id, ops.op_kick, call.user_id, d.group_id, d.user_id)
    await apply(call, out)
    return out.result


@handler("chat_group_member_mute_set")
async def member_mute_set(call: Call) -> dict[str, Any]:
    d = call.data
    until = mute_until(d)
    out = await submit(call, ops.op_mute, call.user_id, d.group_id, d.user_id, until)
    await apply(call, out)
    return out.result


@handler("chat_group_member_role_set")
async def role_set(call: Call) -> dict[str, Any]:
    d = call.data
    if d.role not in group_store.RANK:
        raise ChatError("bad_request", "role is owner, admin or member", field="role")
    out = await submit(call, ops.op_role_set, call.user_id, d.group_id, d.user_id, d.role)
    await apply(call, out)
    return out.result


@handler("chat_group_list")
async def group_list(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.server.readers.read(group_store.list_groups, call.user_id, d.limit, d.offset)


@handler("chat_group_leave")
@handler("group_exit")
async def leave(call: Call) -> dict[str, Any]:
    gid = call.data.group_id
    out = await submit_removal(call, gid, call.user_id, ops.op_leave, call.user_id, gid)
    await apply(call, out)
    return out.result

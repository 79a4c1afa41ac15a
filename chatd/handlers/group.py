"""Group management: create, update, invite, approval, requests, members, list, join and leave
(chat_group_* and group_join / group_exit). Each write is one op of chatd.core.membership or
chatd.core.group_ops; their pushes are its effects. Kicks, member mutes and roles are
registered for every kind with members by handlers/membership.py."""

from __future__ import annotations

from typing import Any

from ..core import group_ops, membership
from ..core.kinds import GROUP
from ..errors import ChatError
from ..store import group as group_store
from ..store.db import now_ms
from . import Call, handler


@handler("chat_group_create")
async def create(call: Call) -> dict[str, Any]:
    return await call.write(group_ops.op_create, call.user_id, call.data, call.ctx.cfg.groups.max_members)  # type: ignore[no-any-return]


@handler("chat_group_update")
async def update(call: Call) -> dict[str, Any]:
    return await call.write(membership.op_update, GROUP, call.user_id, call.data)  # type: ignore[no-any-return]


@handler("chat_group_invite_approval_set")
async def approval_set(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(group_ops.op_approval_set, call.user_id, d.group_id, d.approval)  # type: ignore[no-any-return]


@handler("chat_group_invite")
async def invite(call: Call) -> dict[str, Any]:
    return await call.write(group_ops.op_invite, call.user_id, call.data, call.ctx.cfg.groups.max_members)  # type: ignore[no-any-return]


@handler("chat_group_join")
@handler("group_join")
async def join(call: Call) -> dict[str, Any]:
    return await call.write(group_ops.op_join, call.user_id, call.data, call.ctx.cfg.groups.max_members)  # type: ignore[no-any-return]


_STATUSES = frozenset({"pending", "approved", "rejected", "cancelled", "all"})


@handler("chat_group_requests")
async def requests(call: Call) -> dict[str, Any]:
    if call.data.status not in _STATUSES:
        raise ChatError("bad_request", "status is pending, approved, rejected, cancelled or all", field="status")
    d = call.data
    return await call.ctx.readers.read(group_store.list_requests, call.user_id, d.group_id, d.status, d.limit, d.offset)


@handler("chat_group_request_decide")
async def request_decide(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(group_ops.op_decide, call.user_id, d.request_id, d.approve, call.ctx.cfg.groups.max_members)  # type: ignore[no-any-return]


@handler("chat_group_members")
async def members(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(group_store.members_page, d.group_id, call.user_id, d.limit, d.offset, now_ms())


@handler("chat_group_read_counts")
async def read_counts(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(group_store.my_read_counts, d.group_id, call.user_id, d.after_seq, d.upto_seq)  # type: ignore[no-any-return]


@handler("chat_group_info")
async def group_info(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(group_store.info_for_member, call.data.group_id, call.user_id)


@handler("chat_group_list")
async def group_list(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(group_store.list_groups, call.user_id, d.limit, d.offset)


@handler("chat_group_leave")
@handler("group_exit")
async def leave(call: Call) -> dict[str, Any]:
    return await call.write(membership.op_leave, GROUP, call.user_id, call.data.group_id)  # type: ignore[no-any-return]

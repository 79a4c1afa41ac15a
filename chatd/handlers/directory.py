"""The enterprise directory (enterprise_department_*, enterprise_member_*; docs/directory.md).
Reads are for every user; writes are ops of chatd.core.directory_ops, which ask
chatd.policy.directory."""

from __future__ import annotations

from typing import Any

from ..core import directory_ops as ops
from ..store import directory as store
from ..store import directory_search
from . import Call, handler


@handler("enterprise_department_create")
async def department_create(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_department_create, call.user_id, call.data.name, call.data.parent_id)  # type: ignore[no-any-return]


@handler("enterprise_department_update")
async def department_update(call: Call) -> dict[str, Any]:
    d = call.data  # at least one of name and parent_id: the registry's at_least_one_of
    return await call.write(ops.op_department_update, call.user_id, d.department_id, d.name, d.parent_id)  # type: ignore[no-any-return]


@handler("enterprise_department_delete")
async def department_delete(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_department_delete, call.user_id, d.department_id, d.move_members_up)  # type: ignore[no-any-return]


@handler("enterprise_department_list")
async def department_list(call: Call) -> dict[str, Any]:
    return {"departments": await call.ctx.readers.read(store.tree, call.data.department_id)}


@handler("enterprise_member_upsert")
async def member_upsert(call: Call) -> dict[str, Any]:
    d = call.data  # exactly one of user_id and username: the registry's exactly_one_of
    fields = {"name": d.name, "title": d.title, "email": d.email, "phone": d.phone, "employee_no": d.employee_no, "manager_id": d.manager_id}
    return await call.write(ops.op_member_upsert, call.user_id, d.user_id, d.username, fields, list(d.department_ids), d.primary_department_id)  # type: ignore[no-any-return]


@handler("enterprise_member_remove")
async def member_remove(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_member_remove, call.user_id, call.data.user_id, call.data.deactivate)  # type: ignore[no-any-return]


@handler("enterprise_member_list")
async def member_list(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(store.member_page, d.department_id, d.recursive, d.limit, d.offset)  # type: ignore[no-any-return]


@handler("enterprise_member_search")
async def member_search(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(directory_search.search_members, d.query, d.limit, d.department_id)  # type: ignore[no-any-return]

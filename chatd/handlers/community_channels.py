"""Community commands on channels and categories: create, update, delete, and the tree of
channels a member can see."""

from __future__ import annotations

from typing import Any

from ..core import community_channel_ops as ops
from ..store import community_channels as chstore
from . import Call, handler


@handler("community_channel_create")
async def community_channel_create(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_channel_create, call.user_id, d.community_id, d.name, d.category_id, d.topic, d.position)  # type: ignore[no-any-return]


@handler("community_channel_update")
async def community_channel_update(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(  # type: ignore[no-any-return]
        ops.op_channel_update, call.user_id, d.community_id, d.channel_id, d.name, d.topic, d.category_id, d.position, d.synced
    )


@handler("community_channel_delete")
async def community_channel_delete(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_channel_delete, call.user_id, d.community_id, d.channel_id)  # type: ignore[no-any-return]


@handler("community_channel_list")
async def community_channel_list(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(chstore.tree, call.data.community_id, call.user_id)  # type: ignore[no-any-return]


@handler("community_category_create")
async def community_category_create(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_category_create, call.user_id, d.community_id, d.name, d.position)  # type: ignore[no-any-return]


@handler("community_category_update")
async def community_category_update(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_category_update, call.user_id, d.community_id, d.category_id, d.name, d.position)  # type: ignore[no-any-return]


@handler("community_category_delete")
async def community_category_delete(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(ops.op_category_delete, call.user_id, d.community_id, d.category_id)  # type: ignore[no-any-return]

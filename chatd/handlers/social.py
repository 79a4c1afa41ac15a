"""Friends (chat_friend_*), blocks (chat_block_*), the DM whitelist (chat_dm_whitelist_*) and the
privacy settings (chat_dm_privacy_*). Writes are ops of chatd.core.social_ops; the rules are
chatd.policy.social, asked through chatd.core.social_gate."""

from __future__ import annotations

from typing import Any

from ..core import social_ops as ops
from ..errors import ChatError
from ..policy import social as rules
from ..store import social as store
from ..store.db import now_ms
from . import Call, handler

# --- friends ------------------------------------------------------------------------------


@handler("chat_friend_list")
async def friend_list(call: Call) -> dict[str, Any]:
    d = call.data
    page = await call.ctx.readers.read(store.friends_page, call.user_id, d.limit, d.offset)
    for entry in page["friends"]:
        ops.with_online(call.ctx.hub, entry)
    return page  # type: ignore[no-any-return]


@handler("chat_friend_add")
async def friend_add(call: Call) -> dict[str, Any]:
    d, social = call.data, call.ctx.cfg.social
    return await call.write(  # type: ignore[no-any-return]
        ops.op_friend_add, call.user_id, d.user_id, d.message, social.friend_request_ttl_s * 1000, social.friend_requests_per_hour
    )


@handler("chat_friend_accept")
async def friend_accept(call: Call) -> dict[str, Any]:
    out = await call.write(ops.op_friend_accept, call.user_id, call.data.user_id)
    ops.with_online(call.ctx.hub, out["friend"])
    return out  # type: ignore[no-any-return]


@handler("chat_friend_reject")
async def friend_reject(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_friend_reject, call.user_id, call.data.user_id)  # type: ignore[no-any-return]


@handler("chat_friend_remove")
async def friend_remove(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_friend_remove, call.user_id, call.data.user_id)  # type: ignore[no-any-return]


@handler("chat_friend_remark_set")
async def friend_remark_set(call: Call) -> dict[str, Any]:
    out = await call.write(ops.op_remark_set, call.user_id, call.data.user_id, call.data.remark)
    ops.with_online(call.ctx.hub, out["friend"])
    return out  # type: ignore[no-any-return]


@handler("chat_friend_request_list")
async def friend_request_list(call: Call) -> dict[str, Any]:
    d = call.data
    if d.direction not in ("incoming", "outgoing"):
        raise ChatError("bad_request", "direction must be incoming or outgoing", field="direction")
    return await call.ctx.readers.read(store.requests_page, call.user_id, d.direction == "incoming", d.limit, d.offset, now_ms())  # type: ignore[no-any-return]


# --- blocks and the DM whitelist ------------------------------------------------------------


@handler("chat_block_add")
async def block_add(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_list_add, "blocks", call.user_id, call.data.user_id)  # type: ignore[no-any-return]


@handler("chat_block_remove")
async def block_remove(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_list_remove, "blocks", call.user_id, call.data.user_id)  # type: ignore[no-any-return]


@handler("chat_block_list")
async def block_list(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(store.list_page, "blocks", call.user_id, call.data.limit, call.data.offset)  # type: ignore[no-any-return]


@handler("chat_dm_whitelist_add")
async def whitelist_add(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_list_add, "dm_whitelist", call.user_id, call.data.user_id)  # type: ignore[no-any-return]


@handler("chat_dm_whitelist_remove")
async def whitelist_remove(call: Call) -> dict[str, Any]:
    return await call.write(ops.op_list_remove, "dm_whitelist", call.user_id, call.data.user_id)  # type: ignore[no-any-return]


@handler("chat_dm_whitelist_list")
async def whitelist_list(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(store.list_page, "dm_whitelist", call.user_id, call.data.limit, call.data.offset)  # type: ignore[no-any-return]


# --- privacy --------------------------------------------------------------------------------


@handler("chat_dm_privacy_get")
async def privacy_get(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(store.privacy, call.user_id)  # type: ignore[no-any-return]


@handler("chat_dm_privacy_set")
async def privacy_set(call: Call) -> dict[str, Any]:
    d = call.data
    if d.policy is not None:
        why = rules.settable_policy(d.policy, has_directory=True)
        if why is not None:
            raise ChatError("bad_request", why, field="policy")
    return await call.write(ops.op_privacy_set, call.user_id, d.policy, d.friend_requests)  # type: ignore[no-any-return]

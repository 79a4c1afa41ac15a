"""The home screen's list of every conversation, and the user's own changes to it
(chatd.core.conversation_list)."""

from __future__ import annotations

from typing import Any

from ..core import conversation_list as home_list
from ..errors import ChatError
from . import Call, handler


@handler("chat_conversations")
async def conversations(call: Call) -> dict[str, Any]:
    d, ctx = call.data, call.ctx
    kinds = list(dict.fromkeys(d.kinds)) if d.kinds else list(home_list.BY_NAME)
    unknown = [k for k in kinds if k not in home_list.BY_NAME]
    if unknown:
        raise ChatError("bad_request", f"kinds are some of {', '.join(home_list.BY_NAME)}", field="kinds")
    page = await ctx.readers.read(home_list.home, call.user_id, kinds, d.unread_only, d.limit, d.offset)
    for entry in page["conversations"]:
        live = home_list.BY_NAME[entry["kind"]].live
        if live is not None:
            live(ctx.services, ctx.hub, entry)
    return page  # type: ignore[no-any-return]


@handler("chat_conversation_sort_set")
async def sort_set(call: Call) -> dict[str, Any]:
    kind, target = home_list.parse_target(call.data.target)
    return await call.write(home_list.op_sort_set, kind, target, call.user_id, call.data.sort_order)  # type: ignore[no-any-return]


@handler("chat_conversation_remove")
async def remove(call: Call) -> dict[str, Any]:
    kind, target = home_list.parse_target(call.data.target)
    return await call.write(home_list.op_remove, kind, target, call.user_id)  # type: ignore[no-any-return]


@handler("chat_conversation_dismiss")
async def dismiss(call: Call) -> dict[str, Any]:
    kind, target = home_list.parse_target(call.data.target)
    out = await call.write(home_list.op_dismiss, kind, target, call.user_id)
    return {"target": call.data.target, "last_read_seq": out["last_read_seq"]}

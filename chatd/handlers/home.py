"""The home screen's list of every conversation, and the user's own changes to it
(chatd.core.conversation_list)."""

from __future__ import annotations

from typing import Any

from ..core import conversation_list as home_list
from ..errors import ChatError
from . import Call, handler


def _kinds(d: Any) -> list[str]:
    kinds = list(dict.fromkeys(d.kinds)) if d.kinds else list(home_list.BY_NAME)
    if any(k not in home_list.BY_NAME for k in kinds):
        raise ChatError("bad_request", f"kinds are some of {', '.join(home_list.BY_NAME)}", field="kinds")
    return kinds


def _live(call: Call, page: dict[str, Any]) -> dict[str, Any]:
    for entry in page["conversations"]:
        live = home_list.BY_NAME[entry["kind"]].live
        if live is not None:
            live(call.ctx.services, call.ctx.hub, entry)
    return page


@handler("chat_conversations")
async def conversations(call: Call) -> dict[str, Any]:
    d = call.data
    return _live(call, await call.ctx.readers.read(home_list.home, call.user_id, _kinds(d), d.unread_only, d.limit, d.offset))


@handler("chat_conversations_unread")
async def conversations_unread(call: Call) -> dict[str, Any]:
    d, ctx = call.data, call.ctx
    unread = home_list.unread_filter(d.since, d.types or [])
    page = _live(call, await ctx.readers.read(home_list.home, call.user_id, _kinds(d), True, d.limit, 0, unread))
    cleared: list[str] = []
    if d.clear and page["conversations"]:
        targets = [home_list.parse_target(e["target"]) for e in page["conversations"]]
        cleared = await call.write(home_list.op_dismiss_all, call.user_id, targets)
    return {"conversations": page["conversations"], "has_more": page["has_more"], "cleared": cleared}


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

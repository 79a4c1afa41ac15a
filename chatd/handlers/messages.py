"""Requests about single messages, whatever their conversation."""

from __future__ import annotations

from typing import Any

from ..core import forward, message_reads
from ..core.conversation_list import parse_target
from ..core.validate import check_rate
from ..errors import ChatError
from . import Call, handler


@handler("chat_message_edits")
async def message_edits(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(message_reads.edits, call.user_id, d.msg_id, d.limit, d.offset)  # type: ignore[no-any-return]


@handler("chat_message_get")
async def message_get(call: Call) -> dict[str, Any]:
    out = await call.ctx.readers.read(message_reads.get, call.user_id, call.data.msg_id)
    await call.ctx.services.streams.overlay([out["message"]])  # a running stream's text so far
    return out  # type: ignore[no-any-return]


@handler("chat_message_around")
async def message_around(call: Call) -> dict[str, Any]:
    out = await call.ctx.readers.read(message_reads.around, call.user_id, call.data)
    await call.ctx.services.streams.overlay(out["messages"])
    return out  # type: ignore[no-any-return]


@handler("chat_message_forward")
async def message_forward(call: Call) -> dict[str, Any]:
    d, cfg = call.data, call.ctx.cfg
    ids = list(dict.fromkeys(d.msg_ids))
    parsed = [parse_target(t, f"targets[{i}]") for i, t in enumerate(d.targets)]
    targets = list({(kind.name, ident): (kind, ident) for kind, ident in parsed}.values())  # each once
    if len(ids) > cfg.messages.forward_max_messages:
        raise ChatError("too_large", f"at most {cfg.messages.forward_max_messages} messages in one forward", field="msg_ids")
    if len(targets) > cfg.messages.forward_max_targets:
        raise ChatError("too_large", f"at most {cfg.messages.forward_max_targets} conversations in one forward", field="targets")
    for _ in range(len(targets) * (1 if d.merged else len(ids))):  # each copy is a send
        check_rate(call.session)
    return await call.write(  # type: ignore[no-any-return]
        forward.op_forward, call.user_id, ids, targets, d.merged, d.title, d.client_msg_id, cfg.limits
    )

"""Requests about single messages, whatever their conversation."""

from __future__ import annotations

from typing import Any

from ..core import message_reads
from . import Call, handler


@handler("chat_message_edits")
async def message_edits(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(message_reads.edits, call.user_id, d.msg_id, d.limit, d.offset)  # type: ignore[no-any-return]


@handler("chat_message_get")
async def message_get(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(message_reads.get, call.user_id, call.data.msg_id)  # type: ignore[no-any-return]


@handler("chat_message_around")
async def message_around(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(message_reads.around, call.user_id, call.data)  # type: ignore[no-any-return]

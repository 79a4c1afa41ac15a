"""Requests about single messages, whatever their conversation."""

from __future__ import annotations

from typing import Any

from ..store import messages as msg_store
from . import Call, handler


@handler("chat_message_edits")
async def message_edits(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.ctx.readers.read(msg_store.edits_for, call.user_id, d.msg_id, d.limit, d.offset)

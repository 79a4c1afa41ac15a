"""Slash commands of bots (docs/bots.md): set by a bot, listed per conversation, run by users."""

from __future__ import annotations

from typing import Any

from ..core import bot_commands
from ..core.conversation_list import named_target
from ..core.validate import check_rate, new_message
from ..policy.bots import require_bot
from ..protocol.content import Text
from . import Call, handler


@handler("chat_bot_commands_set")
async def commands_set(call: Call) -> dict[str, Any]:
    require_bot(call.session.user, call.cmd)
    return await call.write(bot_commands.op_set, call.user_id, bot_commands.checked(call.data.commands))  # type: ignore[no-any-return]


@handler("chat_bot_commands_list")
async def commands_list(call: Call) -> dict[str, Any]:
    kind, target = named_target(call.data)
    return await call.ctx.readers.read(bot_commands.available, kind, target, call.user_id)  # type: ignore[no-any-return]


@handler("chat_bot_command")
async def command(call: Call) -> dict[str, Any]:
    d, ctx = call.data, call.ctx
    kind, target = named_target(d)
    check_rate(call.session)
    new = new_message(ctx.cfg.limits, call.user_id, Text(text=f"/{d.name} {d.args}".rstrip()), client_msg_id=d.client_msg_id)
    msg, duplicate = await call.write(bot_commands.op_command, kind, target, new, d.bot_id, d.name, d.args)
    return {"id": msg["id"], "conv_id": msg["conv_id"], "seq": msg["seq"], "duplicate": duplicate, "message": msg}

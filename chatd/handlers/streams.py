"""Streamed messages (chat_stream_*; docs/bots.md): a bot begins a message with its first text,
appends to it and ends it; readers may ask the bot to stop. The text lives in
chatd.services.streams while the stream runs; the message row is written at the begin, in
batches, and at the end (chatd.core.stream_ops)."""

from __future__ import annotations

from typing import Any

from ..core import verbs
from ..core.conversation_list import named_target
from ..core.kinds import DM
from ..core.validate import check_rate, new_message
from ..errors import ChatError
from ..policy import roles
from ..policy.bots import require_bot
from ..protocol.content import Text
from . import Call, handler

@handler("chat_stream_begin")
async def begin(call: Call) -> dict[str, Any]:
    d, ctx, me = call.data, call.ctx, call.user_id
    kind, target = named_target(d)
    require_bot(call.session.user, call.cmd)
    check_rate(call.session)
    new = new_message(ctx.cfg.limits, me, Text(text=d.text), client_msg_id=d.client_msg_id)
    new.stream_state = "streaming"
    msg, duplicate = await call.write(verbs.op_send, kind, target, new)
    if duplicate:  # a resent begin: the stream as it stands
        ctx.services.streams.overlay([msg])
    else:
        ctx.services.streams.started(kind, msg, kind.audience(msg["conv_id"], pair=(me, target)))
    return {"stream_id": msg["id"], "conv_id": msg["conv_id"], "seq": msg["seq"], "duplicate": duplicate, "message": msg}


@handler("chat_stream_append")
async def append(call: Call) -> dict[str, Any]:
    d = call.data
    length, applied = call.ctx.services.streams.append(d.stream_id, call.user_id, d.seq, d.offset, d.text)
    return {"stream_id": d.stream_id, "length": length, "applied": applied}


@handler("chat_stream_end")
async def end(call: Call) -> dict[str, Any]:
    d = call.data
    return {"message": await call.ctx.services.streams.end(d.stream_id, call.user_id, d.error, d.length)}


@handler("chat_stream_cancel")
async def cancel(call: Call) -> dict[str, Any]:
    ctx, me = call.ctx, call.user_id
    streams = ctx.services.streams
    stream = streams.running(call.data.stream_id)
    if stream.kind is DM:
        if me not in stream.audience.ids:
            raise ChatError("not_found", "no running stream with this id (it may have ended)", field="stream_id")
    else:
        await ctx.readers.read(stream.kind.store.access, stream.conv_id, me, roles.READ)
    call.effects.append(streams.cancel(stream, me))
    return {"stream_id": stream.stream_id, "forwarded": ctx.hub.online(stream.bot_id)}

"""Streamed messages (chat_stream_*; docs/bots.md): a bot begins a message with its first text,
appends to it and ends it; readers may ask the bot to stop. The text lives in
chatd.services.streams while the stream runs; the message row is written at the begin, in
batches, and at the end (chatd.core.stream_ops)."""

from __future__ import annotations

from typing import Any

from ..core import verbs
from ..core.conversation_list import named_target
from ..core.validate import check_rate, new_message
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
        await ctx.services.streams.overlay([msg])
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
    streams, stream_id = call.ctx.services.streams, call.data.stream_id
    node = streams.held_by(stream_id)
    if node is not None:  # several nodes: the stream runs on the node the bot began it on
        return await streams.ask(node, "stream", {"what": "cancel", "stream_id": stream_id, "user_id": call.user_id})  # type: ignore[no-any-return]
    out, push = await streams.cancel(stream_id, call.user_id)
    call.effects.append(push)
    return out

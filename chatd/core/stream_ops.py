"""The writer ops of streamed messages (chatd.services.streams keeps their text meanwhile; a
stream begins as a send, chatd.core.verbs.op_send): flush writes the text so far, end the final
text (or the partial one with `state: error`) and pushes the end."""

from __future__ import annotations

from typing import Any

from ..store import messages
from .effects import Outcome
from .kinds import Kind


def op_flush(ctx: Any, msg_id: int, conv_id: int, text: str) -> None:
    messages.set_stream_text(ctx.conn, msg_id, conv_id, text, "streaming")


def op_end(ctx: Any, kind: Kind, msg_id: int, conv_id: int, text: str, error: str | None, audience: Any) -> Outcome:
    messages.set_stream_text(ctx.conn, msg_id, conv_id, text, f"error:{error}" if error else None)
    msg = messages.load(ctx.conn, msg_id)
    out = Outcome(msg)
    data: dict[str, Any] = {"stream_id": msg_id, "kind": kind.name, "conv_id": conv_id}
    if error:
        out.push("chat.stream.error", {**data, "reason": error, "message": msg}, audience, skip_origin=False)
    else:
        out.push("chat.stream.done", {**data, "message": msg}, audience, skip_origin=False)
    return out

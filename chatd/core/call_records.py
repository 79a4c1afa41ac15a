"""A call's record in its DM (docs/calls.md): when a 1:1 call ends, one system message with
event `call` says how (missed, cancelled, rejected, or answered with its duration). Its text is
searchable; it counts as unread for the callee, so a missed call shows on every device, and it
starts the DM if the two never wrote to each other."""

from __future__ import annotations

from typing import Any

from ..policy import calls as machine
from ..protocol import content as ct
from ..store import conversations as conv_store
from ..store import dm as dm_store
from .effects import Outcome
from .kinds import DM

_WHAT = {
    machine.MISSED: "Missed {media} call",
    machine.CANCELLED: "Cancelled {media} call",
    machine.REJECTED: "Declined {media} call",
    machine.HANGUP: "{Media} call, {duration}",
    machine.LOST: "{Media} call, {duration} (connection lost)",
}


def record_text(reason: str, media: str, duration_ms: int) -> str:
    seconds = duration_ms // 1000
    duration = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"
    return _WHAT[reason].format(media=media, Media=media.capitalize(), duration=duration)


def op_record(ctx: Any, call: dict[str, Any]) -> Outcome:
    """Writer op: store the record of an ended call (a Call as the wire carries it) in the DM of
    its two users, and push it to both like a message."""
    caller, callee = call["caller_id"], call["callee_id"]
    conn = ctx.conn
    conv_id = dm_store.find_conv(conn, caller, callee)
    created = conv_id is None
    if conv_id is None:
        conv_id = dm_store.create_conv(ctx, caller, callee)
    text = record_text(call["reason"], call["media"], call["duration_ms"])
    data = {k: call[k] for k in ("call_id", "caller_id", "callee_id", "media", "reason", "ended_by", "started_at", "accepted_at", "ended_at", "duration_ms")}
    msg = conv_store.system_message(ctx, conv_id, caller, ct.dumps(ct.System(event="call", text=text, data=data)))
    out = Outcome(msg)
    DM.message(out, "new", msg, callee, caller, skip_origin=False)
    if created:
        DM.update(out, conv_id, DM.store.views(conn, conv_id, [caller, callee], known=msg))
    return out

"""Forwarding messages to several conversations at once (chat_message_forward).

The forwarder must be able to read every message forwarded (chatd.core.message_reads, as its
history would let them); a recalled or server-made message cannot be forwarded. Each target
is a conversation of any kind, and each is sent to exactly as the kind's own send would (the
engine's op_send: access, the social gate, pushes), inside a savepoint of its own, so that
one target's refusal leaves the others and the answer lists each target's outcome.

- One by one (`merged` false): each message becomes a message of the forwarder's in every
  target, with the original content and `forwarded` {sender_id, created_at}, never the
  conversation it came from.
- Merged: one message per target, content type `forward`, holding every message (sender,
  name, time, content) in the order given: what a chat app shows as a "chat record".

Forwarded copies mention no one and quote nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import ChatError
from ..protocol import content as ct
from ..store import membership as rows
from ..store import messages
from .effects import Outcome
from .kinds import Kind
from .message_reads import readable
from .verbs import op_send

def _originals(ctx: Any, user_id: int, msg_ids: list[int]) -> list[dict[str, Any]]:
    for msg_id in msg_ids:
        readable(ctx.conn, msg_id, user_id)
    found = messages.load_many(ctx.conn, msg_ids)
    out = []
    for msg_id in msg_ids:
        msg = found[msg_id]
        if msg["content"] is None:
            raise ChatError("bad_request", f"message {msg_id} was recalled: it cannot be forwarded", field="msg_ids")
        if msg["content"]["type"] == "system":
            raise ChatError("bad_request", f"message {msg_id} is a system message: it cannot be forwarded", field="msg_ids")
        out.append(msg)
    return out


def _copies(ctx: Any, originals: list[dict[str, Any]], merged: bool, title: str, limits: Any) -> list[tuple[str, bytes, str, str | None]]:
    """What each target gets: (type, content, searchable text, forwarded) per message."""
    if not merged:
        out = []
        for msg in originals:
            content = msgspec.convert(msg["content"], ct.Content)
            origin = msgspec.json.encode({"sender_id": msg["sender_id"], "created_at": msg["created_at"]}).decode()  # the column is text
            out.append((msg["content"]["type"], ct.dumps(content), ct.searchable_text(content), origin))
        return out
    names = rows.display_names(ctx.conn, [m["sender_id"] for m in originals])
    record = ct.Forward(title=title, items=[
        ct.ForwardItem(sender_id=m["sender_id"], sender_name=names.get(m["sender_id"], ""), created_at=m["created_at"],
                       content=msgspec.convert(m["content"], ct.Content))
        for m in originals
    ])
    body = ct.dumps(record)
    if len(body) > limits.max_content_bytes:
        raise ChatError("too_large", f"the merged record is over {limits.max_content_bytes} bytes", field="msg_ids")
    return [("forward", body, ct.searchable_text(record), None)]


def op_forward(ctx: Any, user_id: int, msg_ids: list[int], targets: list[tuple[Kind, int]], merged: bool, title: str,
               client_msg_id: str | None, limits: Any) -> Outcome:
    """Forward to every target; a target's refusal is its own result, not the request's."""
    copies = _copies(ctx, _originals(ctx, user_id, msg_ids), merged, title, limits)
    out = Outcome()
    results = []
    for t, (kind, target) in enumerate(targets):
        ctx.conn.execute("SAVEPOINT forward_target")
        sent: list[dict[str, Any]] = []
        effects: list[Any] = []
        try:
            for m, (msg_type, body, text, origin) in enumerate(copies):
                new = messages.NewMessage(
                    sender_id=user_id, type=msg_type, content=body, text=text,
                    client_msg_id=None if client_msg_id is None else f"{client_msg_id}:{t}:{m}",
                    quote_id=None, mentions=[], quota=limits.user_storage_bytes, forwarded=origin,
                )
                one = op_send(ctx, kind, target, new)
                msg, _duplicate = one.result
                sent.append(msg)
                effects.extend(one.effects)
        except ChatError as e:
            ctx.conn.execute("ROLLBACK TO forward_target")
            results.append({"kind": kind.name, "id": target, "ok": False, "messages": [], "error": {"code": e.code, "message": e.message}})
        else:
            out.effects.extend(effects)
            results.append({"kind": kind.name, "id": target, "ok": True, "messages": sent, "error": None})
        finally:
            ctx.conn.execute("RELEASE forward_target")
    out.result = {"results": results}
    return out

"""Reading by message id, whatever the conversation's kind: one message (chat_message_get), the
messages around one (chat_message_around: jumping to a quoted or found message, or a gallery
of the media around one) and a message's edits (chat_message_edits).

A message is readable exactly when its conversation's history is: the kind's own access
check (chatd.core.kinds) with the kind's history capability, so a community channel the
reader cannot see, or may not read the history of, answers as its history would. A
message in a conversation the reader is not in answers not_found, as one that does not
exist.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..store import message_reads as reads
from ..store import messages
from .kinds import KINDS

_BY_NAME = {k.name: k for k in KINDS}


def readable(conn: sqlite3.Connection, msg_id: int, user_id: int) -> reads.Located:
    at = reads.locate(conn, msg_id, user_id)
    kind = _BY_NAME[at.kind]
    target = at.conv_id
    if kind.fanout == "pair":  # a DM is named by the other user
        target = kind.store.peer_of(conn, user_id, [at.conv_id]).get(at.conv_id, 0)
    try:
        acc = kind.store.access(conn, target, user_id, kind.history_capability)
    except ChatError as e:
        if e.code == "forbidden":  # a member who may not read it: the history's own refusal
            raise
        acc = None
    if acc is None or acc.conv_id != at.conv_id:  # (a DM of two others names a peer the reader may share another DM with)
        raise ChatError("not_found", "no such message in your conversations", field="msg_id")
    return at


def get(conn: sqlite3.Connection, user_id: int, msg_id: int) -> dict[str, Any]:
    at = readable(conn, msg_id, user_id)
    page = reads.around(conn, user_id, at, before=0, after=0, include_anchor=True, types=None)
    return {"message": page["messages"][0], "kind": at.kind, "conv_id": at.conv_id}


def around(conn: sqlite3.Connection, user_id: int, d: Any) -> dict[str, Any]:
    if d.types is not None:
        unknown = sorted(set(d.types) - set(reads.MEDIA_TYPES))
        if unknown or not d.types:
            raise ChatError("bad_request", f"types are some of {', '.join(reads.MEDIA_TYPES)}", field="types")
    at = readable(conn, d.msg_id, user_id)
    return reads.around(conn, user_id, at, before=d.before, after=d.after, include_anchor=d.include_anchor, types=d.types)


def edits(conn: sqlite3.Connection, user_id: int, msg_id: int, limit: int, offset: int) -> dict[str, Any]:
    readable(conn, msg_id, user_id)
    items, total = messages.edits(conn, msg_id, limit, offset)
    return {"edits": items, "total": total}

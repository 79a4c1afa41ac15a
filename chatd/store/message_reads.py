"""Reading messages by one of them: where a message is, and the messages around it.

`locate` finds a message's conversation and kind (the caller checks that the reader may
read that conversation, chatd.core.message_reads); `around` pages both ways from it, by seq,
with or without it, over every message or over media of some types only (a gallery). A
message the reader deleted for themselves is not there for them.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from ..errors import ChatError
from .messages import _NOT_HIDDEN, COLS, _decorate, _wire

# Content types a gallery can ask for. Their messages have an index of their own
# (messages_media, schema migration 12), so that paging them skips the rest.
MEDIA_TYPES = ("image", "video", "file", "audio")
_MEDIA = "type IN ('image', 'video', 'file', 'audio')"  # the index's condition, word for word


class Located(NamedTuple):
    msg_id: int
    conv_id: int
    kind: str
    seq: int


def locate(conn: sqlite3.Connection, msg_id: int, user_id: int) -> Located:
    """The message's place; not_found when there is none, or the user deleted it for themselves."""
    row = conn.execute(
        f"SELECT messages.id, conv_id, c.kind, seq FROM messages JOIN conversations c ON c.id = messages.conv_id WHERE messages.id = ? AND {_NOT_HIDDEN}",
        (msg_id, user_id),
    ).fetchone()
    if row is None:
        raise ChatError("not_found", "no such message in your conversations", field="msg_id")
    return Located(*row)


def around(
    conn: sqlite3.Connection, user_id: int, at: Located, *, before: int, after: int, include_anchor: bool, types: list[str] | None
) -> dict[str, Any]:
    """Up to `before` messages before the anchor and `after` after it, oldest first, the anchor
    between them when included (and of the asked types); with has_more on each side."""
    media = ""
    args: list[Any] = []
    if types:
        media = f" AND {_MEDIA} AND type IN ({','.join('?' * len(types))}) AND recalled_at IS NULL"
        args = list(types)

    def side(op: str, order: str, limit: int) -> tuple[list[tuple[Any, ...]], bool]:
        if limit == 0:
            return [], _exists(conn, user_id, at, op, media, args)
        rows = conn.execute(
            f"SELECT {COLS} FROM messages WHERE conv_id = ? AND seq {op} ?{media} AND {_NOT_HIDDEN} ORDER BY seq {order} LIMIT ?",
            [at.conv_id, at.seq, *args, user_id, limit + 1],
        ).fetchall()
        return rows[:limit], len(rows) > limit

    older, more_before = side("<", "DESC", before)
    newer, more_after = side(">", "ASC", after)
    anchor: list[tuple[Any, ...]] = []
    if include_anchor:
        anchor = conn.execute(f"SELECT {COLS} FROM messages WHERE id = ?{media}", [at.msg_id, *args]).fetchall()
    rows = [*reversed(older), *anchor, *newer]
    return {
        "conv_id": at.conv_id,
        "kind": at.kind,
        "anchor_seq": at.seq,
        "messages": _decorate(conn, [_wire(r) for r in rows]),
        "has_more_before": more_before,
        "has_more_after": more_after,
    }


def _exists(conn: sqlite3.Connection, user_id: int, at: Located, op: str, media: str, args: list[Any]) -> bool:
    row = conn.execute(
        f"SELECT 1 FROM messages WHERE conv_id = ? AND seq {op} ?{media} AND {_NOT_HIDDEN} LIMIT 1", [at.conv_id, at.seq, *args, user_id]
    ).fetchone()
    return row is not None

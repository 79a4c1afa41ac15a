"""`chatd export`: the server's messages, or one user's, as one JSON document (docs/operations.md).

Written as it is read, conversation by conversation, so memory stays flat however large the
database. Contents are the JSON the server stores (a recalled message's is null); users
appear without password hashes or tokens.

    {"chatd_export": 1, "chatd_version": "…", "exported_at": 1764331200, "user": null | "alice",
     "users": [{"id": 1, "name": "alice", …}, …],
     "conversations": [{"id": 7, "kind": "dm", "name": "", "members": [1, 2], "scope": "all",
                        "messages": [{"id": …, "seq": 1, "sender_id": 1, "type": "text",
                                      "content": {"text": "hi"}, …}, …]}, …]}
"""

from __future__ import annotations

import sqlite3
import time
from typing import IO, Any

import msgspec

from . import __version__
from .store import export as rows

FORMAT = 1
_encode = msgspec.json.Encoder().encode


class ExportError(Exception):
    pass


def _message(row: dict[str, Any]) -> bytes:
    for key in ("content", "mentions"):  # stored as JSON text: nested, not quoted
        if row[key] is not None:
            row[key] = msgspec.Raw(row[key] if isinstance(row[key], bytes) else row[key].encode())
    return _encode(row)


def _write_list(out: IO[bytes], items: Any, encode: Any = _encode) -> int:
    out.write(b"[")
    count = 0
    for item in items:
        if count:
            out.write(b",\n")
        out.write(encode(item))
        count += 1
    out.write(b"]")
    return count


def export(conn: sqlite3.Connection, out: IO[bytes], user: str | None = None) -> tuple[int, int]:
    """Write the export to out. Returns (conversations, messages) written."""
    user_id = None
    if user is not None:
        user_id = rows.user_id(conn, user)
        if user_id is None:
            raise ExportError(f"no user named {user!r}")
    conn.execute("BEGIN")  # one read transaction: one consistent state throughout
    try:
        head = {"chatd_export": FORMAT, "chatd_version": __version__, "exported_at": int(time.time()), "user": user}
        out.write(_encode(head)[:-1] + b',\n"users":')
        _write_list(out, rows.users(conn))
        out.write(b',\n"conversations":[')
        conversations = messages = 0
        for conv in rows.conversations(conn, user_id):
            if conversations:
                out.write(b",\n")
            conv["members"] = rows.member_ids(conn, conv["id"])
            out.write(_encode(conv)[:-1] + b',"messages":')
            own = conv["scope"] == "own"
            messages += _write_list(out, rows.messages(conn, conv["id"], for_user=user_id, only_sender=user_id if own else None), _message)
            out.write(b"}")
            conversations += 1
        out.write(b"]}\n")
    finally:
        conn.execute("COMMIT")
    return conversations, messages

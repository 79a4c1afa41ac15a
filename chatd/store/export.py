"""The rows `chatd export` writes (chatd.export): users without secrets, conversations, messages.

Read through sqlite-utils, whose queries yield each row as a dict named by its columns: the
export is the database's own shape, column for column, with no mapping of ours to fall
behind when a column is added.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlite_utils import Database

# Never exported: password hashes and tokens stay in the server.
_USER_COLUMNS = "id, name, display_name, is_admin, is_bot, disabled, created_at"
_MESSAGE_COLUMNS = "id, seq, sender_id, type, content, quote_id, mentions, created_at, edited_at, recalled_at"


def _db(conn: sqlite3.Connection) -> Database:
    return Database(conn, recursive_triggers=False, execute_plugins=False)


def user_id(conn: sqlite3.Connection, name: str) -> int | None:
    row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def users(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    return _db(conn).query(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")


def conversations(conn: sqlite3.Connection, user_id: int | None) -> Iterator[dict[str, Any]]:
    """Every conversation (user_id None), or those the user is a member of, then those where the
    user only wrote (a community channel): each with `scope` "all" or "own" (only the user's messages)."""
    db = _db(conn)
    columns = "c.id, c.kind, c.name, c.created_at, c.last_seq"
    if user_id is None:
        yield from db.query(f"SELECT {columns}, 'all' AS scope FROM conversations c ORDER BY c.id")
        return
    yield from db.query(
        f"SELECT {columns}, 'all' AS scope FROM conversations c JOIN members m ON m.conv_id = c.id AND m.user_id = ? ORDER BY c.id",
        (user_id,),
    )
    yield from db.query(
        f"SELECT {columns}, 'own' AS scope FROM conversations c WHERE c.id IN (SELECT DISTINCT conv_id FROM messages WHERE sender_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conv_id = c.id AND m.user_id = ?) ORDER BY c.id",
        (user_id, user_id),
    )


def member_ids(conn: sqlite3.Connection, conv_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT user_id FROM members WHERE conv_id = ? ORDER BY user_id", (conv_id,))]


def messages(conn: sqlite3.Connection, conv_id: int, *, for_user: int | None, only_sender: int | None) -> Iterator[dict[str, Any]]:
    """A conversation's messages by seq: those hidden for for_user ("delete for me") left out, or
    only only_sender's own."""
    db = _db(conn)
    if only_sender is not None:
        return db.query(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conv_id = ? AND sender_id = ? ORDER BY seq", (conv_id, only_sender))
    if for_user is not None:
        return db.query(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conv_id = ? "
            "AND id NOT IN (SELECT message_id FROM hidden_messages WHERE user_id = ? AND conv_id = ?) ORDER BY seq",
            (conv_id, for_user, conv_id),
        )
    return db.query(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conv_id = ? ORDER BY seq", (conv_id,))

"""The server's announcements: one conversation of kind 'broadcast' (schema migration 18), which
every user reads and only server admins write; its messages go to every logged-in connection.

It has no members: nobody joins it or leaves it, so it has no entry in anyone's lists and no
unread count; a client keeps the last seq it showed. Requests name it by `broadcast_id`, 0 (the
default) for the one there is.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy import roles
from . import conversations as chat
from .conversations import Access
from .db import now_ms, on_postgres

KIND = "broadcast"


def conv_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT id FROM conversations WHERE kind = 'broadcast' LIMIT 1").fetchone()
    if row is None:  # (made by the migration: only a damaged database lacks it)
        raise ChatError("not_found", "this server has no announcements", field="broadcast_id")
    return int(row[0])


def access(
    conn: sqlite3.Connection, target: int, user_id: int, capability: str = roles.READ, now: int | None = None, missing_ok: bool = False
) -> Access:
    """Everyone reads; sending and recalling are the server admins' (roles.BROADCAST)."""
    cid = conv_id(conn)
    if target not in (0, cid):
        raise ChatError("not_found", f"no announcements with id {target}", field="broadcast_id")
    row = conn.execute("SELECT is_admin FROM users WHERE id = ?", (user_id,)).fetchone()
    admin = bool(row and row[0])
    if not roles.allowed(roles.BROADCAST, roles.Actor(user_id, "member", admin), capability, now_ms() if now is None else now):
        raise ChatError("forbidden", "only server admins send or recall announcements")
    return Access(cid, user_id, "member", 0, 0, server_admin=admin)


def open_send(ctx: Any, target: int, sender_id: int, client_msg_id: str | None) -> chat.SendTarget:
    return chat.open_member_send(ctx, access, conv_id(ctx.conn), sender_id, client_msg_id)


def views(conn: sqlite3.Connection, target: int, user_ids: list[int], known: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    return {}  # no one has an entry


def conversations(conn: sqlite3.Connection, user_id: int, *, limit: int = 50, unread_only: bool = False) -> list[dict[str, Any]]:
    return []


def listed(conn: sqlite3.Connection, user_id: int, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return []


def migrate(conn: sqlite3.Connection) -> None:
    """18: the server's announcements, a conversation of kind 'broadcast' (chatd.store.broadcast).
    conversations.kind's CHECK gains 'broadcast' by SQLite's documented way of loosening a
    constraint without rebuilding the table (every row satisfies the new one): the schema's
    text edited under writable_schema, and schema_version moved so that every connection reads
    it again; on PostgreSQL (an older database upgraded in place, chatd.store.pg_upgrade) the
    CHECK is dropped and added again, loosened. Then the one conversation is made."""
    if on_postgres(conn):
        conn.execute(
            "ALTER TABLE conversations DROP CONSTRAINT conversations_kind_check, ADD CONSTRAINT conversations_kind_check "
            "CHECK (kind IN ('dm', 'group', 'room', 'channel', 'broadcast'))"
        )
    else:
        _loosen_kind_check(conn)
    conn.execute("CREATE INDEX IF NOT EXISTS conversations_broadcast ON conversations(kind) WHERE kind = 'broadcast'")
    conn.execute(
        "INSERT INTO conversations (kind, name, last_activity, created_at) SELECT 'broadcast', 'Announcements', 0, 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM conversations WHERE kind = 'broadcast')"
    )


def _loosen_kind_check(conn: sqlite3.Connection) -> None:
    (sql,) = conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'conversations'").fetchone()
    if "'broadcast'" not in sql:
        (version,) = conn.execute("PRAGMA schema_version").fetchone()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'conversations'",
            (sql.replace("'room', 'channel')", "'room', 'channel', 'broadcast')"),),
        )
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
        conn.execute("PRAGMA writable_schema = OFF")

"""Uploaded files in the database: who uploaded what (uploads) and which messages name which file (file_refs).

An upload row is one user's copy of a file: (uploader, sha256) is unique, so the same
bytes uploaded twice by one user are one row (its created_at moves to the last upload),
and the same bytes uploaded by two users are two rows over one file on disk
(chatd.media). A user's quota counts the sizes of the user's own rows.

file_refs is kept by chatd.store.messages: every chatd-file key in a message's content,
added when the message is sent or edited (a key an edit removed stays: the edit history
still shows it) and dropped when the message is recalled.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from ..errors import ChatError
from ..protocol.content import FILE_KEY

_KEYS = re.compile(rb"chatd-file:([0-9a-f]{64})")


def keys_in(content: bytes | None) -> set[str]:
    """The sha256 of every chatd-file key in a message's stored content (JSON bytes)."""
    if not content or b"chatd-file:" not in content:
        return set()
    return {m.decode() for m in _KEYS.findall(content)}


def sha_of_key(key: str) -> str | None:
    return key.removeprefix("chatd-file:") if FILE_KEY.fullmatch(key) else None


def link(conn: sqlite3.Connection, msg_id: int, content: bytes | None) -> None:
    for sha in keys_in(content):
        conn.execute("INSERT OR IGNORE INTO file_refs (sha256, msg_id) VALUES (?, ?)", (sha, msg_id))


def unlink_message(conn: sqlite3.Connection, msg_id: int) -> None:
    conn.execute("DELETE FROM file_refs WHERE msg_id = ?", (msg_id,))


# --- reads ---------------------------------------------------------------------------


def used_bytes(conn: sqlite3.Connection, user_id: int) -> int:
    (n,) = conn.execute("SELECT COALESCE(SUM(size), 0) FROM uploads WHERE uploader_id = ?", (user_id,)).fetchone()
    return n


def has_upload(conn: sqlite3.Connection, user_id: int, sha256: str) -> bool:
    return conn.execute("SELECT 1 FROM uploads WHERE uploader_id = ? AND sha256 = ?", (user_id, sha256)).fetchone() is not None


def info(conn: sqlite3.Connection, sha256: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT size, mime, width, height FROM uploads WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone()
    if row is None:
        return None
    return {"size": row[0], "mime": row[1], "width": row[2], "height": row[3]}


def referencing(conn: sqlite3.Connection, sha256: str, user_id: int, limit: int = 200) -> list[int]:
    """Ids of up to `limit` messages whose content names the file: first those in conversations
    user_id is a member of, then the others (channels and announcements have no member rows);
    newest first in each."""
    rows = conn.execute(
        "SELECT r.msg_id FROM file_refs r JOIN messages m ON m.id = r.msg_id "
        "LEFT JOIN members mb ON mb.conv_id = m.conv_id AND mb.user_id = ? "
        "WHERE r.sha256 = ? ORDER BY mb.user_id IS NULL, r.msg_id DESC LIMIT ?",
        (user_id, sha256, limit),
    )
    return [r[0] for r in rows]


def is_uploaded(conn: sqlite3.Connection, sha256: str) -> bool:
    """Whether anyone's upload of the file is recorded (the collector's last look before it deletes one)."""
    return conn.execute("SELECT 1 FROM uploads WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None


def unreferenced_before(conn: sqlite3.Connection, before_ms: int, limit: int) -> list[str]:
    """Files no message names whose last upload (by anyone) is older than before_ms."""
    rows = conn.execute(
        "SELECT sha256 FROM uploads u GROUP BY sha256 HAVING MAX(created_at) < ? "
        "AND NOT EXISTS (SELECT 1 FROM file_refs r WHERE r.sha256 = u.sha256) LIMIT ?",
        (before_ms, limit),
    )
    return [r[0] for r in rows]


# --- writer ops ----------------------------------------------------------------------


def op_record(ctx: Any, user_id: int, sha256: str, size: int, mime: str, width: int | None, height: int | None, quota: int) -> None:
    """Record a user's upload; over the user's quota (0: none) answers quota_exceeded and records nothing."""
    conn = ctx.conn
    if quota and not has_upload(conn, user_id, sha256) and used_bytes(conn, user_id) + size > quota:
        raise ChatError("quota_exceeded", f"your uploads would pass your quota of {quota} bytes (files.user_quota_bytes)")
    conn.execute(
        "INSERT INTO uploads (sha256, uploader_id, size, mime, width, height, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (uploader_id, sha256) DO UPDATE SET created_at = excluded.created_at",
        (sha256, user_id, size, mime, width, height, ctx.now),
    )


def op_forget(ctx: Any, sha256: str, before_ms: int) -> bool:
    """Drop a file's upload rows when still unreferenced and not uploaded again since; returns whether it did."""
    conn = ctx.conn
    if conn.execute("SELECT 1 FROM file_refs WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone():
        return False
    if conn.execute("SELECT 1 FROM uploads WHERE sha256 = ? AND created_at >= ? LIMIT 1", (sha256, before_ms)).fetchone():
        return False
    conn.execute("DELETE FROM uploads WHERE sha256 = ?", (sha256,))
    return True

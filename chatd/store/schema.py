"""Versioned schema migrations (chatd.store.migrations), run at start, each in its own
transaction.

PRAGMA user_version holds the schema version. A database written by a newer
chatd (a higher version than MIGRATIONS knows) is refused.
"""

from __future__ import annotations

import sqlite3

import msgspec

from .migrations import MIGRATIONS

LATEST = len(MIGRATIONS)


class SchemaTooNew(Exception):
    pass


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Bring the database to `target` (LATEST; an older version only to make a database as an
    older chatd left it, chatd.store.pg_schema). Returns the version it was at before."""
    from . import messages, search

    conn.create_function(
        "chatd_indexed", 2, lambda t, c: search.segment(messages.indexed_text(t, c)), deterministic=True
    )
    conn.create_function("chatd_html_source", 1, lambda c: search.segment(msgspec.json.decode(c)["text"]), deterministic=True)
    conn.create_function("chatd_clean_html", 1, _clean_html_content, deterministic=True)
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > LATEST:
        raise SchemaTooNew(
            f"the database is at schema version {version}, but this chatd knows only up to {LATEST}: "
            "it was written by a newer chatd. Upgrade chatd, or restore a backup made by this version."
        )
    for number in range(version + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        # Another process may have migrated between our first look and this lock.
        if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
            conn.execute("COMMIT")
            continue
        try:
            step = MIGRATIONS[number - 1]
            if callable(step):
                step(conn)
            else:
                for statement in _split(step):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version


def _clean_html_content(raw: bytes) -> bytes:
    """A stored content, its HTML sanitized as new messages' are (migration 13)."""
    from ..protocol import rich

    content = msgspec.json.decode(raw)
    if not isinstance(content, dict) or content.get("type") != "html":
        return raw
    content["text"] = rich.clean_html(content["text"]) or "<p></p>"
    return msgspec.json.encode(content)


def _split(script: str) -> list[str]:
    out, buf = [], []
    for line in script.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        buf.append(line)
        if stripped.endswith(";") and sqlite3.complete_statement("\n".join(buf)):
            out.append("\n".join(buf))
            buf = []
    if buf:
        out.append("\n".join(buf))
    return out

"""A consistent copy of a live database, and the checks a copy must pass before it is used.

The copy is made with SQLite's online backup API in one step: it reads the database inside
one read transaction, which in WAL mode never blocks the running server's writer, and so is
a single committed state however busy the server is (a copy made page by page in several
steps restarts whenever another connection writes, and might never finish).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def copy_database(src: Path, dest: Path) -> None:
    """Write a consistent copy of the database at src into the new file dest (rollback journal, no WAL)."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        source.execute("PRAGMA busy_timeout = 10000")
        target = sqlite3.connect(str(dest))
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    finally:
        source.close()


def integrity_errors(path: Path) -> list[str]:
    """What `PRAGMA integrity_check` finds wrong in the database file at path; [] when it is sound."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def schema_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    finally:
        conn.close()
    return int(version)


def upload_hashes(path: Path) -> list[str]:
    """The sha256 of every uploaded file the database at path knows."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM uploads ORDER BY sha256")]
    finally:
        conn.close()

"""Opening chatd's PostgreSQL database at start (`storage.database`, docs/scaling.md): what
chatd.server.open_database does for the SQLite file, here for PostgreSQL.

An empty database gets chatd's schema (chatd.store.pg_schema, with the search index's table);
one at this chatd's schema version is used as it is; one an older chatd left is upgraded in
place (chatd.store.pg_upgrade: one transaction, one node at a time); one written by a newer
chatd is refused.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import messages as msg_store
from . import pg, pg_schema, pg_upgrade
from . import users as users_store
from .files import StartupError, is_write_failure, write_probe
from .schema import LATEST, SchemaTooNew

if TYPE_CHECKING:
    from ..config import Config


def where(dsn: str) -> str:
    """The database a URL names, for messages: host, port and name (never a password)."""
    parts = urlsplit(dsn)
    return f"PostgreSQL {parts.hostname or 'localhost'}:{parts.port or 5432}/{parts.path.strip('/')}"


def connect(dsn: str) -> pg.PgConnection:
    try:
        return pg.connect(dsn)
    except sqlite3.Error as exc:
        raise StartupError(f"cannot reach {where(dsn)}: {exc}") from None


def prepare(conn: pg.PgConnection, dsn: str) -> int:
    """Bring the database to chatd's schema; the version it was at (0: empty)."""
    found = pg_schema.version(conn.raw)
    if found is not None and found > LATEST:
        raise SchemaTooNew(pg_upgrade.too_new(where(dsn), found))
    if found == LATEST:
        return found
    return pg_upgrade.bring_up(conn, where(dsn))


def open_database(cfg: Config, *, check_write: bool = False) -> tuple[int, int]:
    """As chatd.server.open_database: (schema version before, users)."""
    dsn = cfg.storage.database
    conn = connect(dsn)
    try:
        try:
            before = prepare(conn, dsn)
            if cfg.limits.user_storage_bytes:  # counted only while a quota is set: count afresh
                _in_transaction(conn, msg_store.recount_stored)
            if check_write:
                write_probe(conn)  # type: ignore[arg-type]
                _in_transaction(conn, msg_store.end_unfinished_streams)
            return before, users_store.count_users(conn)  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            if is_write_failure(exc):
                raise StartupError(f"{where(dsn)} cannot be written: {exc}") from None
            raise
    finally:
        conn.close()


def _in_transaction(conn: pg.PgConnection, fn: Any) -> None:
    conn.execute("BEGIN")
    try:
        fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise

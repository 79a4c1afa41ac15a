"""What a running server stored, read from its own database whichever backend the harness runs
on (tests/conftest.py, `--backend`):

    with stored(harness.server) as conn:
        conn.execute("SELECT name FROM users").fetchall()

`conn` is a read-only sqlite3 connection to the data directory's file, or a read-only
chatd.store.pg.PgConnection to the server's PostgreSQL database; both take the store's SQL
(SQLite's, translated on PostgreSQL as the store's own statements are) and return tuples, so a
test that checks storage this way runs on both backends. Blocking: call it from a worker thread
(`trio.to_thread.run_sync`) or for a short read."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chatd.server import Server


@contextmanager
def stored(server: Server) -> Iterator[Any]:
    database = server.cfg.storage.database
    if database:
        from chatd.store import pg

        conn: Any = pg.connect(database, application_name="chatd-test")
        conn.raw.execute("SET default_transaction_read_only = on")
    else:
        conn = sqlite3.connect(f"file:{server.cfg.db_path}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def rows(server: Server, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """One query's rows (blocking)."""
    with stored(server) as conn:
        return conn.execute(sql, args).fetchall()

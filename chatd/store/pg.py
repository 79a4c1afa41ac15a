"""PostgreSQL connections that the store's functions use as they use SQLite's (docs/scaling.md).

The store's functions are written once, for a DB-API connection with SQLite's SQL; on
PostgreSQL they get a `PgConnection`, which translates each statement once
(chatd.store.dialect, cached) and runs it through psycopg 3's synchronous API (psycopg has no
trio support: its connections are used from worker threads, as SQLite's readers are).

What the store relies on, kept the same:
- transactions are explicit (`BEGIN`, `COMMIT`, `ROLLBACK`, savepoints): the connection is in
  autocommit mode between them, as chatd's SQLite connections are (isolation_level None);
- `total_changes` counts the rows that statements inserted, updated or deleted, and
  `in_transaction` says whether a transaction is open;
- a cursor's `lastrowid` is the id of the row an INSERT made (the translation asks PostgreSQL
  for it with RETURNING);
- errors are sqlite3's classes (IntegrityError for a constraint, OperationalError for a
  database that cannot be reached or written, DatabaseError otherwise), the PostgreSQL error
  chained, so the store's and the writer's `except` clauses mean the same on both.

One difference the writer handles: after a failed statement PostgreSQL refuses every other
statement of the transaction until it is rolled back (to a savepoint); `failed` says so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from . import dialect

_DML = ("INSERT", "UPDATE", "DELETE")


def _changes(statement: str) -> bool:
    """Whether the rows a statement reports are rows it changed (not rows a SELECT returned)."""
    return statement.lstrip()[:6].upper().startswith(_DML)


class PgCursor:
    """The part of a DB-API cursor the store uses: the rows, rowcount and lastrowid."""

    __slots__ = ("_rows", "rowcount", "lastrowid")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int, lastrowid: int | None):
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


# SQLSTATE classes that mean "the database cannot be written now", not a bug: a connection
# lost (08), insufficient resources such as a full disk (53), an operator's intervention such as
# a shutdown (57), a system error (58), and a read-only standby (25006).
_CANNOT_WRITE = ("08", "53", "57", "58", "25006")


def _as_sqlite(exc: psycopg.Error) -> sqlite3.Error:
    if isinstance(exc, psycopg.errors.IntegrityError):
        return sqlite3.IntegrityError(str(exc))
    state = exc.sqlstate
    if state is None or state.startswith(_CANNOT_WRITE):
        # chatd.store.files.is_write_failure takes it as SQLite's I/O error: "unavailable".
        error = sqlite3.OperationalError(str(exc))
        error.sqlite_errorcode = sqlite3.SQLITE_IOERR  # type: ignore[attr-defined]
        return error
    return sqlite3.DatabaseError(str(exc))


class PgConnection:
    def __init__(self, raw: psycopg.Connection[Any]):
        self.raw = raw
        self.total_changes = 0

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    @property
    def failed(self) -> bool:
        """The open transaction had a failed statement: only a rollback runs now."""
        return self.raw.info.transaction_status == pq.TransactionStatus.INERROR

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        returning = dialect.returning_id(sql)
        statement = returning or dialect.postgres(sql)
        try:
            cur = self.raw.execute(statement, dialect.arguments(sql, params))
            rows = cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise _as_sqlite(exc) from exc
        lastrowid = None
        if returning is not None:  # RETURNING added for lastrowid: not the caller's rows
            lastrowid = rows[0][0] if rows else None
            rows = []
        if cur.rowcount > 0 and _changes(statement):
            self.total_changes += cur.rowcount
        return PgCursor(rows, cur.rowcount, lastrowid)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        statement = dialect.postgres(sql)
        try:
            with self.raw.cursor() as cur:
                cur.executemany(statement, [dialect.arguments(sql, args) for args in seq])
                rowcount = cur.rowcount
        except psycopg.Error as exc:
            raise _as_sqlite(exc) from exc
        if rowcount > 0 and _changes(statement):
            self.total_changes += rowcount
        return PgCursor([], rowcount, None)

    def close(self) -> None:
        self.raw.close()


def connect(dsn: str, *, application_name: str = "chatd") -> PgConnection:
    """A connection in autocommit mode (transactions are the store's explicit BEGIN/COMMIT)."""
    try:
        raw = psycopg.connect(dsn, autocommit=True, application_name=application_name)
    except psycopg.Error as exc:
        raise _as_sqlite(exc) from exc
    return PgConnection(raw)

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

import contextlib
import functools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from . import dialect

_DML = ("INSERT", "UPDATE", "DELETE")


@functools.lru_cache(maxsize=4096)
def _kind(statement: str) -> str:
    """"dml" when the rows a statement reports are rows it changed (not rows a SELECT returned);
    "begin" or "rollback" (a whole transaction's or to a savepoint) for those; "" otherwise. (A
    WITH is read as a SELECT: the store's only WITH that writes, chatd.store.cluster.add_event,
    runs outside the ops, where no one counts changes.)"""
    head = statement.lstrip()[:8].upper()
    if head.startswith(_DML):
        return "dml"
    if head.startswith("BEGIN"):
        return "begin"
    if head.startswith("ROLLBACK"):
        return "rollback"
    return ""


class PgCursor:
    """The part of a DB-API cursor the store uses: the rows, rowcount and lastrowid.

    Outside pipeline mode it holds its result already. In pipeline mode (PgConnection.pipeline)
    it is lazy: the statement is sent and nothing waits for its answer until the rows, the
    rowcount or the lastrowid are read; then the pipeline is synced (one round trip for every
    statement sent so far)."""

    __slots__ = ("_rows", "_rowcount", "_lastrowid", "_status", "_cur", "_conn", "_returning")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int, lastrowid: int | None, status: str | None = None, cur: Any = None, conn: PgConnection | None = None, returning: bool = False):
        self._rows = rows
        self._rowcount = rowcount
        self._lastrowid = lastrowid
        self._status = status
        self._cur = cur  # a psycopg cursor whose answer has not been read yet
        self._conn = conn
        self._returning = returning

    def _settle(self) -> None:
        cur, self._cur = self._cur, None
        assert self._conn is not None
        rows = self._conn._answer(cur)
        if self._returning:  # RETURNING added for lastrowid: not the caller's rows
            self._lastrowid = rows[0][0] if rows else None
            rows = []
        self._rows, self._rowcount, self._status = rows, cur.rowcount, cur.statusmessage

    @property
    def status(self) -> str | None:
        """PostgreSQL's command tag: "COMMIT" for a COMMIT that committed, "ROLLBACK" for one that
        ended a failed transaction (PostgreSQL rolls it back without an error)."""
        if self._cur is not None:
            self._settle()
        return self._status

    @property
    def rowcount(self) -> int:
        if self._cur is not None:
            self._settle()
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        if self._cur is not None:
            self._settle()
        return self._lastrowid

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._cur is not None:
            self._settle()
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._cur is not None:
            self._settle()
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


# SQLSTATE classes that mean "the database cannot be written now", not a bug: a connection
# lost (08), insufficient resources such as a full disk (53), an operator's intervention such as
# a shutdown (57), a system error (58), and a read-only standby (25006).
_CANNOT_WRITE = ("08", "53", "57", "58", "25006")


def _as_sqlite(exc: psycopg.Error) -> sqlite3.Error:
    error: sqlite3.Error
    state = exc.sqlstate
    if isinstance(exc, psycopg.errors.IntegrityError):
        error = sqlite3.IntegrityError(str(exc))
    elif state is None or state.startswith(_CANNOT_WRITE):
        # chatd.store.files.is_write_failure takes it as SQLite's I/O error: "unavailable".
        error = sqlite3.OperationalError(str(exc))
        error.sqlite_errorcode = sqlite3.SQLITE_IOERR  # type: ignore[attr-defined]
    else:
        error = sqlite3.DatabaseError(str(exc))
    error.sqlstate = state  # type: ignore[attr-defined]
    return error


class PgConnection:
    def __init__(self, raw: psycopg.Connection[Any]):
        self.raw = raw
        self._pipeline: psycopg.Pipeline | None = None
        # total_changes, counted lazily: the rows changed by the DML statements whose answers
        # were read, the statements sent in pipeline mode whose answers were not, and (for
        # changed_since) the number of DML statements sent and the index of the last that
        # changed a row.
        self._total = 0
        self._unread: list[tuple[int, PgCursor]] = []
        self._sent = 0
        self._last_changed = -1
        # The SQLSTATE of the first error since the transaction began or was last rolled back
        # (to a savepoint): PostgreSQL refuses every other statement until then.
        self.error_state: str | None = None

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    @property
    def failed(self) -> bool:
        """A statement of the open transaction failed: only a rollback runs now."""
        return self.error_state is not None or self.raw.info.transaction_status == pq.TransactionStatus.INERROR

    @property
    def total_changes(self) -> int:
        """Rows inserted, updated or deleted by this connection's statements (as SQLite's); in
        pipeline mode, reading it waits for the answers not read yet."""
        self._count_unread()
        return self._total

    def changes_mark(self) -> int:
        """A mark for changed_since; waits for nothing."""
        return self._sent

    def changed_since(self, mark: int) -> bool:
        """Whether a statement sent after changes_mark() returned `mark` changed a row."""
        if self._sent <= mark:
            return False  # none was sent: nothing to wait for
        self._count_unread()
        return self._last_changed >= mark

    def _count_unread(self) -> None:
        unread, self._unread = self._unread, []
        for index, cur in unread:
            try:
                changed = cur.rowcount  # the first one read syncs the pipeline: one round trip
            except sqlite3.Error:
                continue  # a statement that failed changed nothing
            self._counted(index, changed)

    def _counted(self, index: int, changed: int) -> None:
        if changed > 0:
            self._total += changed
            self._last_changed = index

    def _sent_one(self, statement: str) -> tuple[str, int]:
        kind = _kind(statement)
        if kind == "dml":
            self._sent += 1
        elif kind == "begin" or kind == "rollback":
            self.error_state = None
        return kind, self._sent - 1

    def _failure(self, exc: psycopg.Error) -> sqlite3.Error:
        """The sqlite3 error for a psycopg one, recorded; in pipeline mode the pipeline is synced,
        so that what follows runs (or is refused) as it would without it."""
        if self.error_state is None:
            self.error_state = exc.sqlstate or "?"
        if self._pipeline is not None:
            try:
                self._pipeline.sync()
            except psycopg.Error:
                pass  # the statements sent after the failed one, refused with it
        return _as_sqlite(exc)

    def _answer(self, cur: Any) -> list[tuple[Any, ...]]:
        """A pipelined statement's rows, once its answer is in (syncing the pipeline for it). An
        executemany's answers set its rowcount and command tag, never a result."""
        if cur.pgresult is None and cur.statusmessage is None:
            if self._pipeline is not None:
                try:
                    self._pipeline.sync()
                except psycopg.Error as exc:
                    raise self._failure(exc) from exc
            if cur.pgresult is None and cur.statusmessage is None:  # (that error was recorded as it was read)
                raise sqlite3.DatabaseError("the statement was not run: one before it in the transaction failed")
        return cur.fetchall() if cur.pgresult is not None and cur.description is not None else []

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        """Pipeline mode for the statements run inside: each is sent without waiting for the
        answer of those before it; a cursor waits for its own only when its rows, rowcount or
        lastrowid are read, and leaving the block waits for every answer. An error shows when an
        answer is read, perhaps that of a later statement, or when the block ends."""
        try:
            with self.raw.pipeline() as pipe:
                self._pipeline = pipe
                try:
                    yield
                finally:
                    self._pipeline = None
        except psycopg.Error as exc:
            raise self._failure(exc) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        returning = dialect.returning_id(sql)
        statement = returning or dialect.postgres(sql)
        kind, index = self._sent_one(statement)
        if self._pipeline is not None:
            try:
                cur = self.raw.execute(statement, dialect.arguments(sql, params))
            except psycopg.Error as exc:
                raise self._failure(exc) from exc
            lazy = PgCursor([], -1, None, None, cur, self, returning is not None)
            if kind == "dml":
                self._unread.append((index, lazy))
            return lazy
        try:
            cur = self.raw.execute(statement, dialect.arguments(sql, params))
            rows = cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise self._failure(exc) from exc
        lastrowid = None
        if returning is not None:  # RETURNING added for lastrowid: not the caller's rows
            lastrowid = rows[0][0] if rows else None
            rows = []
        if kind == "dml":
            self._counted(index, cur.rowcount)
        return PgCursor(rows, cur.rowcount, lastrowid, cur.statusmessage)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        statement = dialect.postgres(sql)
        kind, index = self._sent_one(statement)
        cur = self.raw.cursor()
        try:
            cur.executemany(statement, [dialect.arguments(sql, args) for args in seq])
            if self._pipeline is not None:
                lazy = PgCursor([], -1, None, None, cur, self)
                if kind == "dml":
                    self._unread.append((index, lazy))
                return lazy
            rowcount = cur.rowcount
        except psycopg.Error as exc:
            raise self._failure(exc) from exc
        if kind == "dml":
            self._counted(index, rowcount)
        cur.close()
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

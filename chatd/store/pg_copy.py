"""`chatd migrate --to postgresql://…`: a SQLite database copied into PostgreSQL, then checked
(docs/scaling.md).

The copy reads the SQLite database in one read transaction (a running server may go on
writing; the copy is the database as it was when the read began), creates chatd's PostgreSQL
schema (chatd.store.pg_schema) in an empty target database, and streams every table with
COPY, parents before the tables that refer to them. Then every table is checked: the same
number of rows, and the same digest of its rows (the sum of each row's SHA-256), computed the
same way on both sides. SQLite's search index is not copied: PostgreSQL's is made from the messages
here (chatd.store.search_pg), as the server makes it for each new message.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import pg_schema
from .db import connect

COPY_BATCH = 5000


class CopyError(Exception):
    pass


@dataclass
class TableCopy:
    name: str
    rows: int
    sha256: str


@dataclass
class Report:
    schema_version: int
    tables: list[TableCopy] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _order(conn: sqlite3.Connection, table: str) -> str:
    """ORDER BY the primary key (its columns in key order), or every column for a table without one."""
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    key = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    return ", ".join(f'"{c}"' for c in (key or [row[1] for row in info]))


def _parents_first(conn: sqlite3.Connection, tables: list[str]) -> list[str]:
    """The tables, each after the tables its foreign keys refer to (self-references aside)."""
    refers = {t: {row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{t}")') if row[2] != t and row[2] in tables} for t in tables}
    done: list[str] = []
    while len(done) < len(tables):
        ready = [t for t in tables if t not in done and refers[t] <= set(done)]
        if not ready:
            raise CopyError(f"foreign keys in a cycle among {sorted(set(tables) - set(done))}")
        done.extend(ready)
    return done


def _digest(rows: Iterable[tuple[Any, ...]]) -> tuple[int, str]:
    """(rows, digest) of a table: the sum of each row's SHA-256 (mod 2^256), so neither the
    order the rows come in nor the collation either database sorts text by can change it.
    Values as both databases give them back: ints, floats, text, bytes, NULL."""
    total = 0
    n = 0
    for row in rows:
        n += 1
        h = hashlib.sha256()
        for value in row:
            if value is None:
                h.update(b"\x00N")
            elif isinstance(value, (bytes, bytearray, memoryview)):
                raw = bytes(value)
                h.update(b"\x00B" + len(raw).to_bytes(8, "big") + raw)
            else:
                text = repr(value).encode()
                h.update(b"\x00V" + len(text).to_bytes(8, "big") + text)
        total = (total + int.from_bytes(h.digest(), "big")) % (1 << 256)
    return n, f"{total:064x}"


def copy(sqlite_path: str, dsn: str, progress: Callable[[str, int], None] = lambda table, rows: None) -> Report:
    """Copy the database at `sqlite_path` into the empty PostgreSQL database at `dsn` and check it."""
    import psycopg

    from .schema import LATEST

    src = connect(sqlite_path, readonly=True)
    try:
        version = src.execute("PRAGMA user_version").fetchone()[0]
        if version != LATEST:
            raise CopyError(f"the database is at schema version {version}, not {LATEST}: start this chatd on it once (it migrates), then copy")
        src.execute("BEGIN")  # one read transaction: one state of the database, whatever writes meanwhile
        with psycopg.connect(dsn, autocommit=False, application_name="chatd-migrate") as dst:
            if dst.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0]:
                raise CopyError("the target database is not empty: give chatd a new, empty database")
            pg_schema.create(dst)
            schema = pg_schema.derive()
            tables = _parents_first(src, list(schema.tables))
            report = Report(version)
            dst.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))  # the rows create() seeds: the copy brings them
            for table in tables:
                _copy_table(src, dst, table, progress)
            for table, column in schema.identity.items():  # new rows' ids go on after the copied ones
                dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM \"{table}\"")
            _index_messages(src, dst, progress)
            dst.commit()
            for table in tables:
                report.tables.append(_check(src, dst, table))
            return report
    finally:
        src.close()


def _copy_table(src: sqlite3.Connection, dst: Any, table: str, progress: Callable[[str, int], None]) -> None:
    columns = _columns(src, table)
    names = ", ".join(f'"{c}"' for c in columns)
    rows = src.execute(f'SELECT {names} FROM "{table}" ORDER BY {_order(src, table)}')
    done = 0
    with dst.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as out:
        while batch := rows.fetchmany(COPY_BATCH):
            for row in batch:
                out.write_row(row)
            done += len(batch)
            progress(table, done)


def _index_messages(src: sqlite3.Connection, dst: Any, progress: Callable[[str, int], None]) -> None:
    """PostgreSQL's search index of every copied message (messages_search)."""
    from . import search_pg
    from .messages import indexed_text

    rows = src.execute("SELECT id, conv_id, type, content FROM messages ORDER BY id")
    done = 0
    with dst.cursor().copy("COPY messages_search (id, conv_id, tsv) FROM STDIN") as out:
        while batch := rows.fetchmany(COPY_BATCH):
            for msg_id, conv_id, msg_type, content in batch:
                vector = search_pg.tsvector(indexed_text(msg_type, content))
                if vector:
                    out.write_row((msg_id, conv_id, vector))
            done += len(batch)
            progress("messages_search", done)


def _check(src: sqlite3.Connection, dst: Any, table: str) -> TableCopy:
    names = ", ".join(f'"{c}"' for c in _columns(src, table))
    mine = _digest(src.execute(f'SELECT {names} FROM "{table}"'))
    with dst.cursor(name=f"check_{table}") as cur:  # server-side: the rows stream
        cur.execute(f'SELECT {names} FROM "{table}"')
        theirs = _digest(cur)
    if mine != theirs:
        raise CopyError(f"{table}: {mine[0]} rows in SQLite and {theirs[0]} in PostgreSQL, or their contents differ: the copy is not the same")
    return TableCopy(table, mine[0], mine[1])

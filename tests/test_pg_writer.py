"""The writer and the readers on PostgreSQL (chatd.store.pg, docs/scaling.md): group commit, an
op that fails alone, a batch rerun with savepoints when an op fails after writing, and reads in
worker threads: the same behaviour the SQLite writer has (tests/test_writer.py), on a real
PostgreSQL cluster (tests/postgres.py)."""

from __future__ import annotations

import sqlite3

import pytest
import trio

from chatd.errors import ChatError
from chatd.store import pg
from chatd.store.readers import Readers
from chatd.store.writer import Writer


@pytest.fixture
def dsn(pg_dsn):
    conn = pg.connect(pg_dsn)
    conn.raw.execute("CREATE TABLE messages (id BIGINT PRIMARY KEY)")
    conn.raw.execute("CREATE TABLE search_state (indexed_upto BIGINT NOT NULL)")
    conn.raw.execute("INSERT INTO search_state VALUES (0)")
    conn.raw.execute("CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, owner BIGINT NOT NULL, body TEXT NOT NULL UNIQUE)")
    conn.close()
    return pg_dsn


def add(ctx, owner, body):
    cur = ctx.conn.execute("INSERT INTO notes (owner, body) VALUES (?, ?)", (owner, body))
    return cur.rowcount


def add_then_fail(ctx, body):
    ctx.conn.execute("INSERT INTO notes (owner, body) VALUES (?, ?)", (9, body))
    raise ChatError("conflict", "after writing")


def count(conn, owner=None):
    if owner is None:
        return conn.execute("SELECT count(*) FROM notes").fetchone()[0]
    return conn.execute("SELECT count(*) FROM notes WHERE owner = ?", (owner,)).fetchone()[0]


async def test_ops_commit_in_batches_and_a_failing_op_fails_alone(dsn):
    writer = Writer("", dsn=dsn)
    readers = Readers("", size=2, dsn=dsn)
    readers.open()
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        results: dict[int, object] = {}

        async def one(k):
            try:
                results[k] = await writer.submit(add, 1, f"note {k}")
            except (ChatError, sqlite3.Error) as exc:
                results[k] = exc

        async with trio.open_nursery() as senders:
            for k in range(50):
                senders.start_soon(one, k)
        assert all(results[k] == 1 for k in range(50))
        assert writer.batches < 50  # grouped
        assert await readers.read(count, 1) == 50

        # A duplicate body: a constraint error on PostgreSQL fails the transaction, so the
        # batch is run again with a savepoint per op; the others commit.
        async with trio.open_nursery() as senders:
            senders.start_soon(one, 100)
            senders.start_soon(one, 0)  # "note 0" again
            senders.start_soon(one, 101)
        assert results[100] == 1 and results[101] == 1
        assert isinstance(results[0], ChatError) and results[0].code == "internal"
        with pytest.raises(ChatError) as exc:
            await writer.submit(add_then_fail, "rolled back")
        assert exc.value.code == "conflict"
        assert await readers.read(count) == 52  # nothing of the failed ops
        writer.close()
    readers.close()

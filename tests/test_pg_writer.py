"""The writer and the readers on PostgreSQL (chatd.store.pg, docs/scaling.md): group commit, an
op that fails alone, a batch rerun with savepoints when an op fails after writing, and reads in
worker threads: the same behaviour the SQLite writer has (tests/test_writer.py), on a real
PostgreSQL cluster (tests/postgres.py), batches pipelined (chatd.store.pg_batch). And what only
several writers on one database meet: a deadlock between two writers' batches, run again;
PostgreSQL's own deadlock and serialization errors; the same client_msg_id sent through two
nodes at once."""

from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest
import trio

from chatd.errors import ChatError
from chatd.store import pg
from chatd.store.readers import Readers
from chatd.store.writer import Writer

from .conftest import Harness, make_config, start_server


def _run(dsn, *statements):
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    return dsn


@pytest.fixture
def dsn(pg_dsn):
    return _run(
        pg_dsn,
        "CREATE TABLE messages (id BIGINT PRIMARY KEY)",
        "CREATE TABLE search_state (indexed_upto BIGINT NOT NULL)",
        "INSERT INTO search_state VALUES (0)",
        "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, owner BIGINT NOT NULL, body TEXT NOT NULL UNIQUE)",
    )


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


# -- several writers on one database (several nodes): deadlocks, serialization failures --------


@pytest.fixture
def convs(dsn):
    return _run(
        dsn,
        "CREATE TABLE convs (id BIGINT PRIMARY KEY, last_seq BIGINT NOT NULL)",
        "INSERT INTO convs VALUES (1, 0), (2, 0)",
        "CREATE TABLE items (conv BIGINT NOT NULL, seq BIGINT NOT NULL, writer TEXT NOT NULL, UNIQUE (conv, seq))",
        # An error with the SQLSTATE asked for, raised by PostgreSQL itself.
        "CREATE FUNCTION raise_state(state TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'as asked' USING ERRCODE = state; END $$",
    )


def next_seq(ctx, conv, writer):
    """A conversation's next seq, as chatd.store.messages.insert takes it (the row stays locked)."""
    (seq,) = ctx.conn.execute("UPDATE convs SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", (conv,)).fetchone()
    ctx.conn.execute("INSERT INTO items (conv, seq, writer) VALUES (?, ?, ?)", (conv, seq, writer))
    return seq


class Once:
    """Both writers' threads meet here the first time only: each then holds its first lock."""

    def __init__(self):
        self.barrier = threading.Barrier(2, timeout=30)
        self.met: set[str] = set()

    def __call__(self, who):
        if who not in self.met:
            self.met.add(who)
            self.barrier.wait()


def two_convs(ctx, order, writer, meet=None):
    first = next_seq(ctx, order[0], writer)
    if meet is not None:
        meet(writer)  # the other writer's batch holds the other conversation now
    return first, next_seq(ctx, order[1], writer)


async def test_two_writers_locking_conversations_in_opposite_orders_both_commit_every_op(convs):
    """Writer a takes conversation 1 then 2, writer b 2 then 1, at once: PostgreSQL finds the
    deadlock and aborts one batch; that writer runs it again; every op succeeds, no seq twice,
    none skipped."""
    a, b = Writer("", dsn=convs, node=1), Writer("", dsn=convs, node=2)
    meet = Once()
    results: dict[tuple[str, int], object] = {}

    async def one(writer, name, k, order):
        results[(name, k)] = await writer.submit(two_convs, order, name, meet if k == 0 else None)

    async with trio.open_nursery() as nursery:
        await nursery.start(a.run)
        await nursery.start(b.run)
        async with trio.open_nursery() as senders:  # one op in each writer's batch: they meet
            senders.start_soon(one, a, "a", 0, (1, 2))
            senders.start_soon(one, b, "b", 0, (2, 1))
        # (the batch run again may meet the other again, before the other takes its lock)
        assert a.retries + b.retries >= 1 and "40P01" in {a.last_retry, b.last_retry}
        async with trio.open_nursery() as senders:  # then batches of several, in either order
            for k in range(1, 10):
                senders.start_soon(one, a, "a", k, (1, 2))
                senders.start_soon(one, b, "b", k, (2, 1))
        a.close()
        b.close()
    assert len(results) == 20
    conn = pg.connect(convs)
    for conv in (1, 2):
        seqs = [r[0] for r in conn.raw.execute("SELECT seq FROM items WHERE conv = %s ORDER BY seq", (conv,))]
        assert seqs == list(range(1, 21))
        assert conn.raw.execute("SELECT last_seq FROM convs WHERE id = %s", (conv,)).fetchone()[0] == 20
    got = sorted(s for pair in results.values() for s in pair)  # what the ops answered: the stored seqs
    assert got == sorted(list(range(1, 21)) * 2)
    conn.close()


def deadlocked_once(ctx, seen, body):
    ctx.conn.execute("INSERT INTO notes (owner, body) VALUES (?, ?)", (3, body))
    if body not in seen:
        seen.add(body)
        ctx.conn.execute("SELECT raise_state(?)", ("40P01",)).fetchone()
    return body


def always_deadlocked(ctx):
    ctx.conn.execute("SELECT raise_state(?)", ("40001",)).fetchone()


async def test_a_batch_that_meets_a_deadlock_is_run_again_whole(convs):
    writer = Writer("", dsn=convs)
    seen: set[str] = set()
    out: dict[str, object] = {}

    async def one(key, fn, *args):
        try:
            out[key] = await writer.submit(fn, *args)
        except ChatError as exc:
            out[key] = exc

    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        await writer.submit(add, 3, "before")
        async with trio.open_nursery() as senders:
            senders.start_soon(one, "x", add, 3, "x")
            senders.start_soon(one, "d", deadlocked_once, seen, "d")
            senders.start_soon(one, "y", add, 3, "y")
        assert out == {"x": 1, "d": "d", "y": 1}
        assert writer.retries >= 1 and writer.last_retry == "40P01" and writer.reruns == 0
        # One that meets a serialization failure every time: whole-batch retries, then the
        # savepoint pass, where it alone fails (unavailable, not internal); the others commit.
        retries = writer.retries
        async with trio.open_nursery() as senders:
            senders.start_soon(one, "z", add, 3, "z")
            senders.start_soon(one, "s", always_deadlocked)
        assert out["z"] == 1
        assert isinstance(out["s"], ChatError) and out["s"].code == "unavailable"
        assert writer.retries > retries and writer.reruns == 1
        writer.close()
    conn = pg.connect(convs)
    bodies = sorted(r[0] for r in conn.raw.execute("SELECT body FROM notes WHERE owner = 3"))
    assert bodies == ["before", "d", "x", "y", "z"]  # each once
    conn.close()


# -- the same send on two nodes at once ------------------------------------------------------


async def _locks_waited(admin, count):
    """Until `count` writers wait for a row lock (the conversation's, which the test holds)."""
    with trio.fail_after(30):
        while True:
            (waiting,) = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chatd-writer' AND wait_event_type = 'Lock'"
            ).fetchone()
            if waiting >= count:
                return
            await trio.sleep(0.01)


async def test_one_client_msg_id_sent_on_two_nodes_at_once_is_one_message(tmp_path, pg_dsn):
    """A client that reconnected to another node resends while its first send is still being
    written: both nodes looked for the client_msg_id before either stored it. One message is
    stored, and both acks name it (the second a duplicate); the conversation's seqs have no gap."""
    async with trio.open_nursery() as nursery:
        nodes = []
        for node in range(2):
            server = await start_server(nursery, make_config(tmp_path / f"node{node}", storage={"database": pg_dsn, "node": node}))
            nodes.append(Harness(server, nursery))
        try:
            await _resend_on_two_nodes(nodes, pg_dsn)
        finally:
            for harness in nodes:
                harness.server.stop()


async def _resend_on_two_nodes(nodes, pg_dsn):
    alice = await nodes[0].add_user("alice")
    bob = await nodes[0].add_user("bob")
    async with nodes[0].client("alice") as a0, nodes[1].client("alice") as a1:
        first = await a0.request("chat_dm_send", {"peer": bob, "content": {"type": "text", "text": "one"}})
        conv_id = first["conv_id"]
        acks: list[dict] = []

        async def send(client):
            acks.append(await client.request("chat_dm_send", {"peer": bob, "content": {"type": "text", "text": "two"}, "client_msg_id": "resent"}))

        with psycopg.connect(pg_dsn, autocommit=True) as admin, psycopg.connect(pg_dsn) as holder:
            # Both sends look the client_msg_id up, then wait for the conversation's row.
            holder.execute("SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", (conv_id,))
            async with trio.open_nursery() as senders:
                senders.start_soon(send, a0)
                senders.start_soon(send, a1)
                await _locks_waited(admin, 2)
                holder.commit()
            stored = admin.execute("SELECT id, seq FROM messages WHERE sender_id = %s AND client_msg_id = 'resent'", (alice,)).fetchall()
            last_seq = admin.execute("SELECT last_seq FROM conversations WHERE id = %s", (conv_id,)).fetchone()[0]
        assert len(stored) == 1 and last_seq == 2
        assert sorted(ack["duplicate"] for ack in acks) == [False, True]
        assert {(ack["id"], ack["seq"]) for ack in acks} == {stored[0]}


def unique_twice(ctx, calls, body):
    """Meets a unique violation (PostgreSQL's own) the first two times, as an op whose key another
    node committed since it looked, in the pipelined pass and again in the savepoint pass."""
    calls.append(body)
    ctx.conn.execute("INSERT INTO notes (owner, body) VALUES (?, ?)", (4, body))
    if len(calls) <= 2:
        ctx.conn.execute("SELECT raise_state(?)", ("23505",)).fetchone()
    return len(calls)


async def test_an_op_meeting_a_unique_violation_in_the_savepoint_pass_runs_once_more(convs):
    writer = Writer("", dsn=convs)
    calls: list[str] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        assert await writer.submit(unique_twice, calls, "u") == 3
        assert writer.reruns == 1
        with pytest.raises(ChatError) as exc:  # a real duplicate fails, once run again
            await writer.submit(add, 4, "u")
        assert exc.value.code == "internal"
        writer.close()
    conn = pg.connect(convs)
    assert [r[0] for r in conn.raw.execute("SELECT body FROM notes WHERE owner = 4")] == ["u"]
    conn.close()


def many_then_fail(ctx, bodies):
    ctx.conn.executemany("INSERT INTO notes (owner, body) VALUES (?, ?)", [(5, body) for body in bodies])
    raise ChatError("conflict", "after writing several rows")


async def test_an_op_that_fails_after_an_executemany_leaves_nothing(dsn):
    """In pipeline mode an executemany's rows are counted when asked (its answers set no result):
    the op changed rows, so the batch is run again with savepoints and the rows are undone."""
    writer = Writer("", dsn=dsn)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        async with trio.open_nursery() as senders:
            senders.start_soon(writer.submit, add, 5, "kept")
            with pytest.raises(ChatError) as exc:
                await writer.submit(many_then_fail, ["m1", "m2"])
        assert exc.value.code == "conflict" and writer.reruns == 1
        writer.close()
    conn = pg.connect(dsn)
    assert [r[0] for r in conn.raw.execute("SELECT body FROM notes WHERE owner = 5")] == ["kept"]
    conn.close()

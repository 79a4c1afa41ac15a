"""The writer: it commits on the trio thread with SQLite's automatic checkpoint off, so it
checkpoints the WAL on its own thread; with durability full it wakes a batch's submitters only
after a sync of the WAL that began after the batch committed; a failing op or batch fails
alone; and the search index follows the messages."""

from __future__ import annotations

import pytest
import trio

from chatd.errors import ChatError
from chatd.protocol import content as ct
from chatd.store import dm, messages, schema, search
from chatd.store import users as users_store
from chatd.store import checkpoints as checkpoints_mod
from chatd.store.db import IdGen, connect, now_ms
from chatd.store.writer import WriteCtx, Writer, _Op


@pytest.mark.sqlite_only(reason="checkpoints SQLite's WAL file; PostgreSQL checkpoints its own")
@pytest.mark.parametrize("config_overrides", [{"storage": {"durability": "full"}}, {"storage": {"durability": "normal"}}])
async def test_the_writer_checkpoints_the_wal(harness, users):
    writer = harness.server.writer
    async with harness.client("alice") as a1:
        for n in range(checkpoints_mod.CHECKPOINT_BATCHES + 20):  # one at a time: each is its own batch
            await a1.request("chat_dm_send", {"peer": users["bob"], "content": {"type": "text", "text": f"m{n}"}})
        with trio.fail_after(10):
            while writer.checkpointer.checkpoints == 0:  # the checkpoint runs on the writer thread
                await trio.sleep(0.005)
    busy, wal_pages, copied = writer.checkpointer.last
    # Sends that commit while the checkpoint runs add pages it does not copy (PASSIVE).
    assert busy == 0 and wal_pages > 0 and 0 < copied <= wal_pages


@pytest.mark.sqlite_only(reason="chatd's own fdatasync of SQLite's WAL; on PostgreSQL a commit is durable when PostgreSQL answers it")
async def test_no_submitter_is_woken_before_a_sync_that_began_after_its_commit(harness, users, monkeypatch):
    """The default durability, full: 6 connections send and edit concurrently. Each op is
    stamped with the number of WAL syncs begun when its batch committed; when it is woken
    (and only then may its handler answer: the ack) a later sync must have returned."""
    writer = harness.server.writer
    wal = writer.syncer.wal
    assert wal is not None and harness.server.cfg.storage.durability == "full"
    stamps: dict[int, int] = {}
    woken: list[tuple[int, int]] = []  # (syncs begun at the commit, syncs returned at the wake)
    execute, done = Writer._execute, _Op.done

    def stamped_execute(self, batch):
        execute(self, batch)
        for op in batch:
            stamps[id(op)] = wal.started

    def checked_done(self):
        if self.task is not None and id(self) in stamps:
            woken.append((stamps.pop(id(self)), wal.syncs))
        done(self)

    monkeypatch.setattr(Writer, "_execute", stamped_execute)
    monkeypatch.setattr(_Op, "done", checked_done)

    async def sender(name: str, peer: int) -> None:
        async with harness.client(name) as c:
            for n in range(40):
                sent = await c.request("chat_dm_send", {"peer": peer, "content": {"type": "text", "text": f"{name} {n}"}})
                if n % 4 == 0:
                    await c.request("chat_dm_edit", {"peer": peer, "msg_id": sent["id"], "content": {"type": "text", "text": "edited"}})

    async with trio.open_nursery() as nursery:
        for name, peer in (("alice", "bob"), ("bob", "carol"), ("carol", "alice")) * 2:
            nursery.start_soon(sender, name, users[peer])
    assert len(woken) >= 6 * 50
    early = [(begun, returned) for begun, returned in woken if returned <= begun]
    assert not early, f"{len(early)} submitters woken before their batch was synced: {early[:5]}"


async def test_a_failing_op_fails_alone_in_its_batch(tmp_path):
    """Three ops queued together: the middle one fails, before writing or after writing;
    the other two commit either way, and nothing of the failed one is kept."""
    path = tmp_path / "w.sqlite3"
    conn = connect(path)
    schema.migrate(conn)
    conn.close()

    def add(ctx, name):
        return users_store.create_user(ctx.conn, name, "hash")

    def add_then_fail(ctx, name):
        users_store.create_user(ctx.conn, name, "hash")
        raise ChatError("conflict", "changed a row, then failed")

    def fail_before_writing(ctx, name):
        raise ChatError("not_found", "failed before writing")

    writer = Writer(str(path))
    results: dict[str, object] = {}

    async def submit(fn, name):
        try:
            results[name] = await writer.submit(fn, name)
        except ChatError as err:
            results[name] = err.code

    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for middle in (fail_before_writing, add_then_fail):
            async with trio.open_nursery() as senders:
                for fn, name in ((add, f"a-{middle.__name__}"), (middle, f"b-{middle.__name__}"), (add, f"c-{middle.__name__}")):
                    senders.start_soon(submit, fn, name)
        writer.close()

    assert results["b-fail_before_writing"] == "not_found" and results["b-add_then_fail"] == "conflict"
    assert writer.reruns == 1  # only a failure after writing rolls a batch back
    conn = connect(path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM users")}
    finally:
        conn.close()
    assert names == {"a-fail_before_writing", "c-fail_before_writing", "a-add_then_fail", "c-add_then_fail"}
    assert results["a-add_then_fail"] != results["c-add_then_fail"]  # ids of committed rows


async def test_search_index_follows_the_messages(harness, users):
    """Messages are indexed within INDEX_DELAY_S of their commit, without a search asking."""
    writer = harness.server.writer
    async with harness.client("alice") as a1:
        out = await a1.request("chat_dm_send", {"peer": users["bob"], "content": {"type": "text", "text": "indexed soon"}})
        assert writer.indexer.indexed_upto < out["id"]
        with trio.fail_after(5):
            while writer.indexer.indexed_upto < out["id"]:
                await trio.sleep(0.005)


async def test_writer_indexes_what_a_crash_left(tmp_path):
    """Messages committed before a crash but not yet indexed are indexed when the writer starts."""
    path = tmp_path / "w.sqlite3"
    conn = connect(path)
    schema.migrate(conn)
    ctx = WriteCtx(conn, IdGen())
    ctx.now = now_ms()
    a, b = users_store.create_user(conn, "a", "h"), users_store.create_user(conn, "b", "h")
    conv = dm.create_conv(ctx, a, b)
    body = ct.dumps(ct.Text(text="left behind"))
    last = messages.insert(ctx, conv, messages.NewMessage(a, "text", body, "left behind", None, None, []))["id"]
    assert search.indexed_upto(conn) < last
    conn.close()

    writer = Writer(str(path))
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        with trio.fail_after(5):
            while writer.indexer.indexed_upto < last:
                await trio.sleep(0.005)
        writer.close()
    conn = connect(path)
    try:
        match = search.build_query("behind")
        assert search.search_ids(conn, a, match, kind="dm", conv_id=None, before_id=None, limit=5) == [last]
    finally:
        conn.close()


async def test_a_batch_that_breaks_the_transaction_fails_alone(tmp_path):
    """An op that ends the transaction itself (a bug) and then raises leaves the writer unable to
    roll back: that batch fails with `unavailable`, and the writer goes on with the next one."""
    path = tmp_path / "w.sqlite3"
    conn = connect(path)
    schema.migrate(conn)
    conn.close()

    def breaks_the_transaction(ctx, name):
        users_store.create_user(ctx.conn, name, "hash")
        ctx.conn.execute("ROLLBACK")
        raise ValueError("a bug")

    def add(ctx, name):
        return users_store.create_user(ctx.conn, name, "hash")

    writer = Writer(str(path))
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        try:
            await writer.submit(breaks_the_transaction, "x")
        except ChatError as err:
            assert err.code == "unavailable"
        else:
            raise AssertionError("the broken batch succeeded")
        assert await writer.submit(add, "y") > 0
        writer.close()
    conn = connect(path)
    try:
        assert [r[0] for r in conn.execute("SELECT name FROM users")] == ["y"]
    finally:
        conn.close()


@pytest.mark.sqlite_only(reason="a failed fdatasync of SQLite's WAL; on PostgreSQL the sync is PostgreSQL's, within its commit")
async def test_a_failed_sync_fails_its_writes_and_pushes_nothing(harness, users, monkeypatch):
    """durability full: the disk refuses one fdatasync (an I/O error). The send it covered is
    answered `unavailable` and pushed to nobody, and the database is reported unwritable; the
    next sync succeeds, and resending the same client_msg_id is safe: the message is there once."""
    writer = harness.server.writer
    wal = writer.syncer.wal
    sync = wal.sync
    failures = [OSError(5, "Input/output error")]

    def failing_sync():
        if failures:
            raise failures.pop()
        sync()

    async with harness.client("alice") as a1, harness.client("bob") as b1:
        monkeypatch.setattr(wal, "sync", failing_sync)
        data = {"peer": users["bob"], "content": {"type": "text", "text": "lost?"}, "client_msg_id": "c-1"}
        frame = await a1.call("chat_dm_send", data)
        assert frame["ok"] is False and frame["error"]["code"] == "unavailable", frame
        assert writer.health.error is not None and "syncing the WAL failed" in writer.health.error
        # Synced again: the resend gets the message, once (committed before the sync failed).
        out = await a1.request("chat_dm_send", data)
        page = await b1.request("chat_dm_history", {"peer": users["alice"]})
        assert [m["client_msg_id"] for m in page["messages"]] == ["c-1"]
        assert page["messages"][0]["id"] == out["id"]
        assert out["duplicate"] is True  # it had been committed before the sync failed
        # Neither answer pushed it: the failed one never became durable, the duplicate is not new.
        assert (await b1.request("ping"))["pong"] is True  # a push to bob would have come first
        assert b1.pending_pushes("chat_message") == []
    assert writer.health.error is None  # the next commits cleared it

"""The single writer: one task, one connection, group commit.

Handlers submit a write op (a plain function taking the connection); the
writer runs every op queued so far in one transaction, commits once, and only
then wakes the submitters. An op that raises fails alone: if it changed no row
the others simply go on; if it did, the batch is rolled back and run again
with a savepoint per op. The queue is bounded, so a flood
of writes slows the submitters instead of growing memory.

On PostgreSQL a batch runs on the writer's thread, pipelined, and is run again whole after a
deadlock with another node's writer (chatd.store.pg_batch). On SQLite
batches run on the trio thread: the connection runs with `synchronous = NORMAL`,
so a commit only appends to the WAL file in the page cache, and two thread
wake-ups per batch would cost more than the commit itself (docs/architecture.md).
What waits for the disk runs on the writer's threads: WAL checkpoints
(chatd.store.checkpoints) on one, and with durability `full` the sync of the WAL
after each commit (chatd.store.walsync) on the other, while the next batch runs.

Right after a commit, `on_commit` (chatd.core.delivery) applies the batch's
effects on memory and works out who each push goes to, in commit order; then,
with `normal` at once and with `full` once the batch is on disk, `after_commit`
wakes the submitters and delivers the pushes, in commit order. The search
index's schedule is chatd.store.indexer's. The writer itself only batches,
commits, syncs and wakes.

Write health (`health`, for /readyz): every batch that tries to write records whether
its commit reached the database; `probe_loop` commits a small write that changes
nothing (chatd.store.files.probe_op) when nothing was written for a while or the last
write failed, so that a failure shows, and so does the recovery, without any traffic.
An op that fails because the database cannot be written (read-only, disk full, I/O
error) fails with `unavailable`, not `internal`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..errors import ChatError
from ..metrics import BATCH_BUCKETS, LATENCY_BUCKETS, Histogram
from . import pg_batch, search
from .checkpoints import Checkpointer
from .db import IdGen, connect, now_ms
from .files import is_write_failure, probe_op
from .indexer import ALL, INDEX_BATCH, SearchIndexer
from .jobthread import JobThread
from .walsync import Syncer

log = logging.getLogger("chatd.writer")



class WriteCtx:
    """What an op gets besides the connection: the commit time and the id generator."""

    __slots__ = ("conn", "ids", "now")

    def __init__(self, conn: sqlite3.Connection, ids: IdGen):
        self.conn = conn
        self.ids = ids
        self.now = 0


def _uncancellable(_: Any) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.FAILED


class _Op:
    __slots__ = ("fn", "args", "result", "error", "task", "origin")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], task: trio.lowlevel.Task | None = None, origin: Any = None):
        self.fn = fn
        self.args = args
        self.result: Any = None
        self.error: BaseException | None = None
        self.task = task  # the submitter, waiting for the commit
        self.origin = origin  # the connection whose request this is (effects skip it), or None

    def done(self) -> None:
        """Wake the submitter (once)."""
        task, self.task = self.task, None
        if task is not None:
            trio.lowlevel.reschedule(task)


class WriteHealth:
    """Whether the last write reached the database; times are time.monotonic()."""

    def __init__(self) -> None:
        self.error: str | None = None  # why the last write failed; None once one succeeds
        self.last_ok = time.monotonic()  # the last commit that wrote something
        self.probe_since: float | None = None  # a probe is waiting for the writer since then

    def ok(self) -> None:
        if self.error is not None:
            log.warning("the database can be written again")
        self.error = None
        self.last_ok = time.monotonic()

    def failed(self, reason: str) -> None:
        if self.error is None:
            log.error("the database cannot be written: %s", reason)
        self.error = reason

    def problem(self, stuck_after_s: float) -> str | None:
        """Why the server is not ready to write, or None."""
        if self.error is not None:
            return f"the database cannot be written: {self.error}"
        if self.probe_since is not None and time.monotonic() - self.probe_since > stuck_after_s:
            return f"a write has waited over {stuck_after_s:g} s for the writer"
        return None


def _probe(ctx: WriteCtx) -> None:
    probe_op(ctx.conn)


class Writer:
    def __init__(self, path: str, *, durability: str = "normal", batch_max: int = 512, queue_max: int = 4096, cache_mb: int = 16, dsn: str = "", node: int | None = None):
        self.path = path
        # PostgreSQL (docs/scaling.md): a batch waits for the network, so it runs on the
        # writer's thread, not the trio thread; there are no WAL checkpoints or syncs to run.
        # Message ids carry the node's number (chatd.store.db.IdGen), and before_commit(conn,
        # batch, now) adds what the other nodes must hear of (chatd.services.cluster), in the
        # batch's transaction (chatd.store.pg_batch).
        self.dsn = dsn
        self.node = node
        self.before_commit: Callable[[Any, list[_Op], int], None] | None = None
        self.cache_mb = cache_mb
        # on_commit(batch) -> plan, a list: right after the commit, in commit order
        # (chatd.core.delivery); after_commit(ops, plan): once durable, in commit order, wakes the
        # submitters (op.done()) and delivers the effects. Batches synced together are woken
        # together: their ops and plans concatenated. Without hooks the submitters are woken.
        self.on_commit: Callable[[list[_Op]], list[Any]] | None = None
        self.after_commit: Callable[[list[_Op], list[Any]], Awaitable[None]] | None = None
        self.durability = durability
        self.batch_max = batch_max
        self._send, self._recv = trio.open_memory_channel[_Op](queue_max)
        self._conn: sqlite3.Connection | None = None
        self.checkpointer = Checkpointer(path, durability)
        self._thread = JobThread("chatd-writer")  # open, close, checkpoints
        self.health = WriteHealth()
        # durability full: committed batches wait here for the sync of the WAL (see walsync).
        self.syncer = Syncer(path, self._wake, self.health) if durability == "full" and not dsn else None
        self._ctx: WriteCtx | None = None
        self._mid_batch = False  # PostgreSQL: the writer's thread runs a batch now
        self._side: Any = None  # PostgreSQL: read_now's connection while it does
        self.batches = 0
        self.ops = 0
        self.reruns = 0  # batches rolled back and run again because an op failed after writing
        # PostgreSQL (chatd.store.pg_batch): batches (or ops) run again after a deadlock or a
        # serialization failure with another node's writer, and the last such error's SQLSTATE.
        self.retries = 0
        self.last_retry = ""
        self._batch_size = 1.0  # a moving average of the ops per batch
        self.batch_ops = Histogram(BATCH_BUCKETS)  # for /metrics (chatd.metrics)
        self.commit_seconds = Histogram(LATENCY_BUCKETS)
        self.indexer = SearchIndexer()

    async def submit(self, fn: Callable[..., Any], *args: Any, origin: Any = None) -> Any:
        """Run fn(ctx, *args) in the next transaction; return its result once committed.

        An op that returns a chatd.core.effects.Outcome has its effects delivered by
        after_commit, in commit order; `origin` is the connection that asked."""
        op = _Op(fn, args, trio.lowlevel.current_task(), origin)
        try:
            try:
                self._send.send_nowait(op)
            except trio.WouldBlock:
                await self._send.send(op)  # the queue is full: wait for room
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ChatError("unavailable", "the server is shutting down") from None
        # The op is queued: it will be committed or failed even if we are cancelled now, so the
        # wait cannot be cancelled (as under a shield, without a cancel scope per op); a cancelled
        # submitter sees the cancellation at its next checkpoint.
        await trio.lowlevel.wait_task_rescheduled(_uncancellable)
        if op.error is not None:
            raise op.error
        return op.result

    def close(self) -> None:
        """Stop taking ops; run() finishes what is queued, then returns."""
        self._send.close()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run batches, one at a time, until close() and the queue is empty."""
        self._thread.start()
        if self.syncer is not None:
            self.syncer.start()
        try:
            await self._thread.call(self._open)
            task_status.started()
            self._schedule_index()  # messages a crash left unindexed
            async with trio.open_nursery() as nursery:
                if self.syncer is not None:
                    nursery.start_soon(self.syncer.run)
                try:
                    await self._batches()
                finally:
                    if self.syncer is not None:
                        self.syncer.close()  # its loop ends once it has woken what it holds
        finally:
            self._fail_queued()
            with trio.CancelScope(shield=True):
                await self._thread.call(self._close_conn)
            self._thread.stop()
            if self.syncer is not None:
                self.syncer.stop()

    async def _batches(self) -> None:
        # (The receiving end stays open: run() fails what is still queued, then closes it.)
        while True:
            try:
                first = await self._next_op()
            except trio.EndOfChannel:
                break
            batch = [] if first is None else [first]
            while len(batch) < self.batch_max:
                try:
                    batch.append(self._recv.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            index_op = None
            due = self.indexer.op_if_due(trio.current_time())
            if due is not None:
                index_op = _Op(*due)
                batch.append(index_op)  # committed with this batch: one commit for both
            if self.dsn:
                # Shielded: the batch's submitters wait for it uncancellably (submit), so it
                # must be answered even when the writer is cancelled meanwhile.
                self._mid_batch = True
                try:
                    with trio.CancelScope(shield=True):
                        await self._thread.call(lambda: self._execute(batch))
                finally:
                    self._mid_batch = False
            else:
                self._execute(batch)
            if index_op is not None:
                self._indexed(index_op)
            self._schedule_index()
            plan = self._planned(batch)
            if self.syncer is None:
                await self._wake(batch, plan)
            else:
                # One op at a time lately, and none queued: no other write to overlap the sync with.
                self._batch_size += (len(batch) - self._batch_size) / 8
                alone = self._batch_size < 1.5 and self._recv.statistics().current_buffer_used == 0
                await self.syncer.committed(batch, plan, writer_idle=alone)
        # Closed and drained: index what is left, so that a restart finds nothing to do.
        if self._ctx is not None and self.indexer.waiting(self._ctx.ids.last):
            self._execute([_Op(search.op_index_pending, (ALL,))])

    async def probe_loop(self, interval_s: float) -> None:
        """Every interval, unless something was written since the last one, commit a probe."""
        while True:
            await trio.sleep(interval_s)
            if self.health.error is None and time.monotonic() - self.health.last_ok < interval_s:
                continue
            self.health.probe_since = time.monotonic()
            try:
                await self.submit(_probe)
            except ChatError:
                pass  # recorded by the batch
            finally:
                self.health.probe_since = None

    async def index_now(self) -> None:
        """Return once every message stored so far is in the search index (searches call this
        first, so that they find every message acknowledged before them)."""
        if self._ctx is None:
            return
        target = self._ctx.ids.last
        while self.indexer.indexed_upto < target:
            result = await self.submit(search.op_index_pending, INDEX_BATCH)
            self.indexer.committed(result, trio.current_time(), self._ctx.ids.last)

    def _planned(self, batch: list[_Op]) -> list[Any]:
        return [] if self.on_commit is None else self.on_commit(batch)

    async def _wake(self, batch: list[_Op], plan: list[Any]) -> None:
        if self.after_commit is not None:
            await self.after_commit(batch, plan)
        else:
            for op in batch:
                op.done()

    def queued(self) -> int:
        """Ops waiting for the next batch."""
        return self._recv.statistics().current_buffer_used

    def read_now(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(conn, *args) on the writer's connection, now. Only between batches (on_commit and
        after_commit), when the connection is idle: a delivery that needs a list the member
        cache lacks. On PostgreSQL a call while the writer's thread runs a batch (its connection
        busy, perhaps pipelined) reads on a connection of its own: what is committed."""
        assert self._conn is not None
        if self._mid_batch:
            if self._side is None:
                from . import pg

                self._side = pg.connect(self.dsn, application_name="chatd-writer-side")
            return fn(self._side, *args)
        return fn(self._conn, *args)

    async def _next_op(self) -> _Op | None:
        """The next queued op, or None when the search index is due first."""
        if self.indexer.due_at is None:
            return await self._recv.receive()
        try:  # under load there is one already: no cancel scope needed
            return self._recv.receive_nowait()
        except trio.WouldBlock:
            pass
        with trio.move_on_at(self.indexer.due_at):
            return await self._recv.receive()
        return None

    def _execute(self, batch: list[_Op]) -> None:
        try:
            started = time.perf_counter()
            self._run_batch(batch)
            self.commit_seconds.observe(time.perf_counter() - started)
            self.batch_ops.observe(len(batch))
            if not self.dsn and self.checkpointer.due(len(batch)):
                self._thread.post(self.checkpointer.run, self.checkpointer.finished)
        except Exception:  # noqa: BLE001 - e.g. a ROLLBACK that fails: this batch fails, the writer goes on
            log.exception("a write batch failed")
            self.health.failed("a write batch failed")
            if self._conn is not None and self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            for op in batch:
                op.result = None
                op.error = ChatError("unavailable", "the database cannot be written")

    def _schedule_index(self) -> None:
        if self._ctx is not None:
            self.indexer.schedule(trio.current_time(), self._ctx.ids.last)

    def _indexed(self, op: _Op) -> None:
        assert self._ctx is not None
        if op.error is None:
            self.indexer.committed(op.result, trio.current_time(), self._ctx.ids.last)
        else:
            self.indexer.failed(trio.current_time())

    def _fail_queued(self) -> None:
        """If the writer is cancelled, nothing queued may wait forever: fail it, then refuse new ops."""
        while True:
            try:
                op = self._recv.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            op.error = ChatError("unavailable", "the server is shutting down")
            op.done()
        self._recv.close()

    def _open(self) -> None:
        conn: Any
        if self.dsn:
            from . import pg  # psycopg: only with PostgreSQL

            conn = pg.connect(self.dsn, application_name="chatd-writer")
        else:
            # NORMAL whatever the durability: with "full" the writer syncs the WAL itself (walsync).
            conn = connect(self.path, durability="normal", cache_mb=self.cache_mb)
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints run on the writer thread instead
        self.indexer.opened(search.indexed_upto(conn))
        row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
        self._ctx = WriteCtx(conn, IdGen(row[0], node=self.node))
        self._conn = conn

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                if not self.dsn:
                    self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
            self._conn.close()
            self._conn = None
        if self._side is not None:
            self._side.close()
            self._side = None
        self.checkpointer.close()

    def _run_batch(self, batch: list[_Op]) -> None:
        conn = self._conn
        ctx = self._ctx
        assert conn is not None and ctx is not None
        ctx.now = now_ms()
        if self.dsn:
            pg_batch.run_batch(self, batch)  # pipelined, and run again after a deadlock
            self.batches += 1
            self.ops += len(batch)
            return
        if not self._begin(batch):
            return
        changes = conn.total_changes
        if not self._run_ops(batch, savepoints=False):
            # An op failed after writing: undo the whole batch and run it again, this time
            # with a savepoint per op so that the failing one is rolled back alone.
            conn.execute("ROLLBACK")
            self.reruns += 1
            if not self._begin(batch):
                return
            changes = conn.total_changes
            self._run_ops(batch, savepoints=True)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._commit_failed(batch, str(exc))
        else:
            if conn.total_changes != changes:
                self.health.ok()
        self.batches += 1
        self.ops += len(batch)

    def _commit_failed(self, batch: list[_Op], reason: str) -> None:
        log.error("commit failed: %s", reason)
        self.health.failed(reason)
        for op in batch:
            if op.error is None:
                op.result = None
                op.error = ChatError("unavailable", "the database cannot be written")

    def _begin(self, batch: list[_Op]) -> bool:
        assert self._conn is not None
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            log.error("cannot begin a write transaction: %s", exc)
            self.health.failed(str(exc))
            for op in batch:
                op.error = ChatError("unavailable", "the database cannot be written")
            return False
        return True

    def _op_error(self, op: _Op, exc: BaseException) -> BaseException:
        """What the submitter of an op that raised is told."""
        if is_write_failure(exc):
            log.error("write op %s failed: %s", getattr(op.fn, "__name__", op.fn), exc)
            self.health.failed(str(exc))
            return ChatError("unavailable", "the database cannot be written; nothing was stored")
        if not isinstance(exc, ChatError):
            log.exception("write op %s failed", getattr(op.fn, "__name__", op.fn))
            return ChatError("internal", "the server failed to store this; nothing was written")
        return exc

    def _run_ops(self, batch: list[_Op], *, savepoints: bool) -> bool:
        """Run every op of the batch in the open transaction.

        Without savepoints (the usual case: a statement each for SAVEPOINT and RELEASE per
        op cost a seventh of the writer's time), an op that raises before changing a row
        fails alone, since the database is as it was before it; one that raises after
        changing rows returns False at once and the caller rolls the batch back. With
        savepoints every failure is rolled back to its own op's savepoint."""
        conn, ctx = self._conn, self._ctx
        assert conn is not None
        for op in batch:
            op.result, op.error = None, None
            if savepoints:
                conn.execute("SAVEPOINT op")
            changes = conn.total_changes
            try:
                op.result = op.fn(ctx, *op.args)
            except BaseException as exc:  # noqa: BLE001 - every failure stays with its op
                if savepoints:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                elif conn.total_changes != changes:
                    return False
                op.error = self._op_error(op, exc)
            else:
                if savepoints:
                    conn.execute("RELEASE op")
        return True

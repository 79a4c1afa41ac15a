"""The single writer: one task, one connection, group commit.

Handlers submit a write op (a plain function taking the connection); the
writer runs every op queued so far in one transaction, commits once, and only
then wakes the submitters. An op that raises fails alone: if it changed no row
the others simply go on; if it did, the batch is rolled back and run again
with a savepoint per op. The queue is bounded, so a flood
of writes slows the submitters instead of growing memory.

Where a batch runs depends on the durability. With `normal` a commit only
appends to the WAL file in the page cache, never waiting for the disk, so the
batch runs on the trio thread: two thread wake-ups per batch cost more than
the commit itself (docs/architecture.md). What does wait for the disk, the WAL
checkpoint, runs on the writer's own thread with a second connection. With
`full` every commit waits for fsync, so every batch runs on the writer's thread.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..errors import ChatError
from . import search
from .db import IdGen, connect, now_ms

log = logging.getLogger("chatd.writer")

CHECKPOINT_BATCHES = 100  # inline mode: checkpoint after this many batches...
CHECKPOINT_OPS = 1000  # ...or this many ops, whichever comes first
INDEX_DELAY_S = 0.05  # a stored message waits at most this long for the search index...
INDEX_BATCH = 2000  # ...which takes at most this many messages per transaction
INDEX_RETRY_S = 5.0  # after an indexing op failed


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


class Writer:
    def __init__(self, path: str, *, durability: str = "normal", batch_max: int = 512, queue_max: int = 4096, cache_mb: int = 16):
        self.path = path
        self.cache_mb = cache_mb
        # after_commit(batch): wakes the batch's submitters (op.done()) and delivers its effects
        # (chatd.core.delivery); without it the submitters are simply woken.
        self.after_commit: Callable[[list[_Op]], Awaitable[None]] | None = None
        self.durability = durability
        self.batch_max = batch_max
        # normal: batches run on the trio thread, checkpoints on the writer thread (see above).
        self.inline = durability != "full"
        self._send, self._recv = trio.open_memory_channel[_Op](queue_max)
        self._conn: sqlite3.Connection | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpointing = False
        self._since_checkpoint = (0, 0)  # (batches, ops) committed since the last checkpoint started
        self.checkpoints = 0
        self.last_checkpoint: tuple[int, int, int] | None = None  # (busy, WAL pages, pages checkpointed)
        self._ctx: WriteCtx | None = None
        self.batches = 0
        self.ops = 0
        self.reruns = 0  # batches rolled back and run again because an op failed after writing
        self.indexed_upto = 0  # every message up to this id is in the search index (committed)
        self._index_due: float | None = None  # trio time at which to index the messages waiting

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
        self._token = trio.lowlevel.current_trio_token()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], None], Callable[[], None]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._thread_main, name="chatd-writer", daemon=True)
        self._thread.start()
        await self._in_thread(self._open)
        task_status.started()
        self._schedule_index()  # messages a crash left unindexed
        try:
            async with self._recv:
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
                    if self._index_due is not None and trio.current_time() >= self._index_due:
                        index_op = _Op(search.op_index_pending, (INDEX_BATCH,))
                        batch.append(index_op)  # committed with this batch: one commit for both
                    await self._execute(batch)
                    await self._wake(batch)
                    if index_op is not None:
                        self._indexed(index_op)
                    self._schedule_index()
                # Closed and drained: index what is left, so that a restart finds nothing to do.
                if self._ctx is not None and self._ctx.ids.last > self.indexed_upto:
                    await self._execute([_Op(search.op_index_pending, (1 << 62,))])
        finally:
            self._fail_queued()
            with trio.CancelScope(shield=True):
                await self._in_thread(self._close_conn)
            self._jobs.put(None)

    async def index_now(self) -> None:
        """Return once every message stored so far is in the search index (searches call this
        first, so that they find every message acknowledged before them)."""
        if self._ctx is None:
            return
        target = self._ctx.ids.last
        while self.indexed_upto < target:
            self._indexed_result(await self.submit(search.op_index_pending, INDEX_BATCH))

    async def _wake(self, batch: list[_Op]) -> None:
        if self.after_commit is not None:
            await self.after_commit(batch)
        else:
            for op in batch:
                op.done()

    def read_now(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(conn, *args) on the writer's connection, now. Only between batches (after_commit),
        when the connection is idle: a delivery that needs a list the member cache lacks."""
        assert self._conn is not None
        return fn(self._conn, *args)

    async def _next_op(self) -> _Op | None:
        """The next queued op, or None when the search index is due first."""
        if self._index_due is None:
            return await self._recv.receive()
        try:  # under load there is one already: no cancel scope needed
            return self._recv.receive_nowait()
        except trio.WouldBlock:
            pass
        with trio.move_on_at(self._index_due):
            return await self._recv.receive()
        return None

    async def _execute(self, batch: list[_Op]) -> None:
        try:
            if self.inline:
                self._run_batch(batch)
                self._maybe_checkpoint(len(batch))
            else:
                # Shielded: a batch that started always finishes and wakes its submitters.
                with trio.CancelScope(shield=True):
                    await self._in_thread(lambda: self._run_batch(batch))
        except Exception:  # noqa: BLE001 - e.g. a ROLLBACK that fails: this batch fails, the writer goes on
            log.exception("a write batch failed")
            if self._conn is not None and self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            for op in batch:
                op.result = None
                op.error = ChatError("unavailable", "the database cannot be written")

    def _schedule_index(self) -> None:
        if self._index_due is None and self._ctx is not None and self._ctx.ids.last > self.indexed_upto:
            self._index_due = trio.current_time() + INDEX_DELAY_S

    def _indexed(self, op: _Op) -> None:
        if op.error is None:
            self._indexed_result(op.result)
        else:  # not committed (logged): try again a little later
            self._index_due = trio.current_time() + INDEX_RETRY_S

    def _indexed_result(self, result: tuple[int, bool]) -> None:
        upto, caught_up = result
        self.indexed_upto = max(self.indexed_upto, upto)
        if not caught_up:  # more than one op's worth was waiting: run again at once
            self._index_due = trio.current_time()
        elif self._ctx is not None and self._ctx.ids.last <= self.indexed_upto:
            self._index_due = None

    async def _in_thread(self, job: Callable[[], None]) -> None:
        """Run job on the writer thread and wait for it. One long-lived thread fed by a plain
        queue costs about half of a trio.to_thread.run_sync hop per batch (docs/performance.md)."""
        done = trio.Event()
        failure: list[BaseException] = []

        def wrapped() -> None:
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the trio side
                failure.append(exc)

        self._jobs.put((wrapped, done.set))
        await done.wait()
        if failure:
            raise failure[0]

    def _thread_main(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, on_done = item
            try:
                job()
            finally:
                try:
                    self._token.run_sync_soon(on_done)
                except trio.RunFinishedError:
                    return

    def _maybe_checkpoint(self, ops: int) -> None:
        """After an inline batch: start a checkpoint on the writer thread once enough was written.

        A batch of one message adds about 7 WAL pages; SQLite's own automatic
        checkpoint (off on the inline connection) would run every 1,000 pages."""
        batches, total = self._since_checkpoint
        batches, total = batches + 1, total + ops
        if self._checkpointing or (batches < CHECKPOINT_BATCHES and total < CHECKPOINT_OPS):
            self._since_checkpoint = (batches, total)
            return
        self._since_checkpoint = (0, 0)
        self._checkpointing = True
        self._jobs.put((self._checkpoint, self._checkpoint_done))

    def _checkpoint(self) -> None:
        """Copy committed WAL pages into the database file (PASSIVE: never blocks the writer)."""
        try:
            if self._checkpoint_conn is None:
                self._checkpoint_conn = connect(self.path, durability=self.durability)
            self.last_checkpoint = self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed (retried after the next writes): %s", exc)

    def _checkpoint_done(self) -> None:
        self._checkpointing = False
        self.checkpoints += 1

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
        conn = connect(self.path, durability=self.durability, cache_mb=self.cache_mb)
        if self.inline:
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints run on the writer thread instead
        self.indexed_upto = search.indexed_upto(conn)
        row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
        self._ctx = WriteCtx(conn, IdGen(row[0]))
        self._conn = conn

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
            self._conn.close()
            self._conn = None
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None

    def _run_batch(self, batch: list[_Op]) -> None:
        conn = self._conn
        ctx = self._ctx
        assert conn is not None and ctx is not None
        ctx.now = now_ms()
        if not self._begin(batch):
            return
        if not self._run_ops(batch, savepoints=False):
            # An op failed after writing: undo the whole batch and run it again, this time
            # with a savepoint per op so that the failing one is rolled back alone.
            conn.execute("ROLLBACK")
            self.reruns += 1
            if not self._begin(batch):
                return
            self._run_ops(batch, savepoints=True)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("commit failed: %s", exc)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for op in batch:
                if op.error is None:
                    op.result = None
                    op.error = ChatError("unavailable", "the database cannot be written")
        self.batches += 1
        self.ops += len(batch)

    def _begin(self, batch: list[_Op]) -> bool:
        assert self._conn is not None
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            log.error("cannot begin a write transaction: %s", exc)
            for op in batch:
                op.error = ChatError("unavailable", "the database cannot be written")
            return False
        return True

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
                if not isinstance(exc, ChatError):
                    log.exception("write op %s failed", getattr(op.fn, "__name__", op.fn))
                    exc = ChatError("internal", "the server failed to store this; nothing was written")
                op.error = exc
            else:
                if savepoints:
                    conn.execute("RELEASE op")
        return True

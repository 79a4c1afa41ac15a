"""The single writer: one task, one connection, group commit.

Handlers submit a write op (a plain function taking the connection); the
writer runs every op queued so far in one transaction, each in its own
savepoint, commits once, and only then wakes the submitters. An op that raises
rolls back its own savepoint and fails alone. The queue is bounded, so a flood
of writes slows the submitters instead of growing memory.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import trio

from ..errors import ChatError
from .db import IdGen, connect, now_ms

log = logging.getLogger("chatd.writer")


class WriteCtx:
    """What an op gets besides the connection: the commit time and the id generator."""

    __slots__ = ("conn", "ids", "now")

    def __init__(self, conn: sqlite3.Connection, ids: IdGen):
        self.conn = conn
        self.ids = ids
        self.now = 0


class _Op:
    __slots__ = ("fn", "args", "result", "error", "done")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.fn = fn
        self.args = args
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = trio.Event()


class Writer:
    def __init__(self, path: str, *, durability: str = "normal", batch_max: int = 512, queue_max: int = 4096, cache_mb: int = 16):
        self.path = path
        self.durability = durability
        self.batch_max = batch_max
        self._send, self._recv = trio.open_memory_channel[_Op](queue_max)
        self._conn: sqlite3.Connection | None = None
        self._ctx: WriteCtx | None = None
        self.batches = 0
        self.ops = 0

    async def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(ctx, *args) in the next transaction; return its result once committed."""
        op = _Op(fn, args)
        try:
            await self._send.send(op)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ChatError("unavailable", "the server is shutting down") from None
        # The op is queued: it will be committed or failed even if we are cancelled now,
        # so wait for it shielded; a cancelled submitter just never sees the result.
        with trio.CancelScope(shield=True):
            await op.done.wait()
        if op.error is not None:
            raise op.error
        return op.result

    def close(self) -> None:
        """Stop taking ops; run() finishes what is queued, then returns."""
        self._send.close()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Feed batches to the writer thread, one at a time, until close() and the queue is empty."""
        self._token = trio.lowlevel.current_trio_token()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], None], trio.Event] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._thread_main, name="chatd-writer", daemon=True)
        self._thread.start()
        await self._in_thread(self._open)
        task_status.started()
        try:
            async with self._recv:
                while True:
                    try:
                        first = await self._recv.receive()
                    except trio.EndOfChannel:
                        break
                    batch = [first]
                    while len(batch) < self.batch_max:
                        try:
                            batch.append(self._recv.receive_nowait())
                        except (trio.WouldBlock, trio.EndOfChannel):
                            break
                    # Shielded: a batch that started always finishes and wakes its submitters.
                    with trio.CancelScope(shield=True):
                        await self._in_thread(lambda batch=batch: self._run_batch(batch))
                    for op in batch:
                        op.done.set()
        finally:
            self._fail_queued()
            with trio.CancelScope(shield=True):
                await self._in_thread(self._close_conn)
            self._jobs.put(None)

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

        self._jobs.put((wrapped, done))
        await done.wait()
        if failure:
            raise failure[0]

    def _thread_main(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, done = item
            try:
                job()
            finally:
                try:
                    self._token.run_sync_soon(done.set)
                except trio.RunFinishedError:
                    return

    def _fail_queued(self) -> None:
        """If the writer is cancelled, nothing queued may wait forever: fail it, then refuse new ops."""
        while True:
            try:
                op = self._recv.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            op.error = ChatError("unavailable", "the server is shutting down")
            op.done.set()
        self._recv.close()

    def _open(self) -> None:
        conn = connect(self.path, durability=self.durability)
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

    def _run_batch(self, batch: list[_Op]) -> None:
        conn = self._conn
        ctx = self._ctx
        assert conn is not None and ctx is not None
        ctx.now = now_ms()
        ok = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            log.error("cannot begin a write transaction: %s", exc)
            for op in batch:
                op.error = ChatError("unavailable", "the database cannot be written")
            return
        for op in batch:
            conn.execute("SAVEPOINT op")
            try:
                op.result = op.fn(ctx, *op.args)
            except BaseException as exc:  # noqa: BLE001 - every failure stays with its op
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                if not isinstance(exc, ChatError):
                    log.exception("write op %s failed", getattr(op.fn, "__name__", op.fn))
                    exc = ChatError("internal", "the server failed to store this; nothing was written")
                op.error = exc
            else:
                conn.execute("RELEASE op")
                ok.append(op)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("commit failed: %s", exc)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for op in ok:
                op.result = None
                op.error = ChatError("unavailable", "the database cannot be written")
        self.batches += 1
        self.ops += len(batch)

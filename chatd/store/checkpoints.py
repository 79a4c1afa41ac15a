"""WAL checkpoints when batches commit on the trio thread (durability "normal").

A checkpoint copies committed pages from the WAL into the database file and
waits for the disk, so it must not run where the batches do. The writer's
connection has automatic checkpoints off; after every CHECKPOINT_BATCHES batches
or CHECKPOINT_OPS ops, whichever comes first, a PASSIVE checkpoint (it never
blocks the writer) runs on the writer's own thread with a second connection.
(A batch of one message adds about 7 WAL pages; SQLite's own automatic
checkpoint would run every 1,000 pages.) With durability "full" every commit
waits for the disk anyway, on the writer's thread, and SQLite checkpoints by
itself.
"""

from __future__ import annotations

import logging
import sqlite3

from .db import connect

log = logging.getLogger("chatd.checkpoints")

CHECKPOINT_BATCHES = 100  # checkpoint after this many batches...
CHECKPOINT_OPS = 1000  # ...or this many ops, whichever comes first


class Checkpointer:
    def __init__(self, path: str, durability: str):
        self.path = path
        self.durability = durability
        self._conn: sqlite3.Connection | None = None
        self._running = False
        self._since = (0, 0)  # (batches, ops) committed since the last checkpoint started
        self.checkpoints = 0
        self.last: tuple[int, int, int] | None = None  # (busy, WAL pages, pages checkpointed)

    def due(self, ops: int) -> bool:
        """A batch of `ops` committed: is a checkpoint due now? (Then run() it on the writer's thread.)"""
        batches, total = self._since
        batches, total = batches + 1, total + ops
        if self._running or (batches < CHECKPOINT_BATCHES and total < CHECKPOINT_OPS):
            self._since = (batches, total)
            return False
        self._since = (0, 0)
        self._running = True
        return True

    def run(self) -> None:
        """One PASSIVE checkpoint (on the writer's thread)."""
        try:
            if self._conn is None:
                self._conn = connect(self.path, durability=self.durability)
            self.last = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed (retried after the next writes): %s", exc)

    def finished(self) -> None:
        self._running = False
        self.checkpoints += 1

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

"""Durability "full": the WAL is on disk before any write of a batch is acknowledged.

The writer's connection runs with `PRAGMA synchronous = NORMAL`, so a commit
only appends to the WAL file, and the batch runs on the trio thread as with
"normal". After each commit the writer asks for `sync()` of the WAL file on
its own thread, and wakes the batch's submitters and delivers its pushes only
once an fdatasync that began after that commit has returned. That is what
SQLite's `synchronous = FULL` does inside COMMIT (an fsync of the WAL after
the commit's frames), moved out of the transaction: the next batch runs on the
trio thread while the disk works, and one sync covers every batch committed
before it began (group commit). Checkpoints are unchanged: with NORMAL, SQLite
syncs the WAL before a checkpoint copies it and the database file after.

The first sync of a WAL file also syncs its directory, so that the file itself
survives power loss (SQLite does the same for a file it creates).
"""

from __future__ import annotations

import os

_datasync = getattr(os, "fdatasync", os.fsync)


class WalSync:
    """fdatasync of `<database>-wal`; blocking, for the writer's sync thread."""

    def __init__(self, db_path: str):
        self.wal_path = db_path + "-wal"
        self._fd: int | None = None
        self._ino = 0
        self.started = 0  # syncs begun (one at a time: the writer waits for each)
        self.syncs = 0  # syncs that returned

    def sync(self) -> None:
        """Make every write to the WAL file so far durable (raises OSError if the disk fails)."""
        self.started += 1
        ino = os.stat(self.wal_path).st_ino
        if self._fd is None or ino != self._ino:  # first use, or a new WAL file
            self.close()
            self._fd = os.open(self.wal_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self._ino = os.fstat(self._fd).st_ino
            _sync_dir(os.path.dirname(os.path.abspath(self.wal_path)))
        _datasync(self._fd)
        self.syncs += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _sync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # not every platform opens directories
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""Read-only connections used off the trio thread."""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import trio

from .db import connect

T = TypeVar("T")


class Readers:
    """A pool of read-only connections; each read runs in a worker thread."""

    def __init__(self, path: str, size: int = 4, cache_mb: int = 16, dsn: str = ""):
        self.path = path
        self.dsn = dsn  # PostgreSQL's, if set (chatd.store.pg), instead of the SQLite file at path
        self.size = size
        self.cache_mb = cache_mb
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self.limiter = trio.CapacityLimiter(size)

    def open(self) -> None:
        for _ in range(self.size):
            conn: Any
            if self.dsn:
                from . import pg  # psycopg: only with PostgreSQL

                conn = pg.connect(self.dsn, application_name="chatd-reader")
            else:
                conn = connect(self.path, cache_mb=self.cache_mb, readonly=True)
            self._all.append(conn)
            self._pool.put(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._pool.get()
        try:
            return fn(conn, *args)
        finally:
            self._pool.put(conn)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(conn, *args) on a reader connection in a worker thread."""
        return await trio.to_thread.run_sync(self._call, fn, args, limiter=self.limiter)

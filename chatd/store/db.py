"""Opening SQLite connections with chatd's pragmas."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

EPOCH_MS = 1735689600000  # 2025-01-01T00:00:00Z, the zero of message ids


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def on_postgres(conn: Any) -> bool:
    """Whether a connection is PostgreSQL's (chatd.store.pg) rather than SQLite's: for the few
    store functions whose two forms differ (docs/scaling.md)."""
    return not isinstance(conn, sqlite3.Connection)


def connect(path: str | Path, *, durability: str = "normal", cache_mb: int = 16, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, cached_statements=256)
    conn.execute("PRAGMA busy_timeout = 10000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # normal: a commit survives a crash of the process; full: also power loss (fsync per commit).
    conn.execute(f"PRAGMA synchronous = {'FULL' if durability == 'full' else 'NORMAL'}")
    conn.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")
    conn.execute("PRAGMA temp_store = MEMORY")
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    return conn


NODE_BITS = 4  # with several nodes (PostgreSQL): up to 16, each making its own ids
MAX_NODES = 1 << NODE_BITS


class IdGen:
    """Global, time-ordered message ids: (ms since EPOCH_MS) << 12 | counter.

    They fit in 53 bits until 2094, so JavaScript clients read them exactly.
    Owned by the writer; strictly increasing even if the clock steps back.

    With `node` set (several nodes sharing one PostgreSQL database, docs/scaling.md), the
    low 12 bits are the node's number (NODE_BITS) and a counter of 8 bits: ids made by
    different nodes never meet, and still sort by time.
    """

    def __init__(self, last_id: int = 0, node: int | None = None):
        if node is not None and not 0 <= node < MAX_NODES:
            raise ValueError(f"a node's number is 0 to {MAX_NODES - 1}")
        self.last = last_id
        self.node = node

    @staticmethod
    def node_of(message_id: int) -> int:
        """The number of the node that made a message id (0 on a single node)."""
        return (message_id >> 8) & (MAX_NODES - 1)

    def next(self, ms: int) -> int:
        candidate = (ms - EPOCH_MS) << 12
        if self.node is None:
            if candidate <= self.last:
                candidate = self.last + 1
        else:
            mine = self.node << 8
            candidate |= mine
            if candidate <= self.last:  # the same millisecond, or the clock went back
                slot, low = self.last >> 12, self.last & 0xFFF
                if low >> 8 == self.node and low & 0xFF < 0xFF:
                    candidate = self.last + 1
                elif low >> 8 < self.node:
                    candidate = (slot << 12) | mine
                else:
                    candidate = ((slot + 1) << 12) | mine
        self.last = candidate
        return candidate

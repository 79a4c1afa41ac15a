"""Opening SQLite connections with chatd's pragmas."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

EPOCH_MS = 1735689600000  # 2025-01-01T00:00:00Z, the zero of message ids


def now_ms() -> int:
    return time.time_ns() // 1_000_000


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


class IdGen:
    """Global, time-ordered message ids: (ms since EPOCH_MS) << 12 | counter.

    They fit in 53 bits until 2094, so JavaScript clients read them exactly.
    Owned by the writer; strictly increasing even if the clock steps back.
    """

    def __init__(self, last_id: int = 0):
        self.last = last_id

    def next(self, ms: int) -> int:
        candidate = (ms - EPOCH_MS) << 12
        if candidate <= self.last:
            candidate = self.last + 1
        self.last = candidate
        return candidate

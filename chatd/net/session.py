"""Per-connection session state and the send rate limiter. No I/O here."""

from __future__ import annotations

import itertools
import time
from typing import Any

_ids = itertools.count(1)


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int, now: float | None = None):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic() if now is None else now

    def take(self, now: float | None = None) -> int:
        """Take a token; returns 0 on success, else the milliseconds until one is available."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, int((1 - self.tokens) / self.rate * 1000 + 0.999))


class Session:
    """One logged-in (or logging-in) connection of a user."""

    __slots__ = ("id", "conn", "user", "device", "codec", "bucket", "typing_at", "last_frame", "connected_at", "token", "__weakref__")

    def __init__(self, conn: Any, bucket: TokenBucket):
        self.id = f"s{next(_ids)}"
        self.conn = conn
        self.user: dict[str, Any] | None = None
        self.device = ""
        self.codec = 0
        self.bucket = bucket
        self.typing_at: dict[int, float] = {}
        self.last_frame = self.connected_at = time.monotonic()
        self.token = ""

    @property
    def user_id(self) -> int:
        assert self.user is not None
        return self.user["id"]

    def typing_allowed(self, conv_id: int, interval_s: float, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        last = self.typing_at.get(conv_id)
        if last is not None and now - last < interval_s:
            return False
        self.typing_at[conv_id] = now
        if len(self.typing_at) > 64:
            cutoff = now - interval_s
            self.typing_at = {k: v for k, v in self.typing_at.items() if v >= cutoff}
        return True

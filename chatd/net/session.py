"""Per-connection session state and the rate limiters (token buckets). No I/O here."""

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

    def take(self, now: float | None = None, cost: float = 1) -> int:
        """Take `cost` tokens (at most `burst`); returns 0 on success, else the milliseconds
        until that many are available. A refused take takes nothing."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        cost = min(cost, self.burst)  # a cost over the burst could never be paid: it takes a full bucket
        if self.tokens >= cost:
            self.tokens -= cost
            return 0
        return max(1, int((cost - self.tokens) / self.rate * 1000 + 0.999))

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


class UserBuckets:
    """One TokenBucket per user, shared by all of the user's connections: the write budget.

    A user's bucket is made on their first costly request; buckets that have filled up again
    are forgotten (a new one starts full, so forgetting changes nothing) once there are many."""

    __slots__ = ("rate", "burst", "buckets", "_prune_at")

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self.buckets: dict[int, TokenBucket] = {}
        self._prune_at = 1024

    def take(self, user_id: int, cost: float, now: float | None = None) -> int:
        """Take `cost` from the user's bucket; 0 on success, else milliseconds to wait."""
        now = time.monotonic() if now is None else now
        return self.bucket(user_id, now).take(now, cost)

    def bucket(self, user_id: int, now: float | None = None) -> TokenBucket:
        """The user's bucket (made full when there is none)."""
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(user_id)
        if bucket is None:
            if len(self.buckets) >= self._prune_at:
                self.buckets = {u: b for u, b in self.buckets.items() if not b.full(now)}
                self._prune_at = max(1024, 2 * len(self.buckets))
            bucket = self.buckets[user_id] = TokenBucket(self.rate, self.burst, now)
        return bucket


class Session:
    """One logged-in (or logging-in) connection of a user."""

    __slots__ = (
        "id", "conn", "user", "device", "codec", "bucket", "frames", "typing_at", "last_frame", "connected_at", "token", "lanes", "lane", "__weakref__"
    )

    def __init__(self, conn: Any, bucket: TokenBucket, frames: TokenBucket | None = None, *, prefix: str = "s"):
        self.id = f"{prefix}{next(_ids)}"  # (several nodes: the prefix names the node, so ids are unique across them)
        self.conn = conn
        self.user: dict[str, Any] | None = None
        self.device = ""
        self.codec = 0
        self.bucket = bucket  # this connection's sends (limits.send_rate_per_s, send_burst)
        self.frames = frames  # every frame of this connection (limits.frames_per_s, frames_burst)
        self.typing_at: dict[int, float] | None = None  # made at the first typing notice
        self.last_frame = self.connected_at = time.monotonic()
        self.token = ""
        self.lanes: Any = None  # the connection's nursery (chatd.server), where its request lane runs
        self.lane: Any = None  # once the connection makes a call: where its requests but relayed signals go

    @property
    def user_id(self) -> int:
        assert self.user is not None
        return self.user["id"]

    def typing_allowed(self, conv_id: int, interval_s: float, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        typing_at = self.typing_at
        if typing_at is None:
            typing_at = self.typing_at = {}
        last = typing_at.get(conv_id)
        if last is not None and now - last < interval_s:
            return False
        typing_at[conv_id] = now
        if len(typing_at) > 64:
            cutoff = now - interval_s
            self.typing_at = {k: v for k, v in typing_at.items() if v >= cutoff}
        return True

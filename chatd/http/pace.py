"""A byte-rate budget shared by every upload (files.upload_bytes_per_s; docs/files.md).

An upload's body is read on the event loop that also serves the WebSocket
connections: read as fast as loopback gives it, 20 uploads keep the loop busy
and every send waits behind them. The budget paces the uploads together: each
batch an upload has read reserves its bytes at the budget's rate, and the
upload waits until its turn before reading more (the client waits on TCP's
flow control meanwhile). Reservations are served in order, so concurrent
uploads share the rate fairly; `burst_bytes` may pass at once after an idle
time. A rate of 0 means no budget.
"""

from __future__ import annotations

import trio


class BytePace:
    def __init__(self, bytes_per_s: float, burst_bytes: int):
        self.rate = float(bytes_per_s)
        self.burst = max(0, burst_bytes)
        self.free_at = -float("inf")  # the time when every byte reserved so far has been paid for
        self.taken = 0  # bytes reserved, in all

    def delay(self, n: int, now: float) -> float:
        """Reserve n bytes at `now`: the seconds to wait before going on (0 when within the budget)."""
        self.taken += max(0, n)
        if self.rate <= 0 or n <= 0:
            return 0.0
        # The budget does not save up more than `burst` bytes while idle.
        self.free_at = max(self.free_at, now - self.burst / self.rate) + n / self.rate
        return max(0.0, self.free_at - now)

    async def take(self, n: int) -> None:
        wait = self.delay(n, trio.current_time())
        if wait > 0:
            await trio.sleep(wait)

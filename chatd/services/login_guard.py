"""Login throttling and the password-hashing slots, shared by the WebSocket `login` and the HTTP login.

The budgets and back-off are decided by chatd.policy.login_throttle (pure); this
service keeps its state in memory for the life of the process and adds what
needs trio: the hashing slots.

Hashing slots: at most `auth.hash_slots` password checks run at once on the
whole server (argon2 is slow and takes memory on purpose). A flood must not be
able to take them from everyone else, so each client address may have at most
`auth.hashes_per_address` checks running; its further logins wait in its own
line (first come, first served), and past `auth.queue_per_address` logins
running or waiting, a login from that address answers `rate_limited` at once.
The lines exist only while an address has logins in them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import trio

from ..config import AuthConfig
from ..errors import ChatError
from ..policy.login_throttle import LoginThrottle, ThrottleLimits

log = logging.getLogger("chatd.auth")

T = TypeVar("T")
QUEUE_FULL_RETRY_MS = 1000


class _Line:
    __slots__ = ("semaphore", "count")

    def __init__(self, slots: int):
        self.semaphore = trio.Semaphore(slots)
        self.count = 0  # logins running or waiting


class LoginGuard:
    def __init__(self, cfg: AuthConfig, clock: Callable[[], float] = time.monotonic):
        self.cfg = cfg
        self.clock = clock
        self.throttle = LoginThrottle(
            ThrottleLimits(
                address_failures=cfg.address_failures,
                account_failures=cfg.account_failures,
                backoff_base_ms=cfg.backoff_base_ms,
                backoff_max_ms=cfg.backoff_max_ms,
                forget_after_s=float(cfg.forget_failures_s),
                max_keys=cfg.throttle_max_keys,
            )
        )
        self.slots = trio.CapacityLimiter(cfg.hash_slots)
        self.lines: dict[str, _Line] = {}
        self.hashes = 0  # password checks run (for tests and diagnostics)
        self.refused = 0  # logins answered rate_limited

    def check(self, address: str, account: str | None) -> None:
        """Raise rate_limited, with retry_after_ms, while `address` or `account` must wait."""
        wait = self.throttle.check(address, account, self.clock())
        if wait:
            self.refused += 1
            raise ChatError("rate_limited", f"too many failed logins; try again in {(wait + 999) // 1000} s", retry_after_ms=wait)

    def failed(self, address: str, account: str | None) -> int:
        return self.throttle.failed(address, account, self.clock())

    def succeeded(self, address: str, account: str | None) -> None:
        self.throttle.succeeded(address, account, self.clock())

    async def hash_check(self, address: str, account: str | None, fn: Callable[[], T]) -> T:
        """Run the password check `fn` in a worker thread, in `address`'s line; the throttle is asked
        again once it is this login's turn, so a login that waited while others failed spends nothing."""
        line = self.lines.get(address)
        if line is None:
            line = self.lines[address] = _Line(self.cfg.hashes_per_address)
        if line.count >= self.cfg.queue_per_address:
            self.refused += 1
            raise ChatError("rate_limited", "too many logins at once from this address", retry_after_ms=QUEUE_FULL_RETRY_MS)
        line.count += 1
        try:
            async with line.semaphore:
                self.check(address, account)
                self.hashes += 1
                return await trio.to_thread.run_sync(fn, limiter=self.slots)
        finally:
            line.count -= 1
            if line.count == 0:
                del self.lines[address]

"""Login throttling and the password-hashing slots, shared by the WebSocket `login` and the HTTP login.

The budgets and back-off are decided by chatd.policy.login_throttle (pure); this
service keeps its state in memory for the life of the process and adds what
needs trio: the hashing slots.

Hashing slots: at most `auth.hash_slots` password checks run at once on the
whole server (argon2 is slow and takes memory on purpose). A flood must not be
able to take them from everyone else, so logins wait for a slot in a fair
queue: each client address has its own line (first come, first served), and a
freed slot goes to the addresses in turn, one login each. An address alone may
use every slot; an address with a hundred logins waiting gets no more turns
than one with a single login. Past `auth.queue_per_address` logins running or
waiting, a login from that address answers `rate_limited` at once. The lines
exist only while an address has logins in them.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TypeVar

import trio

from ..config import AuthConfig
from ..errors import ChatError
from ..policy.login_throttle import LoginThrottle, ThrottleLimits

log = logging.getLogger("chatd.auth")

T = TypeVar("T")
QUEUE_FULL_RETRY_MS = 1000


class FairSlots:
    """`slots` slots, handed out round-robin over keys, first come first served within a key."""

    def __init__(self, slots: int):
        self.free = slots
        self.waiting: OrderedDict[str, deque[trio.Event]] = OrderedDict()

    async def acquire(self, key: str) -> None:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            await trio.lowlevel.checkpoint()
            return
        event = trio.Event()
        self.waiting.setdefault(key, deque()).append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():
                self.release()  # a slot was handed over: pass it on
            else:
                line = self.waiting[key]
                line.remove(event)
                if not line:
                    del self.waiting[key]
            raise

    def release(self) -> None:
        """Hand the slot to the next key in turn, or keep it free."""
        if not self.waiting:
            self.free += 1
            return
        key, line = next(iter(self.waiting.items()))
        event = line.popleft()
        if line:
            self.waiting.move_to_end(key)
        else:
            del self.waiting[key]
        event.set()


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
        self.slots = FairSlots(cfg.hash_slots)
        self.lines: dict[str, int] = {}  # address -> its logins running or waiting for a slot
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
        """Run the password check `fn` in a worker thread once `address` has a slot; the throttle
        is asked again when it is this login's turn, so a login that waited while others failed
        spends nothing."""
        count = self.lines.get(address, 0)
        if count >= self.cfg.queue_per_address:
            self.refused += 1
            raise ChatError("rate_limited", "too many logins at once from this address", retry_after_ms=QUEUE_FULL_RETRY_MS)
        self.lines[address] = count + 1
        try:
            await self.slots.acquire(address)
            try:
                self.check(address, account)
                self.hashes += 1
                return await trio.to_thread.run_sync(fn)
            finally:
                self.slots.release()
        finally:
            left = self.lines[address] - 1
            if left:
                self.lines[address] = left
            else:
                del self.lines[address]

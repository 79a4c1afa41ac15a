"""Login throttling: failure budgets with exponential back-off, per client address and per account.

Pure decisions, no I/O: no trio, no sqlite3, no clock of its own (callers pass
`now`, in seconds, from a monotonic clock). chatd.services.login_guard keeps one
`LoginThrottle` for the whole server and asks it before every credential check.

The rules, for each key (a client address, and the account named by a password
login):

- a key may fail `budget - 1` times without having to wait;
- the `budget`-th failure, and each one after it, blocks the key for
  `backoff_base_ms * 2 ** (failures - budget)`, at most `backoff_max_ms`
  (so 1 s, 2 s, 4 s, ... with the defaults);
- while a key is blocked, `check` answers how long to wait: the caller refuses
  the login with that `retry_after_ms` before it looks at the password;
- a key is forgotten `forget_after_s` after its last failure (and never while
  it is still blocked); a successful login forgets the account's failures
  (not the address's: one known password must not buy more guesses elsewhere);
- at most `max_keys` keys of each kind are kept: past it the one whose last
  failure is oldest is dropped.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass

MAX_ACCOUNT_KEY = 128


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    address_failures: int = 20
    account_failures: int = 5
    backoff_base_ms: int = 1000
    backoff_max_ms: int = 300_000
    forget_after_s: float = 900.0
    max_keys: int = 100_000


class _Entry:
    __slots__ = ("failures", "last", "blocked_until")

    def __init__(self) -> None:
        self.failures = 0
        self.last = 0.0
        self.blocked_until = 0.0


def address_key(address: str) -> str:
    """The key an address is counted under: an IPv4 address as is, an IPv6 address by its /64
    (one host usually holds a whole /64), an IPv4-mapped IPv6 address as its IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def account_key(username: str) -> str:
    """The key an account is counted under: the name as given, case-folded and cut to a bounded length."""
    return username.strip().casefold()[:MAX_ACCOUNT_KEY]


def backoff_ms(failures: int, budget: int, base_ms: int, max_ms: int) -> int:
    """How long a key with `failures` failures is blocked after its last one (0: not at all)."""
    if failures < budget:
        return 0
    steps = failures - budget
    if steps >= 40:  # 2**40 ms is years: the cap has long been reached
        return max_ms
    return min(max_ms, base_ms << steps)


class _Table:
    """The failures of one kind of key, oldest last failure first."""

    def __init__(self, budget: int, limits: ThrottleLimits):
        self.budget = budget
        self.limits = limits
        self.entries: OrderedDict[str, _Entry] = OrderedDict()

    def retry_after_ms(self, key: str, now: float) -> int:
        entry = self.entries.get(key)
        if entry is None or now >= entry.blocked_until:
            return 0
        return max(1, int((entry.blocked_until - now) * 1000 + 0.999))

    def fail(self, key: str, now: float) -> int:
        self.expire(now)
        entry = self.entries.pop(key, None) or _Entry()
        entry.failures += 1
        entry.last = now
        wait = backoff_ms(entry.failures, self.budget, self.limits.backoff_base_ms, self.limits.backoff_max_ms)
        entry.blocked_until = now + wait / 1000
        self.entries[key] = entry  # to the end: the newest failure
        while len(self.entries) > self.limits.max_keys:
            self.entries.popitem(last=False)
        return wait

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)

    def expire(self, now: float) -> None:
        forget = self.limits.forget_after_s
        entries = self.entries
        while entries:
            key, entry = next(iter(entries.items()))
            if now - entry.last < forget or now < entry.blocked_until:
                return
            del entries[key]


class LoginThrottle:
    """Failure budgets for client addresses and accounts (see the module's docstring)."""

    def __init__(self, limits: ThrottleLimits | None = None):
        self.limits = limits = limits or ThrottleLimits()
        self.addresses = _Table(limits.address_failures, limits)
        self.accounts = _Table(limits.account_failures, limits)

    def check(self, address: str, account: str | None, now: float) -> int:
        """0 when a login from `address` (for `account`, if a password login) may be checked now;
        otherwise the milliseconds to wait before trying again."""
        wait = self.addresses.retry_after_ms(address, now)
        if account is not None:
            wait = max(wait, self.accounts.retry_after_ms(account, now))
        return wait

    def failed(self, address: str, account: str | None, now: float) -> int:
        """Count a failed login; returns how long the longer-blocked of the two keys is now blocked, in ms."""
        wait = self.addresses.fail(address, now)
        if account is not None:
            wait = max(wait, self.accounts.fail(account, now))
        return wait

    def succeeded(self, address: str, account: str | None, now: float) -> None:
        if account is not None:
            self.accounts.forget(account)

    def __len__(self) -> int:
        return len(self.addresses.entries) + len(self.accounts.entries)

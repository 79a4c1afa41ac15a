"""Password hashing: argon2id with the parameters of the [auth] section of the configuration.

`auth.hash_memory_kib`, `auth.hash_time_cost` and `auth.hash_parallelism` are
argon2id's memory (KiB), passes and lanes. Every hash made here uses them: the
CLI's `user add` and `user passwd`, the server's upgrades of older hashes, and
the fixed hash an unknown user's password is checked against (so a login for
a name that does not exist costs the same as one for a name that does).

A stored hash carries its own parameters, so it verifies whatever the
configuration says now; `check` also tells when it was made with other
parameters than the configured ones, with a new hash of the password to store
instead. Each check holds about `hash_memory_kib` of memory while it runs; the
login guard's slots (`auth.hash_slots`) bound how many run at once.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from .config import AuthConfig

_DUMMY_PASSWORD = "chatd-no-such-user"
_DEFAULTS = AuthConfig()
_M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter
MMAP_THRESHOLD_BYTES = 1 << 20


@lru_cache(maxsize=8)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)


def hasher(cfg: AuthConfig) -> PasswordHasher:
    return _hasher(cfg.hash_memory_kib, cfg.hash_time_cost, cfg.hash_parallelism)


def hash_password(password: str, cfg: AuthConfig | None = None) -> str:
    """A new hash of `password` with the configured parameters (chatd's defaults if `cfg` is None)."""
    return hasher(cfg or _DEFAULTS).hash(password)


@lru_cache(maxsize=8)
def _dummy(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _hasher(memory_kib, time_cost, parallelism).hash(_DUMMY_PASSWORD)


def dummy_hash(cfg: AuthConfig) -> str:
    """A fixed hash with the configured parameters, to check a password against when the user does not exist."""
    return _dummy(cfg.hash_memory_kib, cfg.hash_time_cost, cfg.hash_parallelism)


def verify(cfg: AuthConfig, stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash (made with any parameters); False for a malformed hash."""
    try:
        return hasher(cfg).verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check(cfg: AuthConfig, stored: str, password: str, *, upgrade: bool = True) -> tuple[bool, str | None]:
    """(whether `password` matches `stored`, a new hash to store in its place or None).

    The new hash is made only for a right password whose stored hash has other
    parameters than the configured ones (and only if `upgrade`)."""
    if not verify(cfg, stored, password):
        return False, None
    ph = hasher(cfg)
    if upgrade and ph.check_needs_rehash(stored):
        return True, ph.hash(password)
    return True, None


def return_hash_memory() -> bool:
    """Have the C allocator give a hash's memory back to the system when the hash ends (glibc only;
    False elsewhere). For `chatd serve`, once at start: it is a setting of the whole process.

    glibc serves a large block (at first, one of 128 KiB or more) with a mapping of its own,
    returned to the system on free, but each time it frees such a block it raises that threshold
    to the block's size (up to 32 MiB). After the first hash, argon2's block (hash_memory_kib)
    would then come from the heap of the thread that hashes, and stay resident there: every worker
    thread that ever hashed (they also serve reads, so there are more of them than hashing slots)
    would keep one block. Fixing the threshold at MMAP_THRESHOLD_BYTES (1 MiB) keeps the memory of
    hashing at most auth.hash_slots blocks, and none between logins; mapping the block afresh
    costs about 4 ms of CPU per hash of 12 MiB."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))

"""Passwords and tokens: shared by the WebSocket `login` and `POST /api/v1/auth/login`."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import ChatError
from .store import users as users_store

if TYPE_CHECKING:
    from .core.context import Context

hasher = PasswordHasher()
# Hashing is deliberately slow and takes memory: at most two at a time.
_hash_limiter = trio.CapacityLimiter(2)
_dummy_hash = ""


def _dummy() -> str:
    """A fixed hash to verify against when the user does not exist, so timing does not tell."""
    global _dummy_hash
    if not _dummy_hash:
        _dummy_hash = hasher.hash("chatd-no-such-user")
    return _dummy_hash


def hash_password(password: str) -> str:
    return hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def login(ctx: Context, *, username: str | None, password: str | None, token: str | None, device: str) -> tuple[dict[str, Any], str]:
    """Check credentials; returns (user, token). A password login issues a new token."""
    if token:
        user = await ctx.readers.read(users_store.token_user, token)
        if user is None:
            raise ChatError("auth_failed", "unknown or expired token", field="token")
        if user["disabled"]:
            raise ChatError("user_disabled", "this account is disabled")
        return user, token
    if not username or password is None:
        raise ChatError("bad_request", "give a token, or a username and a password", field="username" if not username else "password")
    found = await ctx.readers.read(users_store.password_login_row, username)
    ok = await trio.to_thread.run_sync(lambda: _verify(found[1] if found else _dummy(), password), limiter=_hash_limiter)
    if not found or not ok:
        raise ChatError("auth_failed", "wrong username or password")
    user = found[0]
    if user["disabled"]:
        raise ChatError("user_disabled", "this account is disabled")
    new_token = secrets.token_urlsafe(32)
    ttl_ms = ctx.cfg.auth.token_ttl_days * 86_400_000
    await ctx.writer.submit(users_store.op_issue_token, user["id"], new_token, device, ttl_ms)
    return user, new_token

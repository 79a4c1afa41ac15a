"""Passwords and tokens: shared by the WebSocket `login` and `POST /api/v1/auth/login`."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import trio

from . import passwords
from .errors import ChatError
from .policy.login_throttle import account_key, address_key
from .store import users as users_store

if TYPE_CHECKING:
    from .config import AuthConfig
    from .core.context import Context

log = logging.getLogger("chatd.auth")
# Hashing (chatd.passwords) is deliberately slow and takes memory: the login
# guard's slots (auth.hash_slots) bound how many checks run at once.
hash_password = passwords.hash_password  # for callers that only make hashes (the CLI, tests, bench)


def _check(cfg: AuthConfig, found: tuple[dict[str, Any], str] | None, password: str) -> tuple[bool, str | None]:
    """Run in a hashing slot: (whether the password is right, the upgraded hash to store or None).
    An unknown user's password is checked against a fixed hash with the same parameters, so
    the answer takes as long; a disabled account's hash is never upgraded."""
    if found is None:
        passwords.verify(cfg, passwords.dummy_hash(cfg), password)
        return False, None
    user, stored = found
    return passwords.check(cfg, stored, password, upgrade=not user["disabled"])


async def _ldap_id(ctx: Context, found: tuple[dict[str, Any], str] | None) -> str | None:
    """With auth.ldap, a user with no chatd password whom the LDAP sync brought in logs in
    through LDAP: their LDAP id (else None: the chatd password decides)."""
    if not ctx.cfg.auth.ldap or found is None or found[1] != users_store.NO_PASSWORD:
        return None
    from .store import directory

    return await ctx.readers.read(directory.ldap_id, found[0]["id"])  # type: ignore[no-any-return]


async def _ldap_check(ctx: Context, username: str, password: str, ldap_id: str) -> bool:
    """A bind as the person's LDAP entry, in a worker thread under a deadline. An LDAP server
    that is down or slow refuses the login (and says so in the log)."""
    from .directory_ldap import LdapError, check_password

    cfg = ctx.cfg.directory
    with trio.move_on_after(cfg.ldap_timeout_s * 4):
        try:
            found = await trio.to_thread.run_sync(check_password, cfg, username, password, abandon_on_cancel=True)
        except LdapError as exc:
            log.warning("login through LDAP failed: the server did not answer: %s", exc)
            return False
        return found == ldap_id
    log.warning("login through LDAP failed: no answer within %ss", cfg.ldap_timeout_s * 4)
    return False


def _disabled(ctx: Context) -> ChatError:
    if ctx.cfg.auth.reveal_disabled:
        return ChatError("user_disabled", "this account is disabled")
    return ChatError("auth_failed", "wrong username or password")


def _name(value: str | None) -> str:
    return repr((value or "")[:64])


async def login(
    ctx: Context, *, username: str | None, password: str | None, token: str | None, device: str, address: str = "", via: str = "ws"
) -> tuple[dict[str, Any], str]:
    """_login, counted by its result (ok or the error code) for /metrics."""
    try:
        found = await _login(ctx, username=username, password=password, token=token, device=device, address=address, via=via)
    except ChatError as err:
        ctx.metrics.login(via, err.code)
        raise
    ctx.metrics.login(via, "ok")
    return found


def _fields(user: str | None, address: str, device: str, via: str, result: str, method: str) -> dict[str, Any]:
    """A login line's fields, for `log.format = "json"` (chatd.logs)."""
    return {"extra": {"fields": {"event": "login", "user": user, "address": address, "device": device, "via": via, "result": result, "method": method}}}


async def _login(
    ctx: Context, *, username: str | None, password: str | None, token: str | None, device: str, address: str, via: str
) -> tuple[dict[str, Any], str]:
    """Check credentials; returns (user, token). A password login issues a new token.

    `address` is the client's IP address: failed logins are counted per address and, for
    password logins, per account (chatd.services.login_guard); while either must wait, the
    login answers rate_limited with retry_after_ms before any password is checked.
    A disabled account answers auth_failed, whatever the password, unless
    `auth.reveal_disabled`. Every login that is checked is logged (never a password or token)."""
    guard = ctx.services.login_guard
    addr = address_key(address)
    where = f"address={address or '?'} device={_name(device)} via={via}"
    if token:
        guard.check(addr, None)
        user = await ctx.readers.read(users_store.token_user, token)
        if user is None or user["disabled"]:
            guard.failed(addr, None)
            log.warning("login failed: %s token %s", "disabled account's" if user else "unknown or expired", where, **_fields(user and user["name"], address, device, via, "auth_failed", "token"))
            if user is None:
                raise ChatError("auth_failed", "unknown or expired token", field="token")
            raise _disabled(ctx)
        log.info("login: user=%s by token %s", _name(user["name"]), where, **_fields(user["name"], address, device, via, "ok", "token"))
        return user, token
    if not username or password is None:
        raise ChatError("bad_request", "give a token, or a username and a password", field="username" if not username else "password")
    account = account_key(username)
    try:
        guard.check(addr, account)
        found = await ctx.readers.read(users_store.password_login_row, username)
        ldap_id = await _ldap_id(ctx, found)
        if ldap_id is not None:
            ok, new_hash = await _ldap_check(ctx, found[0]["name"], password, ldap_id), None  # type: ignore[index]
        else:
            ok, new_hash = await guard.hash_check(addr, account, lambda: _check(ctx.cfg.auth, found, password))
    except ChatError as err:
        if err.code == "rate_limited":
            log.info("login refused (rate_limited, retry in %d ms): user=%s %s", err.retry_after_ms or 0, _name(username), where, **_fields(username[:64], address, device, via, "rate_limited", "password"))
        raise
    if not found or not ok or found[0]["disabled"]:
        wait = guard.failed(addr, account)
        reason = "no such user" if not found else "wrong password" if not ok else "account disabled"
        log.warning("login failed (%s): user=%s %s%s", reason, _name(username), where, f"; must wait {wait} ms" if wait else "", **_fields(username[:64], address, device, via, "auth_failed", "password"))
        if found and ok:
            raise _disabled(ctx)
        raise ChatError("auth_failed", "wrong username or password")
    user = found[0]
    guard.succeeded(addr, account)
    if new_hash is not None and await ctx.writer.submit(users_store.op_upgrade_password_hash, user["id"], found[1], new_hash):
        log.info("login: user=%s: password hash upgraded to the configured parameters", _name(user["name"]))
    new_token = secrets.token_urlsafe(32)
    ttl_ms = ctx.cfg.auth.token_ttl_days * 86_400_000
    await ctx.writer.submit(users_store.op_issue_token, user["id"], new_token, device, ttl_ms)
    log.info("login: user=%s by password %s", _name(user["name"]), where, **_fields(user["name"], address, device, via, "ok", "password"))
    return user, new_token

"""The social graph's storage (schema migration 11): friendships, friend requests, blocks, the
DM whitelist and each user's privacy settings; and the facts the rules of chatd.policy.social
need, loaded in one statement.

A friendship is two rows, one per side, each with its owner's remark. A friend request is one
row per (from, to): asking again refreshes it. A pending request past expires_at reads as
expired; it is not deleted (asking again makes it pending anew).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy.social import DEFAULT_POLICY, Facts
from .users import public_user

_USER = "{a}.id, {a}.name, {a}.display_name, {a}.is_admin, {a}.is_bot"
_N = 5  # the columns of _USER


def _user(r: tuple[Any, ...], i: int = 0) -> dict[str, Any]:
    return public_user({"id": r[i], "name": r[i + 1], "display_name": r[i + 2], "is_admin": bool(r[i + 3]), "is_bot": r[i + 4]})


# --- users as targets ---------------------------------------------------------------------


def require_target(conn: sqlite3.Connection, me: int, target: int, *, enabled: bool = True, field: str = "user_id") -> None:
    """Another user who exists (and, with `enabled`, whose account is not disabled)."""
    if target == me:
        raise ChatError("bad_request", "this needs another user, not yourself", field=field)
    row = conn.execute("SELECT disabled FROM users WHERE id = ?", (target,)).fetchone()
    if row is None:
        raise ChatError("not_found", f"no user with id {target}", field=field)
    if enabled and row[0]:
        raise ChatError("forbidden", "this user's account is disabled", field=field)


# --- the facts of the rules ---------------------------------------------------------------

_FACTS = (
    "SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id = ?2 AND blocked_id = ?1), "
    "EXISTS (SELECT 1 FROM blocks WHERE user_id = ?1 AND blocked_id = ?2), "
    "EXISTS (SELECT 1 FROM friendships WHERE user_id = ?2 AND friend_id = ?1), "
    "EXISTS (SELECT 1 FROM dm_whitelist WHERE user_id = ?2 AND allowed_id = ?1), "
    "p.dm_policy, p.friend_requests FROM (SELECT 1) LEFT JOIN privacy p ON p.user_id = ?2"
)


def facts(conn: sqlite3.Connection, actor: int, target: int) -> Facts:
    """What chatd.policy.social.may needs of the actor reaching the target (but `engaged`)."""
    tb, ab, fr, wl, policy, accepts = conn.execute(_FACTS, (actor, target)).fetchone()
    return Facts(bool(tb), bool(ab), bool(fr), bool(wl), policy or DEFAULT_POLICY, accepts is None or bool(accepts))


def engaged(conn: sqlite3.Connection, conv_id: int, target: int) -> bool:
    """The target has written in this conversation (loaded only when a policy would refuse)."""
    return conn.execute("SELECT 1 FROM messages WHERE conv_id = ? AND sender_id = ? LIMIT 1", (conv_id, target)).fetchone() is not None


def blockers_among(conn: sqlite3.Connection, user_id: int, candidates: list[int]) -> set[int]:
    """The candidates who blocked user_id."""
    return _blocks_among(conn, "user_id", "blocked_id", user_id, candidates)


def blocked_among(conn: sqlite3.Connection, user_id: int, candidates: list[int]) -> set[int]:
    """The candidates user_id blocked."""
    return _blocks_among(conn, "blocked_id", "user_id", user_id, candidates)


def _blocks_among(conn: sqlite3.Connection, found: str, given: str, user_id: int, candidates: list[int]) -> set[int]:
    ids = sorted(set(candidates))
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    return {r[0] for r in conn.execute(f"SELECT {found} FROM blocks WHERE {given} = ? AND {found} IN ({marks})", [user_id, *ids])}


def blockers_in(conn: sqlite3.Connection, user_id: int, conv_id: int) -> set[int]:
    """The members of a conversation who blocked user_id."""
    return {r[0] for r in conn.execute("SELECT b.user_id FROM blocks b JOIN members m ON m.conv_id = ? AND m.user_id = b.user_id WHERE b.blocked_id = ?", (conv_id, user_id))}


def blocks(conn: sqlite3.Connection, user_id: int, other: int) -> bool:
    """user_id blocked other."""
    return conn.execute("SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?", (user_id, other)).fetchone() is not None


def presence_audience(conn: sqlite3.Connection, user_id: int) -> list[int]:
    """Who hears the user come and go: DM peers and friends, but not those who blocked the user."""
    rows = conn.execute(
        "SELECT o.user_id FROM members m JOIN conversations c ON c.id = m.conv_id AND c.kind = 'dm' "
        "JOIN members o ON o.conv_id = m.conv_id AND o.user_id != m.user_id WHERE m.user_id = ?1 "
        "UNION SELECT friend_id FROM friendships WHERE user_id = ?1 "
        "EXCEPT SELECT user_id FROM blocks WHERE blocked_id = ?1",
        (user_id,),
    )
    return [r[0] for r in rows]


def remarks(conn: sqlite3.Connection, owner: int, ids: list[int]) -> dict[int, str]:
    """The owner's remarks for these users (those with none are left out)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(conn.execute(f"SELECT friend_id, remark FROM friendships WHERE user_id = ? AND remark != '' AND friend_id IN ({marks})", [owner, *ids]).fetchall())


# --- friendships --------------------------------------------------------------------------

_FRIEND = f"SELECT {_USER.format(a='u')}, f.remark, f.created_at FROM friendships f JOIN users u ON u.id = f.friend_id"


def _friend(r: tuple[Any, ...]) -> dict[str, Any]:
    return {"user": _user(r), "remark": r[_N], "online": False, "since": r[_N + 1]}


def friend(conn: sqlite3.Connection, owner: int, friend_id: int) -> dict[str, Any] | None:
    """The owner's entry for this friend (online filled by the caller), or None."""
    r = conn.execute(f"{_FRIEND} WHERE f.user_id = ? AND f.friend_id = ?", (owner, friend_id)).fetchone()
    return None if r is None else _friend(r)


def friends_page(conn: sqlite3.Connection, owner: int, limit: int, offset: int) -> dict[str, Any]:
    (total,) = conn.execute("SELECT COUNT(*) FROM friendships WHERE user_id = ?", (owner,)).fetchone()
    rows = conn.execute(f"{_FRIEND} WHERE f.user_id = ? ORDER BY u.name COLLATE NOCASE, u.id LIMIT ? OFFSET ?", (owner, limit, offset)).fetchall()
    return {"friends": [_friend(r) for r in rows], "total": total, "has_more": offset + len(rows) < total}


def add_friendship(ctx: Any, a: int, b: int) -> None:
    ctx.conn.executemany(
        "INSERT OR IGNORE INTO friendships (user_id, friend_id, created_at) VALUES (?, ?, ?)", [(a, b, ctx.now), (b, a, ctx.now)]
    )


def remove_friendship(ctx: Any, a: int, b: int) -> bool:
    cur = ctx.conn.execute("DELETE FROM friendships WHERE (user_id = ?1 AND friend_id = ?2) OR (user_id = ?2 AND friend_id = ?1)", (a, b))
    return cur.rowcount > 0


def set_remark(ctx: Any, owner: int, friend_id: int, remark: str) -> bool:
    cur = ctx.conn.execute("UPDATE friendships SET remark = ? WHERE user_id = ? AND friend_id = ?", (remark, owner, friend_id))
    return cur.rowcount > 0


# --- friend requests ----------------------------------------------------------------------

_REQUEST = (
    f"SELECT {_USER.format(a='f')}, {_USER.format(a='t')}, r.message, r.status, r.created_at, r.expires_at, r.decided_at "
    "FROM friend_requests r JOIN users f ON f.id = r.from_id JOIN users t ON t.id = r.to_id"
)


def _request(r: tuple[Any, ...], now: int) -> dict[str, Any]:
    message, status, created_at, expires_at, decided_at = r[2 * _N :]
    if status == "pending" and expires_at <= now:
        status = "expired"
    return {"from_user": _user(r), "to_user": _user(r, _N), "message": message, "status": status, "created_at": created_at, "expires_at": expires_at, "decided_at": decided_at}


def request(conn: sqlite3.Connection, from_id: int, to_id: int, now: int) -> dict[str, Any] | None:
    """The request from one user to another as it stands (status expired past its time), or None."""
    r = conn.execute(f"{_REQUEST} WHERE r.from_id = ? AND r.to_id = ?", (from_id, to_id)).fetchone()
    return None if r is None else _request(r, now)


def requests_page(conn: sqlite3.Connection, user_id: int, incoming: bool, limit: int, offset: int, now: int) -> dict[str, Any]:
    """The requests the user received (or sent), newest first."""
    col = "to_id" if incoming else "from_id"
    (total,) = conn.execute(f"SELECT COUNT(*) FROM friend_requests WHERE {col} = ?", (user_id,)).fetchone()
    rows = conn.execute(f"{_REQUEST} WHERE r.{col} = ? ORDER BY r.created_at DESC, r.from_id, r.to_id LIMIT ? OFFSET ?", (user_id, limit, offset)).fetchall()
    return {"requests": [_request(r, now) for r in rows], "total": total, "has_more": offset + len(rows) < total}


def put_request(ctx: Any, from_id: int, to_id: int, message: str, ttl_ms: int) -> None:
    """A pending request; asked again, the same row is pending anew with the new message and expiry."""
    ctx.conn.execute(
        "INSERT INTO friend_requests (from_id, to_id, message, created_at, expires_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (from_id, to_id) DO UPDATE SET message = excluded.message, status = 'pending', "
        "created_at = excluded.created_at, expires_at = excluded.expires_at, decided_at = 0",
        (from_id, to_id, message, ctx.now, ctx.now + ttl_ms),
    )


def decide_request(ctx: Any, from_id: int, to_id: int, status: str) -> None:
    ctx.conn.execute("UPDATE friend_requests SET status = ?, decided_at = ? WHERE from_id = ? AND to_id = ?", (status, ctx.now, from_id, to_id))


def sends_since(conn: sqlite3.Connection, user_id: int, since: int) -> tuple[int, int]:
    """How many friend requests the user sent after `since`, and when the oldest of them was."""
    n, oldest = conn.execute("SELECT COUNT(*), MIN(at) FROM friend_request_sends WHERE user_id = ? AND at > ?", (user_id, since)).fetchone()
    return int(n), int(oldest or 0)


def record_send(ctx: Any, user_id: int, forget_before: int) -> None:
    ctx.conn.execute("DELETE FROM friend_request_sends WHERE user_id = ? AND at <= ?", (user_id, forget_before))
    ctx.conn.execute("INSERT INTO friend_request_sends (user_id, at) VALUES (?, ?)", (user_id, ctx.now))


# --- blocks and the DM whitelist ------------------------------------------------------------

# list name -> (table, column of the listed user)
LISTS = {"blocks": ("blocks", "blocked_id"), "dm_whitelist": ("dm_whitelist", "allowed_id")}


def list_add(ctx: Any, name: str, owner: int, other: int) -> bool:
    """False when listed already."""
    table, col = LISTS[name]
    cur = ctx.conn.execute(f"INSERT OR IGNORE INTO {table} (user_id, {col}, created_at) VALUES (?, ?, ?)", (owner, other, ctx.now))
    return cur.rowcount > 0


def list_remove(ctx: Any, name: str, owner: int, other: int) -> bool:
    """False when not listed."""
    table, col = LISTS[name]
    return ctx.conn.execute(f"DELETE FROM {table} WHERE user_id = ? AND {col} = ?", (owner, other)).rowcount > 0  # type: ignore[no-any-return]


def list_page(conn: sqlite3.Connection, name: str, owner: int, limit: int, offset: int) -> dict[str, Any]:
    table, col = LISTS[name]
    (total,) = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (owner,)).fetchone()
    rows = conn.execute(
        f"SELECT {_USER.format(a='u')}, l.created_at FROM {table} l JOIN users u ON u.id = l.{col} "
        "WHERE l.user_id = ? ORDER BY l.created_at DESC, u.id LIMIT ? OFFSET ?",
        (owner, limit, offset),
    ).fetchall()
    return {"users": [{"user": _user(r), "created_at": r[_N]} for r in rows], "total": total, "has_more": offset + len(rows) < total}


# --- privacy settings -----------------------------------------------------------------------


def privacy(conn: sqlite3.Connection, user_id: int) -> dict[str, Any]:
    row = conn.execute("SELECT dm_policy, friend_requests FROM privacy WHERE user_id = ?", (user_id,)).fetchone()
    return {"policy": row[0], "friend_requests": bool(row[1])} if row else {"policy": DEFAULT_POLICY, "friend_requests": True}


def set_privacy(ctx: Any, user_id: int, policy: str, friend_requests: bool) -> None:
    ctx.conn.execute(
        "INSERT INTO privacy (user_id, dm_policy, friend_requests) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET dm_policy = excluded.dm_policy, friend_requests = excluded.friend_requests",
        (user_id, policy, int(friend_requests)),
    )

"""Membership rows of every kind with members (groups, rooms): who is in, with which role and mute.

A kind's own table (`groups`, `rooms`: the kind store's TABLE) keeps the member
count and the owner; rows of `members` keep each member's role, mute and read
state. Everything here is SQL; who may do what is decided by the role policy
(chatd.policy.roles) in the ops of chatd.core.membership.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from ..errors import ChatError
from ..policy import roles
from .conversations import Access
from .db import now_ms

_MEMBER_ROW = (
    "SELECT m.role, m.muted_until, m.last_read_seq FROM members m JOIN conversations c ON c.id = m.conv_id AND c.kind = ? "
    "WHERE m.conv_id = ? AND m.user_id = ?"
)


def access(
    conn: sqlite3.Connection, policy: roles.Policy, conv_id: int, user_id: int, capability: str, now: int | None, exists: Callable[..., Any]
) -> Access:
    """The access check of a kind with members: loads the user's member row (one primary-key
    lookup; `exists(conn, conv_id)` raises not_found when it has none because there is no such
    conversation) and asks the kind's policy. Whether the user is a server admin is read only
    where the policy lets one act and the row alone does not allow it. Raises not_found,
    not_member, forbidden or muted (with retry_after_ms)."""
    row = conn.execute(_MEMBER_ROW, (policy.kind, conv_id, user_id)).fetchone()
    if row is None:
        exists(conn, conv_id)
        row = (None, 0, 0)
    role, muted_until, last_read = row
    now = now_ms() if now is None else now
    actor = roles.Actor(user_id, role, False, muted_until)
    if policy.server_admin_acts_as_owner and not roles.allowed(policy, actor, capability, now):
        actor = actor._replace(server_admin=is_server_admin(conn, user_id))
    roles.require(policy, actor, capability, now)
    return Access(conv_id, user_id, role, muted_until, last_read, 0, actor.server_admin)


def is_server_admin(conn: sqlite3.Connection, user_id: int) -> bool:
    row = conn.execute("SELECT is_admin FROM users WHERE id = ? AND disabled = 0", (user_id,)).fetchone()
    return bool(row and row[0])


def display_names(conn: sqlite3.Connection, ids: list[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r[0]: r[1] for r in conn.execute(f"SELECT id, display_name FROM users WHERE id IN ({marks})", ids)}


def live_users(conn: sqlite3.Connection, ids: list[int], field_name: str) -> list[int]:
    """These user ids, sorted, if every one is an enabled account; not_found naming the others."""
    ids = sorted(set(ids))
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    found = {r[0] for r in conn.execute(f"SELECT id FROM users WHERE id IN ({marks}) AND disabled = 0", ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ChatError("not_found", f"no such users: {missing[:5]}", field=field_name)
    return ids


def target(conn: sqlite3.Connection, conv_id: int, user_id: int, noun: str) -> tuple[str, int]:
    """Another member's (role, muted_until); not_found when they are not a member."""
    row = conn.execute("SELECT role, muted_until FROM members WHERE conv_id = ? AND user_id = ?", (conv_id, user_id)).fetchone()
    if row is None:
        raise ChatError("not_found", f"this user is not a member of the {noun}", field="user_id")
    return str(row[0]), int(row[1])


def role_of(conn: sqlite3.Connection, conv_id: int, user_id: int) -> str | None:
    row = conn.execute("SELECT role FROM members WHERE conv_id = ? AND user_id = ?", (conv_id, user_id)).fetchone()
    return None if row is None else str(row[0])


def member_count(conn: sqlite3.Connection, table: str, conv_id: int) -> int:
    (count,) = conn.execute(f"SELECT member_count FROM {table} WHERE conv_id = ?", (conv_id,)).fetchone()
    return int(count)


def owner_of(conn: sqlite3.Connection, table: str, conv_id: int) -> int:
    (owner,) = conn.execute(f"SELECT owner_id FROM {table} WHERE conv_id = ?", (conv_id,)).fetchone()
    return int(owner)


def add(ctx: Any, table: str, conv_id: int, user_ids: list[int], *, role: str = "member", read_seq: int = 0, muted_until: int = 0) -> None:
    """Add members (with one role, read pointer and mute) and count them."""
    ctx.conn.executemany(
        "INSERT INTO members (conv_id, user_id, role, last_read_seq, muted_until, joined_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(conv_id, u, role, read_seq, muted_until, ctx.now) for u in user_ids],
    )
    ctx.conn.execute(f"UPDATE {table} SET member_count = member_count + ? WHERE conv_id = ?", (len(user_ids), conv_id))


def set_read(conn: sqlite3.Connection, conv_id: int, user_ids: list[int], seq: int) -> None:
    conn.executemany("UPDATE members SET last_read_seq = ? WHERE conv_id = ? AND user_id = ?", [(seq, conv_id, u) for u in user_ids])


def remove(conn: sqlite3.Connection, table: str, conv_id: int, user_id: int) -> int:
    """Remove a member; returns how many are left."""
    conn.execute("DELETE FROM members WHERE conv_id = ? AND user_id = ?", (conv_id, user_id))
    (left,) = conn.execute(f"UPDATE {table} SET member_count = member_count - 1 WHERE conv_id = ? RETURNING member_count", (conv_id,)).fetchone()
    return int(left)


def set_muted(conn: sqlite3.Connection, conv_id: int, user_id: int, until: int) -> None:
    conn.execute("UPDATE members SET muted_until = ? WHERE conv_id = ? AND user_id = ?", (until, conv_id, user_id))


def set_role(conn: sqlite3.Connection, conv_id: int, user_id: int, role: str) -> None:
    """A new role; a member made admin or owner is no longer muted."""
    conn.execute(
        "UPDATE members SET role = ?, muted_until = CASE WHEN ? = 'member' THEN muted_until ELSE 0 END WHERE conv_id = ? AND user_id = ?",
        (role, role, conv_id, user_id),
    )


def set_owner(conn: sqlite3.Connection, table: str, conv_id: int, user_id: int) -> None:
    conn.execute(f"UPDATE {table} SET owner_id = ? WHERE conv_id = ?", (user_id, conv_id))


def create_conversation(ctx: Any, kind: str, name: str) -> int:
    cur = ctx.conn.execute("INSERT INTO conversations (kind, name, last_activity, created_at) VALUES (?, ?, ?, ?)", (kind, name, ctx.now, ctx.now))
    return int(cur.lastrowid)  # type: ignore[arg-type]


def rename(conn: sqlite3.Connection, conv_id: int, name: str) -> None:
    conn.execute("UPDATE conversations SET name = ? WHERE id = ?", (name, conv_id))


def update_columns(conn: sqlite3.Connection, table: str, conv_id: int, values: dict[str, Any]) -> None:
    """Set columns of the kind's own row (names come from the kind's code, never from a client)."""
    for column, value in values.items():
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE conv_id = ?", (value, conv_id))

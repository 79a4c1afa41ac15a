"""A community's roles in SQL: listing, creating, editing, deleting and assigning them.

The positions each write leaves are the policy's answer (chatd.policy.community_roles
positions_after_*); the store writes them as given. Every write here bumps the community's
version: each can change what somebody may do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from ..policy.community_perms import names
from .community import bump, require_member


def roles(conn: sqlite3.Connection, community_id: int) -> list[dict[str, Any]]:
    """The community's roles, highest first (@everyone last), each with its member count."""
    counts = dict(conn.execute("SELECT role_id, COUNT(*) FROM community_member_roles WHERE community_id = ? GROUP BY role_id", (community_id,)).fetchall())
    rows = conn.execute("SELECT id, name, position, allow FROM community_roles WHERE community_id = ? ORDER BY position DESC", (community_id,)).fetchall()
    return [{"role_id": r[0], "name": r[1], "position": r[2], "allow": list(names(r[3])), "member_count": counts.get(r[0], 0)} for r in rows]


def role(conn: sqlite3.Connection, role_id: int) -> dict[str, Any]:
    r = conn.execute("SELECT id, name, position, allow FROM community_roles WHERE id = ?", (role_id,)).fetchone()
    (n,) = conn.execute("SELECT COUNT(*) FROM community_member_roles WHERE role_id = ?", (role_id,)).fetchone()
    return {"role_id": r[0], "name": r[1], "position": r[2], "allow": list(names(r[3])), "member_count": n}


def _positions(conn: sqlite3.Connection, positions: Mapping[int, int]) -> None:
    conn.executemany("UPDATE community_roles SET position = ? WHERE id = ?", [(p, i) for i, p in positions.items()])


def insert(ctx: Any, community_id: int, name: str, position: int, allow: int, positions: Mapping[int, int]) -> int:
    """A new role at `position`, the others moved to `positions`; returns its id."""
    _positions(ctx.conn, positions)
    cur = ctx.conn.execute(
        "INSERT INTO community_roles (community_id, name, position, allow, created_at) VALUES (?, ?, ?, ?, ?)", (community_id, name, position, allow, ctx.now)
    )
    bump(ctx.conn, community_id)
    return int(cur.lastrowid)  # type: ignore[arg-type]


def update(conn: sqlite3.Connection, community_id: int, role_id: int, name: str, allow: int, positions: Mapping[int, int]) -> None:
    """Rename a role, set its capabilities and every role's position (the edited one's included)."""
    conn.execute("UPDATE community_roles SET name = ?, allow = ? WHERE id = ?", (name, allow, role_id))
    _positions(conn, positions)
    bump(conn, community_id)


def delete(conn: sqlite3.Connection, community_id: int, role_id: int, positions: Mapping[int, int]) -> None:
    """Delete a role, its assignments and its overwrites; the others moved to `positions`."""
    conn.execute("DELETE FROM community_member_roles WHERE role_id = ?", (role_id,))
    conn.execute("DELETE FROM community_overwrites WHERE community_id = ? AND target = 'role' AND target_id = ?", (community_id, role_id))
    conn.execute("DELETE FROM community_roles WHERE id = ?", (role_id,))
    _positions(conn, positions)
    bump(conn, community_id, assignments=True)


def assign(conn: sqlite3.Connection, community_id: int, user_id: int, add: Iterable[int], remove: Iterable[int]) -> list[int]:
    """Give a member roles and take others away; returns the member's role ids now."""
    conn.executemany("INSERT OR IGNORE INTO community_member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)", [(community_id, user_id, r) for r in add])
    conn.executemany("DELETE FROM community_member_roles WHERE community_id = ? AND user_id = ? AND role_id = ?", [(community_id, user_id, r) for r in remove])
    bump(conn, community_id, assignments=True)
    rows = conn.execute("SELECT role_id FROM community_member_roles WHERE community_id = ? AND user_id = ? ORDER BY role_id", (community_id, user_id))
    return [r[0] for r in rows]


def roles_for(conn: sqlite3.Connection, community_id: int, user_id: int) -> dict[str, Any]:
    """The role list for a member of the community; not_found for anyone else."""
    require_member(conn, community_id, user_id)
    return {"community_id": community_id, "roles": roles(conn, community_id)}


def reorder(conn: sqlite3.Connection, community_id: int, positions: Mapping[int, int]) -> None:
    """Set the positions given (role id -> position), checked by the policy beforehand."""
    _positions(conn, positions)
    bump(conn, community_id)

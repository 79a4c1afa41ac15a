"""Requests to join a community whose join_mode is request (table community_join_requests, schema migration 10).

A request is pending until a member with invite or manage_community decides it; a decided
one is kept (approved or refused) so that deciding it again is told apart from no request.
Asking again (community_join) makes it pending anew.
"""

from __future__ import annotations

import sqlite3
from typing import Any

_COLS = "r.community_id, r.user_id, u.name, u.display_name, r.message, r.status, r.created_at, r.decided_by, r.decided_at"


def record(ctx: Any, community_id: int, user_id: int, message: str) -> None:
    """A pending request (a request asked again is pending again, with the new message)."""
    ctx.conn.execute(
        "INSERT INTO community_join_requests (community_id, user_id, message, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (community_id, user_id) DO UPDATE SET message = excluded.message, created_at = excluded.created_at, "
        "status = 'pending', decided_by = 0, decided_at = 0",
        (community_id, user_id, message, ctx.now),
    )


def _view(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "community_id": r[0],
        "user_id": r[1],
        "name": r[2],
        "display_name": r[3],
        "message": r[4],
        "status": r[5],
        "created_at": r[6],
        "decided_by": r[7],
        "decided_at": r[8],
    }


def one(conn: sqlite3.Connection, community_id: int, user_id: int) -> dict[str, Any] | None:
    r = conn.execute(
        f"SELECT {_COLS} FROM community_join_requests r JOIN users u ON u.id = r.user_id WHERE r.community_id = ? AND r.user_id = ?",
        (community_id, user_id),
    ).fetchone()
    return None if r is None else _view(r)


def pending_page(conn: sqlite3.Connection, community_id: int, limit: int, offset: int) -> dict[str, Any]:
    """The pending requests, oldest first."""
    where = "r.community_id = ? AND r.status = 'pending'"
    (total,) = conn.execute(f"SELECT COUNT(*) FROM community_join_requests r WHERE {where}", (community_id,)).fetchone()
    rows = conn.execute(
        f"SELECT {_COLS} FROM community_join_requests r JOIN users u ON u.id = r.user_id WHERE {where} "
        "ORDER BY r.created_at, r.user_id LIMIT ? OFFSET ?",
        (community_id, limit, offset),
    ).fetchall()
    return {"requests": [_view(r) for r in rows], "total": total, "has_more": offset + len(rows) < total}


def decide(ctx: Any, community_id: int, user_id: int, by: int, status: str) -> None:
    ctx.conn.execute(
        "UPDATE community_join_requests SET status = ?, decided_by = ?, decided_at = ? WHERE community_id = ? AND user_id = ?",
        (status, by, ctx.now, community_id, user_id),
    )

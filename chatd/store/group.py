"""Groups: the one membership check, group rows, lists, members, requests and read counts.

A group is a conversation of kind 'group'; its id is the conversation id. Roles
(owner, admin, member), member mutes and per-user settings live in `members`;
what only groups have lives in `groups`. Every group command, reader or writer
op, goes through require_member (a non-member's join goes through group_row).
"""

from __future__ import annotations

import bisect
import sqlite3
from typing import Any

from ..errors import ChatError
from . import chat
from .chat import Access
from .users import USER_COLS, public_user, user_row

KIND = "group"
RANK = {"member": 0, "admin": 1, "owner": 2}
_NEED = {"read": 0, "send": 0, "admin": 1, "owner": 2}
_GROUP_COLS = (
    "g.conv_id, c.name, g.avatar, g.description, g.owner_id, g.created_by, g.member_count, g.join_by_id, g.approval, "
    "g.invite_code, c.created_at, c.last_seq"
)


# --- the membership check -------------------------------------------------------------


def require_member(conn: sqlite3.Connection, group_id: int, user_id: int, need: str = "read", now: int | None = None) -> Access:
    """The one place that decides whether a user may act in a group.

    need: "read" (any member), "send" (a member not muted now), "admin" (owner or
    admin), "owner". Raises not_found (no such group), not_member, forbidden or
    muted (with retry_after_ms). One primary-key lookup when the user is a member.
    """
    row = conn.execute(
        "SELECT m.role, m.muted_until, m.last_read_seq FROM members m JOIN conversations c ON c.id = m.conv_id AND c.kind = 'group' "
        "WHERE m.conv_id = ? AND m.user_id = ?",
        (group_id, user_id),
    ).fetchone()
    if row is None:
        group_row(conn, group_id)
        raise ChatError("not_member", "you are not a member of this group", field="group_id")
    role, muted_until, last_read = row
    if RANK[role] < _NEED[need]:
        who = "owner" if need == "owner" else "owner and admins"
        raise ChatError("forbidden", f"only the group's {who} can do this")
    if need == "send" and muted_until:
        left = chat.remaining_ms(muted_until, now)
        if left:
            raise ChatError("muted", f"you are muted in this group for {(left + 999) // 1000} more s", retry_after_ms=left)
    return Access(group_id, user_id, role, muted_until, last_read)


def group_row(conn: sqlite3.Connection, group_id: int) -> tuple[Any, ...]:
    """The group's row (see _GROUP_COLS); not_found when there is no such (live) group."""
    row = conn.execute(
        f"SELECT {_GROUP_COLS} FROM groups g JOIN conversations c ON c.id = g.conv_id WHERE g.conv_id = ? AND g.dissolved_at IS NULL",
        (group_id,),
    ).fetchone()
    if row is None:
        raise ChatError("not_found", f"no group with id {group_id}", field="group_id")
    return row


def group_view(row: tuple[Any, ...], role: str | None) -> dict[str, Any]:
    """A Group as the wire carries it; `role` is the asking user's (None: not a member)."""
    return {
        "group_id": row[0],
        "name": row[1],
        "avatar": row[2],
        "description": row[3],
        "owner_id": row[4],
        "created_by": row[5],
        "member_count": row[6],
        "join_by_id": bool(row[7]),
        "approval": bool(row[8]),
        "invite_code": row[9] if role is not None else None,
        "created_at": row[10],
        "last_seq": row[11],
        "role": role,
    }


def get_group(conn: sqlite3.Connection, group_id: int, user_id: int) -> dict[str, Any]:
    acc = require_member(conn, group_id, user_id)
    return group_view(group_row(conn, group_id), acc.role)


def admin_ids(conn: sqlite3.Connection, group_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT user_id FROM members WHERE conv_id = ? AND role IN ('owner', 'admin')", (group_id,))]


extra = chat.entry_extra("groups", "group_id")  # what a group adds to a conversation entry


def views(conn: sqlite3.Connection, group_id: int, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    return chat.views(conn, group_id, user_ids, extra)


# --- readers ----------------------------------------------------------------------------


def list_groups(conn: sqlite3.Connection, user_id: int, limit: int, offset: int) -> dict[str, Any]:
    """chat_group_list: the user's groups, newest activity first."""
    (total,) = conn.execute(
        "SELECT COUNT(*) FROM members m JOIN conversations c ON c.id = m.conv_id AND c.kind = 'group' WHERE m.user_id = ?", (user_id,)
    ).fetchone()
    rows = conn.execute(
        f"SELECT {_GROUP_COLS}, m.role FROM members m JOIN conversations c ON c.id = m.conv_id AND c.kind = 'group' "
        f"JOIN groups g ON g.conv_id = c.id WHERE m.user_id = ? ORDER BY {chat.NEWEST_ACTIVITY} LIMIT ? OFFSET ?",
        (user_id, limit, offset),
    ).fetchall()
    return {"groups": [group_view(r[:-1], r[-1]) for r in rows], "total": total}


def conversations_for(conn: sqlite3.Connection, user_id: int, limit: int, unread_only: bool) -> list[dict[str, Any]]:
    return chat.conversations(conn, user_id, KIND, limit=limit, unread_only=unread_only, extra=extra)


def members_page(conn: sqlite3.Connection, group_id: int, user_id: int, limit: int, offset: int, now: int) -> dict[str, Any]:
    """chat_group_members: owner first, then admins, then members by join time."""
    require_member(conn, group_id, user_id)
    (total,) = conn.execute("SELECT member_count FROM groups WHERE conv_id = ?", (group_id,)).fetchone()
    rows = conn.execute(
        f"SELECT m.role, m.muted_until, m.joined_at, u.{USER_COLS.replace(', ', ', u.')} FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.conv_id = ? ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.joined_at, m.user_id "
        "LIMIT ? OFFSET ?",
        (group_id, limit, offset),
    ).fetchall()
    members = []
    for r in rows:
        user = user_row(r[3:])
        assert user is not None
        muted_until = r[1] if r[1] > now else 0
        members.append({"user": public_user(user), "role": r[0], "muted": bool(muted_until), "muted_until": muted_until, "joined_at": r[2]})
    return {"members": members, "total": total, "has_more": offset + len(rows) < total}


# --- requests ---------------------------------------------------------------------------

REQUEST_COLS = "r.id, r.conv_id, r.inviter_id, r.kind, r.status, r.message, r.created_at, r.decided_by, r.decided_at"


def request_view(conn: sqlite3.Connection, request_id: int) -> dict[str, Any]:
    rows = _requests(conn, "r.id = ?", [request_id])
    if not rows:
        raise ChatError("not_found", f"no request with id {request_id}", field="request_id")
    return rows[0]


def _requests(conn: sqlite3.Connection, where: str, args: list[Any], tail: str = "") -> list[dict[str, Any]]:
    out = []
    cols = "u." + USER_COLS.replace(", ", ", u.")
    for r in conn.execute(f"SELECT {REQUEST_COLS}, {cols} FROM group_requests r JOIN users u ON u.id = r.user_id WHERE {where} {tail}", args):
        user = user_row(r[9:])
        assert user is not None
        out.append(
            {
                "request_id": r[0],
                "group_id": r[1],
                "user": public_user(user),
                "inviter_id": r[2],
                "kind": r[3],
                "status": r[4],
                "message": r[5],
                "created_at": r[6],
                "decided_by": r[7],
                "decided_at": r[8],
            }
        )
    return out


def list_requests(conn: sqlite3.Connection, user_id: int, d: Any) -> dict[str, Any]:
    """chat_group_requests: a group's requests (owner/admins), or without group_id the user's own."""
    if d.group_id is not None:
        require_member(conn, d.group_id, user_id, "admin")
        where, args = "r.conv_id = ?", [d.group_id]
    else:
        where, args = "(r.user_id = ? OR r.inviter_id = ?)", [user_id, user_id]
    if d.status != "all":
        where += " AND r.status = ?"
        args.append(d.status)
    (total,) = conn.execute(f"SELECT COUNT(*) FROM group_requests r WHERE {where}", args).fetchone()
    items = _requests(conn, where, [*args, d.limit, d.offset], "ORDER BY r.id DESC LIMIT ? OFFSET ?")
    return {"requests": items, "total": total}


# --- read receipts ----------------------------------------------------------------------


def read_counts(conn: sqlite3.Connection, group_id: int, after_seq: int, upto_seq: int, cap: int = 200) -> tuple[int, dict[int, list[dict[str, Any]]]]:
    """For messages with after_seq < seq <= upto_seq (at most the newest `cap`): how many
    members other than the sender have read up to each. Returns (member count, {sender: reads})."""
    pointers = {u: s for u, s in conn.execute("SELECT user_id, last_read_seq FROM members WHERE conv_id = ?", (group_id,))}
    ordered = sorted(pointers.values())
    after_seq = max(after_seq, upto_seq - cap)
    out: dict[int, list[dict[str, Any]]] = {}
    for msg_id, seq, sender in conn.execute(
        "SELECT id, seq, sender_id FROM messages WHERE conv_id = ? AND seq > ? AND seq <= ? AND type != 'system' "
        "AND recalled_at IS NULL ORDER BY seq",
        (group_id, after_seq, upto_seq),
    ):
        if sender not in pointers:
            continue
        count = len(ordered) - bisect.bisect_left(ordered, seq)
        if pointers[sender] >= seq:
            count -= 1
        out.setdefault(sender, []).append({"msg_id": msg_id, "seq": seq, "read_count": count})
    return len(pointers), out

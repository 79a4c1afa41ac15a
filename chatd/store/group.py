"""Groups: the group kind's access check, group rows, lists, members, requests and read counts.

A group is a conversation of kind 'group'; its id is the conversation id. Roles
(owner, admin, member), member mutes and per-user settings live in `members`;
what only groups have lives in `groups`. Every group command, reader or writer
op, goes through access (a non-member's join goes through group_row).
"""

from __future__ import annotations

import bisect
import secrets
import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy import roles
from . import conversations as chat
from . import membership
from .conversations import Access
from .users import USER_COLS, public_user, user_row

KIND = "group"
TABLE = "groups"  # the kind's own row: owner and member count (chatd.store.membership)
_GROUP_COLS = (
    "g.conv_id, c.name, g.avatar, g.description, g.owner_id, g.created_by, g.member_count, g.join_by_id, g.approval, "
    "g.invite_code, c.created_at, c.last_seq"
)


# --- the access check -----------------------------------------------------------------

def access(
    conn: sqlite3.Connection, group_id: int, user_id: int, capability: str = roles.READ, now: int | None = None, missing_ok: bool = False
) -> Access:
    """The one check of every group command (chatd.store.membership.access with the group policy)."""
    return membership.access(conn, roles.GROUP, group_id, user_id, capability, now, group_row)


def open_send(ctx: Any, group_id: int, sender_id: int, client_msg_id: str | None) -> chat.SendTarget:
    """What a send checks: a resend, the sender, then access for sending (see chat.open_member_send)."""
    return chat.open_member_send(ctx, access, group_id, sender_id, client_msg_id)


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


def info(conn: sqlite3.Connection, group_id: int, role: str | None) -> dict[str, Any]:
    """The group as the wire carries it, for a user with this role."""
    return group_view(group_row(conn, group_id), role)


def admin_ids(conn: sqlite3.Connection, group_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT user_id FROM members WHERE conv_id = ? AND role IN ('owner', 'admin')", (group_id,))]


extra = chat.entry_extra("groups", "group_id")  # what a group adds to a conversation entry


def listed(conn: sqlite3.Connection, user_id: int, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The user's entries for these rows of chat.member_rows (chatd.core.conversation_list)."""
    return chat.entries(conn, rows, extra)


def views(conn: sqlite3.Connection, group_id: int, user_ids: list[int], known: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """The group's entry as each of these members sees it (`known`: a message just stored)."""
    return chat.views(conn, group_id, user_ids, extra, known)


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


def conversations(conn: sqlite3.Connection, user_id: int, *, limit: int = 50, unread_only: bool = False) -> list[dict[str, Any]]:
    """The user's group entries, pinned first, then newest activity first."""
    return chat.conversations(conn, user_id, KIND, limit=limit, unread_only=unread_only, extra=extra)


def info_for_member(conn: sqlite3.Connection, group_id: int, user_id: int) -> dict[str, Any]:
    """chat_group_info: the group as chat_group_list shows it, for one of its members."""
    acc = access(conn, group_id, user_id)
    return {"group": info(conn, group_id, acc.role)}


def members_page(conn: sqlite3.Connection, group_id: int, user_id: int, limit: int, offset: int, now: int) -> dict[str, Any]:
    """chat_group_members: owner first, then admins, then members by join time."""
    access(conn, group_id, user_id)
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


def list_requests(conn: sqlite3.Connection, user_id: int, group_id: int | None, status: str, limit: int, offset: int) -> dict[str, Any]:
    """chat_group_requests: a group's requests (who may see them), or without group_id the user's own."""
    if group_id is not None:
        access(conn, group_id, user_id, roles.VIEW_REQUESTS)
        where, args = "r.conv_id = ?", [group_id]
    else:
        where, args = "(r.user_id = ? OR r.inviter_id = ?)", [user_id, user_id]
    if status != "all":
        where += " AND r.status = ?"
        args.append(status)
    (total,) = conn.execute(f"SELECT COUNT(*) FROM group_requests r WHERE {where}", args).fetchone()
    items = _requests(conn, where, [*args, limit, offset], "ORDER BY r.id DESC LIMIT ? OFFSET ?")
    return {"requests": items, "total": total}


# --- writing (inside writer ops) --------------------------------------------------------


def insert_row(conn: sqlite3.Connection, group_id: int, columns: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO groups (conv_id, avatar, description, owner_id, created_by, member_count, join_by_id, approval) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (group_id, columns["avatar"], columns["description"], columns["owner_id"], columns["created_by"], columns["member_count"],
         int(columns["join_by_id"]), int(columns["approval"])),
    )


UPDATABLE = ("avatar", "description", "join_by_id", "invite_code")  # what chat_group_update changes besides the name


def apply_update(conn: sqlite3.Connection, group_id: int, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Set the UPDATABLE fields given (None: unchanged): the changes made, by wire name (a new or
    dropped invite code is reported as true or false, never the code itself)."""
    changes: dict[str, Any] = {}
    for key in ("avatar", "description", "join_by_id"):
        value = fields[key]
        if value is not None and value != current[key]:
            conn.execute(f"UPDATE groups SET {key} = ? WHERE conv_id = ?", (int(value) if key == "join_by_id" else value, group_id))
            changes[key] = value
    if fields["invite_code"] is not None:
        code = secrets.token_urlsafe(9) if fields["invite_code"] else None
        if code is not None or current["invite_code"] is not None:
            conn.execute("UPDATE groups SET invite_code = ? WHERE conv_id = ?", (code, group_id))
            changes["invite_code"] = code is not None
    return changes


def set_approval(conn: sqlite3.Connection, group_id: int, approval: bool) -> bool:
    """Turn approval on or off; whether it changed."""
    cur = conn.execute("UPDATE groups SET approval = ? WHERE conv_id = ? AND approval != ?", (int(approval), group_id, int(approval)))
    return cur.rowcount > 0


def emptied(ctx: Any, group_id: int) -> None:
    """The last member left: the group is dissolved, its invite code and pending requests go."""
    ctx.conn.execute("UPDATE groups SET dissolved_at = ?, invite_code = NULL WHERE conv_id = ?", (ctx.now, group_id))
    ctx.conn.execute("UPDATE group_requests SET status = 'cancelled' WHERE conv_id = ? AND status = 'pending'", (group_id,))


def by_invite_code(conn: sqlite3.Connection, code: str) -> int | None:
    row = conn.execute("SELECT conv_id FROM groups WHERE invite_code = ? AND dissolved_at IS NULL", (code,)).fetchone()
    return None if row is None else int(row[0])


def pending_request(ctx: Any, group_id: int, user_id: int, inviter_id: int, kind: str, message: str) -> tuple[dict[str, Any], bool]:
    """The user's pending request to the group, made now unless one is pending: (request, new)."""
    conn = ctx.conn
    row = conn.execute("SELECT id FROM group_requests WHERE conv_id = ? AND user_id = ? AND status = 'pending'", (group_id, user_id)).fetchone()
    if row is not None:
        return request_view(conn, row[0]), False
    cur = conn.execute(
        "INSERT INTO group_requests (conv_id, user_id, inviter_id, kind, message, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (group_id, user_id, inviter_id, kind, message, ctx.now),
    )
    return request_view(conn, int(cur.lastrowid)), True  # type: ignore[arg-type]


def settle_requests(ctx: Any, group_id: int, user_ids: list[int], actor: int) -> list[dict[str, Any]]:
    """Approve the pending requests of users who just became members."""
    marks = ",".join("?" * len(user_ids))
    ids = [
        r[0]
        for r in ctx.conn.execute(
            f"UPDATE group_requests SET status = 'approved', decided_by = ?, decided_at = ? "
            f"WHERE conv_id = ? AND status = 'pending' AND user_id IN ({marks}) RETURNING id",
            [actor, ctx.now, group_id, *user_ids],
        )
    ]
    return [request_view(ctx.conn, r) for r in ids]


def decide_request(ctx: Any, request_id: int, status: str, actor: int) -> dict[str, Any]:
    ctx.conn.execute("UPDATE group_requests SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?", (status, actor, ctx.now, request_id))
    return request_view(ctx.conn, request_id)


# --- read receipts ----------------------------------------------------------------------


def my_read_counts(conn: sqlite3.Connection, group_id: int, user_id: int, after_seq: int, upto_seq: int | None) -> dict[str, Any]:
    """chat_group_read_counts: the read counts of the member's own messages in a range."""
    access(conn, group_id, user_id)
    top = upto_seq if upto_seq is not None else chat.last_seq(conn, group_id)
    member_count, by_sender = read_counts(conn, group_id, after_seq, top)
    return {"group_id": group_id, "conv_id": group_id, "member_count": member_count, "reads": by_sender.get(user_id, [])}


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

"""Chat rooms: the room kind's access check, room rows, discovery, members, bans.

A room is a conversation of kind 'room'; its id is the conversation id. Anyone
logged in may join (unless a kick's ban is still running); membership lasts until
the user exits or is kicked. Roles (owner, admin, member), read pointers and
member mutes live in `members`; what only rooms have lives in `rooms`; kick bans
and member mutes also live in `room_sanctions`, so exiting and rejoining lifts
neither. Every room command, reader or writer op, goes through access (a join
goes through room_row and the ban check). Server admins may do what a room's
owner may, member or not (the room policy, chatd.policy.roles).

Presence (which connections are in a room now) is in memory, not here: see
chatd.services.room_presence.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy import roles
from . import conversations as chat
from . import membership
from .conversations import Access
from .users import USER_COLS, public_user, user_row

KIND = "room"
TABLE = "rooms"  # the kind's own row: owner and member count (chatd.store.membership)
_ROOM_COLS = "r.conv_id, c.name, r.avatar, r.description, r.owner_id, r.created_by, r.member_count, c.created_at, c.last_seq"


# --- the access check -----------------------------------------------------------------

def access(
    conn: sqlite3.Connection, room_id: int, user_id: int, capability: str = roles.READ, now: int | None = None, missing_ok: bool = False
) -> Access:
    """The one check of every room command (chatd.store.membership.access with the room policy)."""
    return membership.access(conn, roles.ROOM, room_id, user_id, capability, now, room_row)


def open_send(ctx: Any, room_id: int, sender_id: int, client_msg_id: str | None) -> chat.SendTarget:
    """What a send checks: a resend, the sender, then access for sending (see chat.open_member_send)."""
    return chat.open_member_send(ctx, access, room_id, sender_id, client_msg_id)


def room_row(conn: sqlite3.Connection, room_id: int) -> tuple[Any, ...]:
    """The room's row (see _ROOM_COLS); not_found when there is no such (live) room."""
    row = conn.execute(
        f"SELECT {_ROOM_COLS} FROM rooms r JOIN conversations c ON c.id = r.conv_id WHERE r.conv_id = ? AND r.deleted_at IS NULL",
        (room_id,),
    ).fetchone()
    if row is None:
        raise ChatError("not_found", f"no room with id {room_id}", field="room_id")
    return row


def room_view(row: tuple[Any, ...], role: str | None) -> dict[str, Any]:
    """A room's fields; `role` is the asking user's (None: not a member). Who is in the room
    now (`present_count` on the wire) is known to memory only: the handler adds it."""
    return {
        "room_id": row[0],
        "name": row[1],
        "avatar": row[2],
        "description": row[3],
        "owner_id": row[4],
        "created_by": row[5],
        "member_count": row[6],
        "created_at": row[7],
        "last_seq": row[8],
        "role": role or None,
    }


def info(conn: sqlite3.Connection, room_id: int, role: str | None) -> dict[str, Any]:
    """The room as the wire carries it, for a user with this role."""
    return room_view(room_row(conn, room_id), role)


extra = chat.entry_extra("rooms", "room_id")  # what a room adds to a conversation entry


def listed(conn: sqlite3.Connection, user_id: int, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The user's entries for these rows of chat.member_rows (chatd.core.conversation_list)."""
    return chat.entries(conn, rows, extra)


def views(conn: sqlite3.Connection, room_id: int, user_ids: list[int], known: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """The room's entry as each of these members sees it (`known`: a message just stored)."""
    return chat.views(conn, room_id, user_ids, extra, known)


def conversations(conn: sqlite3.Connection, user_id: int, *, limit: int = 50, unread_only: bool = False) -> list[dict[str, Any]]:
    """The user's room entries, pinned first, then newest activity first."""
    return chat.conversations(conn, user_id, KIND, limit=limit, unread_only=unread_only, extra=extra)


# --- readers ----------------------------------------------------------------------------


def list_rooms(conn: sqlite3.Connection, user_id: int, query: str, mine: bool, limit: int, offset: int) -> dict[str, Any]:
    """chat_room_list: live rooms (or only the user's), newest activity first, optionally by name."""
    where, args = ["r.deleted_at IS NULL"], [user_id]
    if query:
        where.append("c.name LIKE ? ESCAPE '\\'")
        args.append("%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if mine:
        where.append("m.user_id IS NOT NULL")
    base = (
        "FROM rooms r JOIN conversations c ON c.id = r.conv_id LEFT JOIN members m ON m.conv_id = r.conv_id AND m.user_id = ? "
        f"WHERE {' AND '.join(where)}"
    )
    (total,) = conn.execute(f"SELECT COUNT(*) {base}", args).fetchone()
    rows = conn.execute(f"SELECT {_ROOM_COLS}, m.role {base} ORDER BY {chat.NEWEST_ACTIVITY} LIMIT ? OFFSET ?", [*args, limit, offset])
    return {"rooms": [room_view(r[:-1], r[-1]) for r in rows], "total": total}


def members_info(conn: sqlite3.Connection, room_id: int, user_id: int, user_ids: list[int], now: int) -> dict[str, Any]:
    """chat_room_members: the member rows of the given (present) users, in the given order, and
    the room's member count. Users that are no longer members are left out."""
    access(conn, room_id, user_id)
    (member_count,) = conn.execute("SELECT member_count FROM rooms WHERE conv_id = ?", (room_id,)).fetchone()
    found: dict[int, dict[str, Any]] = {}
    cols = "u." + USER_COLS.replace(", ", ", u.")
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(
            f"SELECT m.role, m.muted_until, m.joined_at, {cols} FROM members m JOIN users u ON u.id = m.user_id "
            f"WHERE m.conv_id = ? AND m.user_id IN ({marks})",
            [room_id, *chunk],
        ):
            user = user_row(r[3:])
            assert user is not None
            muted_until = r[1] if r[1] > now else 0
            found[user["id"]] = {"user": public_user(user), "role": r[0], "muted": bool(muted_until), "muted_until": muted_until, "joined_at": r[2]}
    return {"members": [found[u] for u in user_ids if u in found], "member_count": member_count}



# --- writing (inside writer ops) --------------------------------------------------------


def insert_row(conn: sqlite3.Connection, room_id: int, columns: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO rooms (conv_id, avatar, description, owner_id, created_by, member_count) VALUES (?, ?, ?, ?, ?, ?)",
        (room_id, columns["avatar"], columns["description"], columns["owner_id"], columns["created_by"], columns["member_count"]),
    )


UPDATABLE = ("avatar", "description")  # what chat_room_update changes besides the name


def apply_update(conn: sqlite3.Connection, room_id: int, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Set the UPDATABLE fields given (None: unchanged): the changes made, by wire name."""
    changes = {key: value for key, value in fields.items() if value is not None and value != current[key]}
    for key, value in changes.items():
        conn.execute(f"UPDATE rooms SET {key} = ? WHERE conv_id = ?", (value, room_id))
    return changes


def emptied(ctx: Any, room_id: int) -> None:
    """The last member left: a room stays, to be joined again."""


def sanction(conn: sqlite3.Connection, room_id: int, user_id: int, column: str, until: int, by: int) -> None:
    """A kick's ban or a member mute, kept apart from membership so leaving and rejoining lifts neither."""
    conn.execute(
        f"INSERT INTO room_sanctions (conv_id, user_id, {column}, by) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (conv_id, user_id) DO UPDATE SET {column} = excluded.{column}, by = excluded.by",
        (room_id, user_id, until, by),
    )


def sanctions(conn: sqlite3.Connection, room_id: int, user_id: int) -> tuple[int, int]:
    """(banned_until, muted_until) of a user in a room; zeros when none."""
    row = conn.execute("SELECT banned_until, muted_until FROM room_sanctions WHERE conv_id = ? AND user_id = ?", (room_id, user_id)).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def may_create(conn: sqlite3.Connection, user_id: int, who_may: str) -> bool:
    """rooms.create: "everyone", or "admins" (server admins)."""
    return who_may == "everyone" or membership.is_server_admin(conn, user_id)


def disband(ctx: Any, room_id: int) -> list[int]:
    """Remove every member and mark the room deleted (its messages stay stored); returns who was in."""
    conn = ctx.conn
    members = chat.member_ids(conn, room_id)
    conn.execute("DELETE FROM members WHERE conv_id = ?", (room_id,))
    conn.execute("UPDATE rooms SET deleted_at = ?, member_count = 0 WHERE conv_id = ?", (ctx.now, room_id))
    conn.execute("DELETE FROM room_sanctions WHERE conv_id = ?", (room_id,))
    return members

"""Chat rooms: the one membership check, room rows, discovery, members, and the management ops.

A room is a conversation of kind 'room'; its id is the conversation id. Anyone
logged in may join (unless a kick's ban is still running); membership lasts until
the user exits or is kicked. Roles (owner, admin, member), read pointers and
member mutes live in `members`; what only rooms have lives in `rooms`; kick bans
and member mutes also live in `room_sanctions`, so exiting and rejoining lifts
neither. Every room command, reader or writer op, goes through require_member
(a join goes through room_row and the ban check). Server admins may do what a
room's owner may, member or not.

Presence (which connections are in a room now) is in memory, not here: see
chatd.handlers.room_common.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..errors import ChatError
from ..protocol import content as ct
from . import chat
from .chat import Access
from .users import USER_COLS, public_user, user_row

KIND = "room"
RANK = {"member": 0, "admin": 1, "owner": 2}
SERVER_ADMIN_RANK = 3
_NEED = {"read": 0, "send": 0, "admin": 1, "owner": 2}
_ROOM_COLS = "r.conv_id, c.name, r.avatar, r.description, r.owner_id, r.created_by, r.member_count, c.created_at, c.last_seq"


# --- the membership check -------------------------------------------------------------


def _server_admin(conn: sqlite3.Connection, user_id: int) -> bool:
    row = conn.execute("SELECT is_admin FROM users WHERE id = ? AND disabled = 0", (user_id,)).fetchone()
    return bool(row and row[0])


def require_member(conn: sqlite3.Connection, room_id: int, user_id: int, need: str = "read", now: int | None = None) -> Access:
    """The one place that decides whether a user may act in a room.

    need: "read" (any member), "send" (a member not muted now), "admin" (the room's
    owner or admins, or a server admin), "owner" (the room's owner, or a server
    admin). Raises not_found (no such room), not_member, forbidden or muted (with
    retry_after_ms). A server admin who is not a member passes "admin" and "owner"
    with an empty role.
    """
    row = conn.execute(
        "SELECT m.role, m.muted_until, m.last_read_seq FROM members m JOIN conversations c ON c.id = m.conv_id AND c.kind = 'room' "
        "WHERE m.conv_id = ? AND m.user_id = ?",
        (room_id, user_id),
    ).fetchone()
    if row is None:
        room_row(conn, room_id)
        if _NEED[need] and _server_admin(conn, user_id):
            return Access(room_id, user_id, "", 0, 0)
        raise ChatError("not_member", "you are not in this room: join it first", field="room_id")
    role, muted_until, last_read = row
    if RANK[role] < _NEED[need] and not _server_admin(conn, user_id):
        who = "owner" if need == "owner" else "owner and admins"
        raise ChatError("forbidden", f"only the room's {who} can do this")
    if need == "send" and muted_until:
        left = chat.remaining_ms(muted_until, now)
        if left:
            raise ChatError("muted", f"you are muted in this room for {(left + 999) // 1000} more s", retry_after_ms=left)
    return Access(room_id, user_id, role, muted_until, last_read)


def rank_of(conn: sqlite3.Connection, acc: Access) -> int:
    """The actor's rank for acting on other members: server admins outrank every room role."""
    if _server_admin(conn, acc.user_id):
        return SERVER_ADMIN_RANK
    return RANK.get(acc.role, -1)


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
    """A Room as the wire carries it; `role` is the asking user's (None: not a member).
    `present_count` is filled in by the handler, which knows who is in the room now."""
    return {
        "room_id": row[0],
        "name": row[1],
        "avatar": row[2],
        "description": row[3],
        "owner_id": row[4],
        "created_by": row[5],
        "member_count": row[6],
        "present_count": 0,
        "created_at": row[7],
        "last_seq": row[8],
        "role": role or None,
    }


def get_room(conn: sqlite3.Connection, room_id: int, user_id: int) -> dict[str, Any]:
    row = room_row(conn, room_id)
    mine = conn.execute("SELECT role FROM members WHERE conv_id = ? AND user_id = ?", (room_id, user_id)).fetchone()
    return room_view(row, mine[0] if mine else None)


extra = chat.entry_extra("rooms", "room_id")  # what a room adds to a conversation entry


def views(conn: sqlite3.Connection, room_id: int, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    return chat.views(conn, room_id, user_ids, extra)


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
    require_member(conn, room_id, user_id)
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


def is_member(conn: sqlite3.Connection, room_id: int, user_id: int) -> bool:
    return bool(chat.members_in(conn, room_id, [user_id]))


# --- writer ops -------------------------------------------------------------------------


@dataclass
class Outcome:
    room_id: int
    result: dict[str, Any] = field(default_factory=dict)
    system: list[dict[str, Any]] = field(default_factory=list)  # system messages stored, oldest first
    views: dict[int, dict[str, Any] | None] = field(default_factory=dict)  # entries to push (None: removed)
    removed: list[int] = field(default_factory=list)  # users who are no longer members: their connections leave


def _names(conn: sqlite3.Connection, ids: list[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    marks = ",".join("?" * len(ids))
    return {r[0]: r[1] for r in conn.execute(f"SELECT id, display_name FROM users WHERE id IN ({marks})", ids)}


def _system(ctx: Any, out: Outcome, actor: int, event: str, text: str, data: dict[str, Any]) -> None:
    content = ct.dumps(ct.System(event=event, text=text, data=data))
    out.system.append(chat.system_message(ctx, out.room_id, actor, content))


def _target(conn: sqlite3.Connection, room_id: int, user_id: int) -> str:
    row = conn.execute("SELECT role FROM members WHERE conv_id = ? AND user_id = ?", (room_id, user_id)).fetchone()
    if row is None:
        raise ChatError("not_found", "this user is not in the room", field="user_id")
    return str(row[0])


def _outrank(conn: sqlite3.Connection, acc: Access, target_role: str) -> None:
    if rank_of(conn, acc) <= RANK[target_role]:
        raise ChatError("forbidden", f"a room {acc.role or 'visitor'} cannot do this to a room {target_role}")


def _sanction(conn: sqlite3.Connection, room_id: int, user_id: int, column: str, until: int, by: int) -> None:
    conn.execute(
        f"INSERT INTO room_sanctions (conv_id, user_id, {column}, by) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (conv_id, user_id) DO UPDATE SET {column} = excluded.{column}, by = excluded.by",
        (room_id, user_id, until, by),
    )


def _remove(conn: sqlite3.Connection, out: Outcome, user_id: int) -> None:
    conn.execute("DELETE FROM members WHERE conv_id = ? AND user_id = ?", (out.room_id, user_id))
    conn.execute("UPDATE rooms SET member_count = member_count - 1 WHERE conv_id = ?", (out.room_id,))
    out.removed.append(user_id)
    out.views[user_id] = None


def op_create(ctx: Any, creator: int, d: Any, who_may: str) -> Outcome:
    """Create a room; the creator is its owner. who_may is rooms.create: "admins" or "everyone"."""
    conn = ctx.conn
    if who_may != "everyone" and not _server_admin(conn, creator):
        raise ChatError("forbidden", "only server admins may create rooms here (rooms.create)")
    cur = conn.execute("INSERT INTO conversations (kind, name, last_activity, created_at) VALUES ('room', ?, ?, ?)", (d.name, ctx.now, ctx.now))
    rid = int(cur.lastrowid)  # type: ignore[arg-type]
    conn.execute(
        "INSERT INTO rooms (conv_id, avatar, description, owner_id, created_by, member_count) VALUES (?, ?, ?, ?, ?, 1)",
        (rid, d.avatar, d.description, creator, creator),
    )
    conn.execute("INSERT INTO members (conv_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)", (rid, creator, ctx.now))
    out = Outcome(rid)
    name = _names(conn, [creator]).get(creator, str(creator))
    _system(ctx, out, creator, "room_created", f"{name} created the room {d.name}", {"name": d.name, "by": creator})
    conn.execute("UPDATE members SET last_read_seq = ? WHERE conv_id = ? AND user_id = ?", (out.system[-1]["seq"], rid, creator))
    out.result = {"room": room_view(room_row(conn, rid), "owner")}
    out.views = dict(views(conn, rid, [creator]))
    return out


def op_update(ctx: Any, actor: int, d: Any) -> Outcome:
    conn, rid = ctx.conn, d.room_id
    acc = require_member(conn, rid, actor, "admin", ctx.now)
    row = room_row(conn, rid)
    changes: dict[str, Any] = {}
    if d.name is not None and d.name != row[1]:
        conn.execute("UPDATE conversations SET name = ? WHERE id = ?", (d.name, rid))
        changes["name"] = d.name
    for key, current in (("avatar", row[2]), ("description", row[3])):
        value = getattr(d, key)
        if value is not None and value != current:
            conn.execute(f"UPDATE rooms SET {key} = ? WHERE conv_id = ?", (value, rid))
            changes[key] = value
    out = Outcome(rid)
    if changes:
        name = _names(conn, [actor]).get(actor, str(actor))
        _system(ctx, out, actor, "room_updated", f"{name} changed the room's {', '.join(changes)}", {"changes": changes, "by": actor})
    out.result = {"room": room_view(room_row(conn, rid), acc.role)}
    return out


def op_delete(ctx: Any, actor: int, room_id: int) -> Outcome:
    """The owner (or a server admin) deletes the room: every member is removed; messages stay stored."""
    conn = ctx.conn
    require_member(conn, room_id, actor, "owner", ctx.now)
    out = Outcome(room_id, result={"room_id": room_id})
    for uid in chat.member_ids(conn, room_id):
        _remove(conn, out, uid)
    conn.execute("UPDATE rooms SET deleted_at = ?, member_count = 0 WHERE conv_id = ?", (ctx.now, room_id))
    conn.execute("DELETE FROM room_sanctions WHERE conv_id = ?", (room_id,))
    return out


def op_join(ctx: Any, user_id: int, room_id: int) -> Outcome:
    """Become a member (unless a kick's ban is running). What was said before counts as read;
    the room's owner gets the owner role back, and a running member mute comes back too."""
    conn = ctx.conn
    row = room_row(conn, room_id)
    out = Outcome(room_id)
    mine = conn.execute("SELECT role FROM members WHERE conv_id = ? AND user_id = ?", (room_id, user_id)).fetchone()
    if mine is not None:
        out.result = {"room": room_view(row, mine[0]), "joined": False}
        return out
    sanction = conn.execute("SELECT banned_until, muted_until FROM room_sanctions WHERE conv_id = ? AND user_id = ?", (room_id, user_id)).fetchone()
    banned_until, muted_until = sanction if sanction else (0, 0)
    left = chat.remaining_ms(banned_until, ctx.now)
    if left:
        raise ChatError("banned", f"you were removed from this room; you may rejoin in {(left + 999) // 1000} s", retry_after_ms=left)
    role = "owner" if row[4] == user_id else "member"
    conn.execute(
        "INSERT INTO members (conv_id, user_id, role, last_read_seq, muted_until, joined_at) VALUES (?, ?, ?, ?, ?, ?)",
        (room_id, user_id, role, row[8], muted_until if muted_until > ctx.now else 0, ctx.now),
    )
    conn.execute("UPDATE rooms SET member_count = member_count + 1 WHERE conv_id = ?", (room_id,))
    out.result = {"room": room_view(room_row(conn, room_id), role), "joined": True}
    out.views = dict(views(conn, room_id, [user_id]))
    return out


def op_exit(ctx: Any, user_id: int, room_id: int) -> Outcome:
    conn = ctx.conn
    require_member(conn, room_id, user_id, "read", ctx.now)
    out = Outcome(room_id, result={"room_id": room_id})
    _remove(conn, out, user_id)
    return out


def op_kick(ctx: Any, actor: int, room_id: int, user_id: int, ban_ms: int) -> Outcome:
    """Remove a member, who cannot rejoin for ban_ms. Admins kick plain members, the owner
    anyone, server admins anyone. A member_kicked system message records it."""
    conn = ctx.conn
    acc = require_member(conn, room_id, actor, "admin", ctx.now)
    if user_id == actor:
        raise ChatError("bad_request", "use room_exit to leave a room", field="user_id")
    _outrank(conn, acc, _target(conn, room_id, user_id))
    until = ctx.now + ban_ms if ban_ms > 0 else 0
    out = Outcome(room_id, result={"room_id": room_id, "user_id": user_id, "banned_until": until})
    _remove(conn, out, user_id)
    _sanction(conn, room_id, user_id, "banned_until", until, actor)
    names = _names(conn, [actor, user_id])
    text = f"{names.get(actor, actor)} removed {names.get(user_id, user_id)}"
    _system(ctx, out, actor, "member_kicked", text, {"user_id": user_id, "by": actor, "banned_until": until})
    return out


def op_mute(ctx: Any, actor: int, room_id: int, user_id: int, until: int) -> Outcome:
    """Mute a member until `until` (ms since the epoch); 0, or a time that has passed, unmutes."""
    conn = ctx.conn
    acc = require_member(conn, room_id, actor, "admin", ctx.now)
    _outrank(conn, acc, _target(conn, room_id, user_id))
    until = until if until > ctx.now else 0
    conn.execute("UPDATE members SET muted_until = ? WHERE conv_id = ? AND user_id = ?", (until, room_id, user_id))
    _sanction(conn, room_id, user_id, "muted_until", until, actor)
    out = Outcome(room_id, result={"room_id": room_id, "user_id": user_id, "muted": bool(until), "muted_until": until})
    names = _names(conn, [actor, user_id])
    verb, event = ("muted", "member_muted") if until else ("unmuted", "member_unmuted")
    text = f"{names.get(actor, actor)} {verb} {names.get(user_id, user_id)}"
    _system(ctx, out, actor, event, text, {"user_id": user_id, "by": actor, "until": until})
    return out


def op_role_set(ctx: Any, actor: int, room_id: int, user_id: int, role: str) -> Outcome:
    """The owner (or a server admin) makes members admins and back, or hands the room over
    (role owner: the old owner, if a member, becomes an admin)."""
    conn = ctx.conn
    require_member(conn, room_id, actor, "owner", ctx.now)
    current = _target(conn, room_id, user_id)
    out = Outcome(room_id, result={"room_id": room_id, "user_id": user_id, "role": role})
    if current == role:
        return out
    if current == "owner":
        raise ChatError("bad_request", "the owner's role changes by handing the room to another member", field="user_id")
    names = _names(conn, [actor, user_id])
    conn.execute("UPDATE members SET role = ? WHERE conv_id = ? AND user_id = ?", (role, room_id, user_id))
    changed = [user_id]
    if role == "owner":
        old = room_row(conn, room_id)[4]
        conn.execute("UPDATE members SET role = 'admin' WHERE conv_id = ? AND user_id = ? AND role = 'owner'", (room_id, old))
        conn.execute("UPDATE rooms SET owner_id = ? WHERE conv_id = ?", (user_id, room_id))
        changed.append(old)
        text = f"{names.get(actor, actor)} handed the room over to {names.get(user_id, user_id)}"
        _system(ctx, out, actor, "owner_transferred", text, {"from": old, "to": user_id, "by": actor})
    else:
        title = "an admin" if role == "admin" else "a member"
        text = f"{names.get(actor, actor)} made {names.get(user_id, user_id)} {title}"
        _system(ctx, out, actor, "role_changed", text, {"user_id": user_id, "role": role, "by": actor})
    out.views.update(views(conn, room_id, changed))
    return out

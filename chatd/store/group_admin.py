"""Group management, as writer ops: create, update, invite, join, requests, kick, mute, roles, leave.

Each op checks through store.group.require_member, writes, records member
changes as system messages in the group's history, and returns an Outcome: what
the handler needs to answer, update the member cache and push.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..errors import ChatError
from ..protocol import content as ct
from . import chat
from .group import RANK, admin_ids, group_row, group_view, request_view, require_member, views


@dataclass
class Outcome:
    group_id: int
    result: dict[str, Any] = field(default_factory=dict)
    system: list[dict[str, Any]] = field(default_factory=list)  # system messages stored, oldest first
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    views: dict[int, dict[str, Any]] = field(default_factory=dict)  # conversation entries to push to these users
    requests: list[dict[str, Any]] = field(default_factory=list)  # requests created or decided
    deciders: list[int] = field(default_factory=list)  # who may decide them (owner and admins)


# --- helpers --------------------------------------------------------------------------------


def _names(conn: sqlite3.Connection, ids: list[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r[0]: r[1] for r in conn.execute(f"SELECT id, display_name FROM users WHERE id IN ({marks})", ids)}


def _system(ctx: Any, group_id: int, actor: int, event: str, text: str, data: dict[str, Any]) -> dict[str, Any]:
    content = ct.dumps(ct.System(event=event, text=text, data=data))
    return chat.system_message(ctx, group_id, actor, content)


def _live_users(conn: sqlite3.Connection, ids: list[int], field_name: str) -> list[int]:
    ids = sorted(set(ids))
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    found = {r[0] for r in conn.execute(f"SELECT id FROM users WHERE id IN ({marks}) AND disabled = 0", ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ChatError("not_found", f"no such users: {missing[:5]}", field=field_name)
    return ids


def _check_room(conn: sqlite3.Connection, group_id: int, adding: int, max_members: int) -> None:
    (count,) = conn.execute("SELECT member_count FROM groups WHERE conv_id = ?", (group_id,)).fetchone()
    if count + adding > max_members:
        raise ChatError("conflict", f"the group would have more than {max_members} members")


def _add_members(ctx: Any, out: Outcome, actor: int, user_ids: list[int], via: str) -> None:
    """Add users as plain members, record it in the history and settle their pending requests."""
    conn, gid = ctx.conn, out.group_id
    conn.executemany(
        "INSERT INTO members (conv_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)", [(gid, u, ctx.now) for u in user_ids]
    )
    conn.execute("UPDATE groups SET member_count = member_count + ? WHERE conv_id = ?", (len(user_ids), gid))
    names = _names(conn, [actor, *user_ids])
    who = ", ".join(names.get(u, str(u)) for u in user_ids)
    if via == "invite":
        text = f"{names.get(actor, actor)} added {who}"
    elif via == "request":
        text = f"{who} joined (approved by {names.get(actor, actor)})"
    else:
        text = f"{who} joined"
    msg = _system(ctx, gid, actor, "member_joined", text, {"user_ids": user_ids, "by": actor, "via": via})
    out.system.append(msg)
    # What was said before they joined counts as read; being added by someone else is news.
    read = msg["seq"] if via in ("id", "code") else msg["seq"] - 1
    conn.executemany("UPDATE members SET last_read_seq = ? WHERE conv_id = ? AND user_id = ?", [(read, gid, u) for u in user_ids])
    marks = ",".join("?" * len(user_ids))
    settled = [
        r[0]
        for r in conn.execute(
            f"UPDATE group_requests SET status = 'approved', decided_by = ?, decided_at = ? "
            f"WHERE conv_id = ? AND status = 'pending' AND user_id IN ({marks}) RETURNING id",
            [actor, ctx.now, gid, *user_ids],
        )
    ]
    out.requests += [request_view(conn, r) for r in settled]
    out.added += user_ids


def _remove_member(ctx: Any, out: Outcome, user_id: int) -> int:
    """Remove a member; returns how many are left."""
    conn, gid = ctx.conn, out.group_id
    conn.execute("DELETE FROM members WHERE conv_id = ? AND user_id = ?", (gid, user_id))
    (left,) = conn.execute("UPDATE groups SET member_count = member_count - 1 WHERE conv_id = ? RETURNING member_count", (gid,)).fetchone()
    out.removed.append(user_id)
    return int(left)


def _target(conn: sqlite3.Connection, group_id: int, user_id: int) -> tuple[str, int]:
    row = conn.execute("SELECT role, muted_until FROM members WHERE conv_id = ? AND user_id = ?", (group_id, user_id)).fetchone()
    if row is None:
        raise ChatError("not_found", "this user is not a member of the group", field="user_id")
    return row[0], row[1]


def _outrank(actor_role: str, target_role: str) -> None:
    if RANK[actor_role] <= RANK[target_role]:
        raise ChatError("forbidden", f"a group {actor_role} cannot do this to a group {target_role}")


def _new_request(ctx: Any, out: Outcome, user_id: int, inviter_id: int, kind: str, message: str) -> dict[str, Any]:
    """A pending request (or the one already pending for this user), pushed to the deciders."""
    conn, gid = ctx.conn, out.group_id
    row = conn.execute("SELECT id FROM group_requests WHERE conv_id = ? AND user_id = ? AND status = 'pending'", (gid, user_id)).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT INTO group_requests (conv_id, user_id, inviter_id, kind, message, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (gid, user_id, inviter_id, kind, message, ctx.now),
        )
        req = request_view(conn, int(cur.lastrowid))  # type: ignore[arg-type]
        out.requests.append(req)
        return req
    return request_view(conn, row[0])


def _finish(conn: sqlite3.Connection, out: Outcome, view_users: list[int]) -> Outcome:
    out.views.update(views(conn, out.group_id, [u for u in view_users if u not in out.removed]))
    if out.requests:
        out.deciders = admin_ids(conn, out.group_id)
    return out


# --- ops ------------------------------------------------------------------------------------


def op_create(ctx: Any, creator: int, d: Any, max_members: int) -> Outcome:
    conn = ctx.conn
    others = [u for u in _live_users(conn, d.members, "members") if u != creator]
    if len(others) + 1 > max_members:
        raise ChatError("bad_request", f"a group has at most {max_members} members", field="members")
    cur = conn.execute("INSERT INTO conversations (kind, name, last_activity, created_at) VALUES ('group', ?, ?, ?)", (d.name, ctx.now, ctx.now))
    gid = int(cur.lastrowid)  # type: ignore[arg-type]
    conn.execute(
        "INSERT INTO groups (conv_id, avatar, description, owner_id, created_by, member_count, join_by_id, approval) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (gid, d.avatar, d.description, creator, creator, len(others) + 1, int(d.join_by_id), int(d.approval)),
    )
    conn.executemany(
        "INSERT INTO members (conv_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
        [(gid, creator, "owner", ctx.now)] + [(gid, u, "member", ctx.now) for u in others],
    )
    out = Outcome(gid)
    name = _names(conn, [creator]).get(creator, str(creator))
    msg = _system(ctx, gid, creator, "group_created", f"{name} created the group {d.name}", {"name": d.name, "member_ids": [creator, *others]})
    out.system.append(msg)
    out.added = [creator, *others]
    out.result = {"group": group_view(group_row(conn, gid), "owner")}
    return _finish(conn, out, out.added)


def op_update(ctx: Any, actor: int, d: Any) -> Outcome:
    conn, gid = ctx.conn, d.group_id
    require_member(conn, gid, actor, "admin", ctx.now)
    row = group_row(conn, gid)
    changes: dict[str, Any] = {}
    if d.name is not None and d.name != row[1]:
        conn.execute("UPDATE conversations SET name = ? WHERE id = ?", (d.name, gid))
        changes["name"] = d.name
    for key, col, current in (("avatar", "avatar", row[2]), ("description", "description", row[3])):
        value = getattr(d, key)
        if value is not None and value != current:
            conn.execute(f"UPDATE groups SET {col} = ? WHERE conv_id = ?", (value, gid))
            changes[key] = value
    if d.join_by_id is not None and d.join_by_id != bool(row[7]):
        conn.execute("UPDATE groups SET join_by_id = ? WHERE conv_id = ?", (int(d.join_by_id), gid))
        changes["join_by_id"] = d.join_by_id
    if d.invite_code is not None:
        code = secrets.token_urlsafe(9) if d.invite_code else None
        if code is not None or row[9] is not None:
            conn.execute("UPDATE groups SET invite_code = ? WHERE conv_id = ?", (code, gid))
            changes["invite_code"] = code is not None
    out = Outcome(gid)
    if changes:
        name = _names(conn, [actor]).get(actor, str(actor))
        what = ", ".join(k.replace("_", " ") for k in changes)
        out.system.append(_system(ctx, gid, actor, "group_updated", f"{name} changed the group's {what}", {"changes": changes, "by": actor}))
    out.result = {"group": group_view(group_row(conn, gid), "owner" if row[4] == actor else "admin")}
    return out


def op_approval_set(ctx: Any, actor: int, group_id: int, approval: bool) -> Outcome:
    conn = ctx.conn
    require_member(conn, group_id, actor, "admin", ctx.now)
    out = Outcome(group_id, result={"group_id": group_id, "approval": approval})
    if bool(group_row(conn, group_id)[8]) != approval:
        conn.execute("UPDATE groups SET approval = ? WHERE conv_id = ?", (int(approval), group_id))
        name = _names(conn, [actor]).get(actor, str(actor))
        text = f"{name} turned {'on' if approval else 'off'} approval of new members"
        out.system.append(_system(ctx, group_id, actor, "approval_set", text, {"approval": approval, "by": actor}))
    return out


def op_invite(ctx: Any, actor: int, d: Any, max_members: int) -> Outcome:
    """Owners and admins add at once; plain members too, unless approval is on: then it waits."""
    conn, gid = ctx.conn, d.group_id
    acc = require_member(conn, gid, actor, "read", ctx.now)
    ids = _live_users(conn, d.user_ids, "user_ids")
    already = chat.members_in(conn, gid, ids)
    new = [u for u in ids if u not in already]
    out = Outcome(gid)
    pending: list[dict[str, Any]] = []
    if new and bool(group_row(conn, gid)[8]) and not acc.is_admin:
        pending = [_new_request(ctx, out, u, actor, "invite", d.message) for u in new]
    elif new:
        _check_room(conn, gid, len(new), max_members)
        _add_members(ctx, out, actor, new, "invite")
    out.result = {"group_id": gid, "added": out.added, "pending": pending, "already": sorted(already)}
    return _finish(conn, out, out.added)


def _resolve_join(conn: sqlite3.Connection, d: Any) -> tuple[int, str]:
    if d.invite_code:
        row = conn.execute("SELECT conv_id FROM groups WHERE invite_code = ? AND dissolved_at IS NULL", (d.invite_code,)).fetchone()
        if row is None:
            raise ChatError("not_found", "no group has this invite code", field="invite_code")
        if d.group_id is not None and d.group_id != row[0]:
            raise ChatError("not_found", "this invite code is not the group's", field="invite_code")
        return row[0], "code"
    if d.group_id is None:
        raise ChatError("bad_request", "give group_id or invite_code", field="group_id")
    if not group_row(conn, d.group_id)[7]:
        raise ChatError("forbidden", "this group is joined by invitation or invite code only")
    return d.group_id, "id"


def op_join(ctx: Any, user_id: int, d: Any, max_members: int) -> Outcome:
    """Join by group id (groups with join_by_id) or invite code; with approval on, ask to join."""
    conn = ctx.conn
    gid, via = _resolve_join(conn, d)
    out = Outcome(gid, result={"group_id": gid, "joined": True, "request": None})
    if chat.members_in(conn, gid, [user_id]):
        return out
    if group_row(conn, gid)[8]:
        out.result.update(joined=False, request=_new_request(ctx, out, user_id, 0, "join", d.message))
        return _finish(conn, out, [])
    _check_room(conn, gid, 1, max_members)
    _add_members(ctx, out, user_id, [user_id], via)
    return _finish(conn, out, [user_id])


def op_decide(ctx: Any, actor: int, request_id: int, approve: bool, max_members: int) -> Outcome:
    conn = ctx.conn
    req = request_view(conn, request_id)
    gid = req["group_id"]
    require_member(conn, gid, actor, "admin", ctx.now)
    if req["status"] != "pending":
        raise ChatError("conflict", f"the request was already {req['status']}", field="request_id")
    out = Outcome(gid)
    user_id = req["user"]["id"]
    if approve and not chat.members_in(conn, gid, [user_id]):
        _check_room(conn, gid, 1, max_members)
        _add_members(ctx, out, actor, [user_id], "request")  # settles this request too
    if not any(r["request_id"] == request_id for r in out.requests):
        status = "approved" if approve else "rejected"
        conn.execute("UPDATE group_requests SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?", (status, actor, ctx.now, request_id))
        out.requests.append(request_view(conn, request_id))
    out.result = {"request": next(r for r in out.requests if r["request_id"] == request_id)}
    return _finish(conn, out, out.added)


def op_kick(ctx: Any, actor: int, group_id: int, user_id: int) -> Outcome:
    conn = ctx.conn
    acc = require_member(conn, group_id, actor, "admin", ctx.now)
    if user_id == actor:
        raise ChatError("bad_request", "use chat_group_leave to leave a group", field="user_id")
    role, _ = _target(conn, group_id, user_id)
    _outrank(acc.role, role)
    out = Outcome(group_id, result={"group_id": group_id, "user_id": user_id})
    _remove_member(ctx, out, user_id)
    names = _names(conn, [actor, user_id])
    text = f"{names.get(actor, actor)} removed {names.get(user_id, user_id)}"
    out.system.append(_system(ctx, group_id, actor, "member_kicked", text, {"user_id": user_id, "by": actor}))
    return out


def op_mute(ctx: Any, actor: int, group_id: int, user_id: int, until: int) -> Outcome:
    """Mute a member until `until` (ms since the epoch); 0, or a time that has passed, unmutes."""
    conn = ctx.conn
    acc = require_member(conn, group_id, actor, "admin", ctx.now)
    role, _ = _target(conn, group_id, user_id)
    _outrank(acc.role, role)
    until = until if until > ctx.now else 0
    conn.execute("UPDATE members SET muted_until = ? WHERE conv_id = ? AND user_id = ?", (until, group_id, user_id))
    out = Outcome(group_id, result={"group_id": group_id, "user_id": user_id, "muted": bool(until), "muted_until": until})
    names = _names(conn, [actor, user_id])
    if until:
        text, event = f"{names.get(actor, actor)} muted {names.get(user_id, user_id)}", "member_muted"
    else:
        text, event = f"{names.get(actor, actor)} unmuted {names.get(user_id, user_id)}", "member_unmuted"
    out.system.append(_system(ctx, group_id, actor, event, text, {"user_id": user_id, "by": actor, "until": until}))
    return out


def op_role_set(ctx: Any, actor: int, group_id: int, user_id: int, role: str) -> Outcome:
    """The owner makes admins and members, or hands the group over (role owner: the owner becomes an admin)."""
    conn = ctx.conn
    require_member(conn, group_id, actor, "owner", ctx.now)
    if user_id == actor:
        raise ChatError("bad_request", "the owner's role changes by handing the group to another member", field="user_id")
    current, _ = _target(conn, group_id, user_id)
    out = Outcome(group_id, result={"group_id": group_id, "user_id": user_id, "role": role})
    if current == role:
        return out
    names = _names(conn, [actor, user_id])
    conn.execute("UPDATE members SET role = ?, muted_until = 0 WHERE conv_id = ? AND user_id = ?", (role, group_id, user_id))
    if role == "owner":
        conn.execute("UPDATE members SET role = 'admin' WHERE conv_id = ? AND user_id = ?", (group_id, actor))
        conn.execute("UPDATE groups SET owner_id = ? WHERE conv_id = ?", (user_id, group_id))
        text = f"{names.get(actor, actor)} handed the group over to {names.get(user_id, user_id)}"
        out.system.append(_system(ctx, group_id, actor, "owner_transferred", text, {"from": actor, "to": user_id}))
        return _finish(conn, out, [actor, user_id])
    title = "an admin" if role == "admin" else "a member"
    text = f"{names.get(actor, actor)} made {names.get(user_id, user_id)} {title}"
    out.system.append(_system(ctx, group_id, actor, "role_changed", text, {"user_id": user_id, "role": role, "by": actor}))
    return _finish(conn, out, [user_id])


def op_leave(ctx: Any, user_id: int, group_id: int) -> Outcome:
    conn = ctx.conn
    acc = require_member(conn, group_id, user_id, "read", ctx.now)
    (count,) = conn.execute("SELECT member_count FROM groups WHERE conv_id = ?", (group_id,)).fetchone()
    if acc.role == "owner" and count > 1:
        raise ChatError("owner_must_transfer", "hand the group over to another member (chat_group_member_role_set) before leaving")
    out = Outcome(group_id, result={"group_id": group_id})
    name = _names(conn, [user_id]).get(user_id, str(user_id))
    out.system.append(_system(ctx, group_id, user_id, "member_left", f"{name} left", {"user_id": user_id}))
    if _remove_member(ctx, out, user_id) == 0:
        conn.execute("UPDATE groups SET dissolved_at = ?, invite_code = NULL WHERE conv_id = ?", (ctx.now, group_id))
        conn.execute("UPDATE group_requests SET status = 'cancelled' WHERE conv_id = ? AND status = 'pending'", (group_id,))
    return out

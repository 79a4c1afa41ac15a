"""Communities: their rows, members, roles, categories, channels and overwrites, in SQL.

A community's channels are conversations of kind 'channel' (chatd.store.channel is the
kind's store); everything else is the community's own tables (schema migration 8). Who may
do what is the permission model's answer (chatd.policy.community_perms), asked on the
snapshot `load_facts` reads (cached by chatd.store.community_cache). Every change that can
change a permission calls `bump`, which moves the community to a new version.
"""

from __future__ import annotations

import itertools
import secrets
import sqlite3
import time
from typing import Any

from ..errors import ChatError
from ..policy.community_perms import EVERYONE_DEFAULT

JOIN_MODES = ("open", "invite", "request")
_COLS = "id, name, description, icon, owner_id, public, join_mode, member_count, created_at, everyone_role_id, version"


# --- the community ------------------------------------------------------------------------


def icons(conn: sqlite3.Connection, community_ids: list[int]) -> dict[int, str]:
    ids = sorted(set(community_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(conn.execute(f"SELECT id, icon FROM communities WHERE id IN ({marks})", ids).fetchall())


def row(conn: sqlite3.Connection, community_id: int) -> dict[str, Any]:
    """The community as the wire carries it (Community); not_found when there is none."""
    r = conn.execute(f"SELECT {_COLS} FROM communities WHERE id = ?", (community_id,)).fetchone()
    if r is None:
        raise ChatError("not_found", f"no community with id {community_id}", field="community_id")
    return _view(r)


def _view(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "community_id": r[0],
        "name": r[1],
        "description": r[2],
        "icon": r[3],
        "owner_id": r[4],
        "public": bool(r[5]),
        "join_mode": r[6],
        "member_count": r[7],
        "created_at": r[8],
    }


def version_of(conn: sqlite3.Connection, community_id: int) -> tuple[int, int] | None:
    """(version, nonce), or None when there is no such community."""
    r = conn.execute("SELECT version, nonce FROM communities WHERE id = ?", (community_id,)).fetchone()
    return None if r is None else (int(r[0]), int(r[1]))


# Versions are never used twice, not even one a rolled-back transaction set: the writer may
# cache a snapshot of a version its open transaction made (chatd.store.community_cache), and a
# later commit must not find that snapshot under its own version. Nanoseconds since the epoch
# at start stay above every version an earlier run made.
_FRESH = itertools.count(time.time_ns())


def bump(conn: sqlite3.Connection, community_id: int, *, assignments: bool = False) -> None:
    """A permission-relevant change: cached evaluations of the older version are stale. With
    `assignments`, the change touched role assignments, which a snapshot reads again only then."""
    if assignments:
        fresh = next(_FRESH)
        conn.execute("UPDATE communities SET version = MAX(version + 1, ?1), assignments_version = ?1 WHERE id = ?2", (fresh, community_id))
    else:
        conn.execute("UPDATE communities SET version = MAX(version + 1, ?) WHERE id = ?", (next(_FRESH), community_id))


def create(ctx: Any, owner_id: int, name: str, description: str, icon: str, public: bool, join_mode: str) -> int:
    """A community with its @everyone role and the owner as its first member; returns its id."""
    conn, now = ctx.conn, ctx.now
    cur = conn.execute(
        "INSERT INTO communities (name, description, icon, owner_id, public, join_mode, member_count, nonce, created_by, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        (name, description, icon, owner_id, int(public), join_mode, secrets.randbits(62), owner_id, now),
    )
    cid = int(cur.lastrowid)  # type: ignore[arg-type]
    cur = conn.execute(
        "INSERT INTO community_roles (community_id, name, position, allow, created_at) VALUES (?, '@everyone', 0, ?, ?)",
        (cid, int(EVERYONE_DEFAULT), now),
    )
    conn.execute("UPDATE communities SET everyone_role_id = ? WHERE id = ?", (cur.lastrowid, cid))
    conn.execute("INSERT INTO community_members (community_id, user_id, joined_at) VALUES (?, ?, ?)", (cid, owner_id, now))
    return cid


UPDATABLE = ("name", "description", "icon", "public", "join_mode")


def update(conn: sqlite3.Connection, community_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Set the UPDATABLE fields given (None: unchanged); the changes made."""
    current = row(conn, community_id)
    changes = {k: v for k, v in fields.items() if k in UPDATABLE and v is not None and v != current[k]}
    for key, value in changes.items():
        conn.execute(f"UPDATE communities SET {key} = ? WHERE id = ?", (int(value) if key == "public" else value, community_id))
    return changes


def disband(conn: sqlite3.Connection, community_id: int) -> None:
    """Remove the community and everything of it: its channels' conversations (messages, member
    rows) and, by cascade, its roles, members, categories, overwrites and invites."""
    conn.execute("DELETE FROM conversations WHERE id IN (SELECT conv_id FROM community_channels WHERE community_id = ?)", (community_id,))
    conn.execute("DELETE FROM communities WHERE id = ?", (community_id,))


def set_owner(conn: sqlite3.Connection, community_id: int, user_id: int) -> None:
    conn.execute("UPDATE communities SET owner_id = ? WHERE id = ?", (user_id, community_id))
    bump(conn, community_id)


def discover(conn: sqlite3.Connection, query: str, limit: int, offset: int) -> dict[str, Any]:
    """Public communities whose name contains `query` (any script: a substring match), the
    most members first."""
    where, args = "public = 1", []
    if query:
        where += " AND instr(lower(name), lower(?)) > 0"
        args.append(query)
    (total,) = conn.execute(f"SELECT COUNT(*) FROM communities WHERE {where}", args).fetchone()
    rows = conn.execute(f"SELECT {_COLS} FROM communities WHERE {where} ORDER BY member_count DESC, id LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
    return {"communities": [_view(r) for r in rows], "total": total, "has_more": offset + len(rows) < total}


# --- members ------------------------------------------------------------------------------


def member_row(conn: sqlite3.Connection, community_id: int, user_id: int) -> tuple[int, int] | None:
    """(timed_out_until, joined_at) of a member, None for a non-member."""
    r = conn.execute("SELECT timed_out_until, joined_at FROM community_members WHERE community_id = ? AND user_id = ?", (community_id, user_id)).fetchone()
    return None if r is None else (int(r[0]), int(r[1]))


def member_ids(conn: sqlite3.Connection, community_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT user_id FROM community_members WHERE community_id = ?", (community_id,))]


def channel_ids(conn: sqlite3.Connection, community_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT conv_id FROM community_channels WHERE community_id = ? ORDER BY position, conv_id", (community_id,))]


def add_member(ctx: Any, community_id: int, user_id: int) -> list[int]:
    """Make the user a member, with a read pointer at the newest message of every channel;
    returns the channel ids."""
    conn = ctx.conn
    conn.execute("INSERT INTO community_members (community_id, user_id, joined_at) VALUES (?, ?, ?)", (community_id, user_id, ctx.now))
    conn.execute("UPDATE communities SET member_count = member_count + 1 WHERE id = ?", (community_id,))
    conn.execute(
        "INSERT INTO members (conv_id, user_id, last_read_seq, joined_at) SELECT ch.conv_id, ?, c.last_seq, ? "
        "FROM community_channels ch JOIN conversations c ON c.id = ch.conv_id WHERE ch.community_id = ?",
        (user_id, ctx.now, community_id),
    )
    conn.execute("DELETE FROM community_join_requests WHERE community_id = ? AND user_id = ? AND status = 'pending'", (community_id, user_id))
    return channel_ids(conn, community_id)


def remove_member(conn: sqlite3.Connection, community_id: int, user_id: int) -> list[int]:
    """Remove the user from the community and every channel of it at once (their roles and
    member overwrites go too); returns the channel ids."""
    channels = channel_ids(conn, community_id)
    conn.execute("DELETE FROM community_members WHERE community_id = ? AND user_id = ?", (community_id, user_id))
    conn.execute("DELETE FROM community_member_roles WHERE community_id = ? AND user_id = ?", (community_id, user_id))
    conn.execute("DELETE FROM community_overwrites WHERE community_id = ? AND target = 'member' AND target_id = ?", (community_id, user_id))
    conn.execute("UPDATE communities SET member_count = member_count - 1 WHERE id = ?", (community_id,))
    conn.executemany("DELETE FROM members WHERE conv_id = ? AND user_id = ?", [(ch, user_id) for ch in channels])
    bump(conn, community_id, assignments=True)
    return channels


def set_timeout(conn: sqlite3.Connection, community_id: int, user_id: int, until: int) -> None:
    conn.execute("UPDATE community_members SET timed_out_until = ? WHERE community_id = ? AND user_id = ?", (until, community_id, user_id))
    bump(conn, community_id)


def members_page(conn: sqlite3.Connection, community_id: int, limit: int, offset: int, now: int) -> dict[str, Any]:
    """Members by join time, each with their role ids and time-out (0: none)."""
    (total,) = conn.execute("SELECT member_count FROM communities WHERE id = ?", (community_id,)).fetchone()
    rows = conn.execute(
        "SELECT m.user_id, u.name, u.display_name, m.timed_out_until, m.joined_at, u.is_bot FROM community_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.community_id = ? ORDER BY m.joined_at, m.user_id LIMIT ? OFFSET ?",
        (community_id, limit, offset),
    ).fetchall()
    roles = member_roles(conn, community_id, [r[0] for r in rows])
    members = [
        {
            "user_id": r[0], "name": r[1], "display_name": r[2], "role_ids": roles.get(r[0], []), "timed_out_until": r[3] if r[3] > now else 0,
            "joined_at": r[4], **({"is_bot": True} if r[5] else {}),
        }
        for r in rows
    ]
    return {"members": members, "total": total, "has_more": offset + len(rows) < total}


def member_roles(conn: sqlite3.Connection, community_id: int, user_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for uid, rid in conn.execute(
            f"SELECT user_id, role_id FROM community_member_roles WHERE community_id = ? AND user_id IN ({marks}) ORDER BY role_id", [community_id, *chunk]
        ):
            out.setdefault(uid, []).append(rid)
    return out


# --- channels and categories ----------------------------------------------------------------


def create_category(ctx: Any, community_id: int, name: str, position: int) -> int:
    cur = ctx.conn.execute(
        "INSERT INTO community_categories (community_id, name, position, created_at) VALUES (?, ?, ?, ?)", (community_id, name, position, ctx.now)
    )
    return int(cur.lastrowid)  # type: ignore[arg-type]


def create_channel(ctx: Any, community_id: int, name: str, category_id: int | None, position: int, topic: str = "", synced: bool = True) -> int:
    """A channel: its conversation, its row, and a member row for every member of the community."""
    conn = ctx.conn
    cur = conn.execute("INSERT INTO conversations (kind, name, last_activity, created_at) VALUES ('channel', ?, ?, ?)", (name, ctx.now, ctx.now))
    conv_id = int(cur.lastrowid)  # type: ignore[arg-type]
    conn.execute(
        "INSERT INTO community_channels (conv_id, community_id, category_id, position, topic, synced) VALUES (?, ?, ?, ?, ?, ?)",
        (conv_id, community_id, category_id, position, topic, int(synced and category_id is not None)),
    )
    conn.execute(
        "INSERT INTO members (conv_id, user_id, joined_at) SELECT ?, user_id, ? FROM community_members WHERE community_id = ?",
        (conv_id, ctx.now, community_id),
    )
    bump(conn, community_id)
    return conv_id


def community_of_channel(conn: sqlite3.Connection, channel_id: int) -> int | None:
    r = conn.execute("SELECT community_id FROM community_channels WHERE conv_id = ?", (channel_id,)).fetchone()
    return None if r is None else int(r[0])


def category_of(conn: sqlite3.Connection, community_id: int, category_id: int) -> dict[str, Any]:
    """A category of this community; not_found (field category_id) otherwise."""
    r = conn.execute("SELECT id, name, position FROM community_categories WHERE id = ? AND community_id = ?", (category_id, community_id)).fetchone()
    if r is None:
        raise ChatError("not_found", f"no category with id {category_id} in this community", field="category_id")
    return {"category_id": r[0], "name": r[1], "position": r[2]}


def next_position(conn: sqlite3.Connection, table: str, where: str, args: tuple[Any, ...]) -> int:
    (n,) = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", args).fetchone()
    return int(n)


# --- overwrites ---------------------------------------------------------------------------


def set_overwrite(conn: sqlite3.Connection, community_id: int, place: str, place_id: int, target: str, target_id: int, allow: int, deny: int) -> None:
    """Set (or, with nothing allowed or denied, remove) one overwrite. Setting one on a channel
    makes it stop following its category."""
    if allow or deny:
        conn.execute(
            "INSERT INTO community_overwrites (community_id, place, place_id, target, target_id, allow, deny) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (place, place_id, target, target_id) DO UPDATE SET allow = excluded.allow, deny = excluded.deny",
            (community_id, place, place_id, target, target_id, allow, deny),
        )
    else:
        conn.execute("DELETE FROM community_overwrites WHERE place = ? AND place_id = ? AND target = ? AND target_id = ?", (place, place_id, target, target_id))
    if place == "channel":
        conn.execute("UPDATE community_channels SET synced = 0 WHERE conv_id = ?", (place_id,))
    bump(conn, community_id)


# --- the facts the permission model needs ----------------------------------------------------


Assignments = tuple[int, tuple[list[int], list[int]]]  # (assignments_version, (user ids, role ids))


def load_facts(conn: sqlite3.Connection, community_id: int, known: Assignments | None = None) -> dict[str, Any] | None:
    """Everything `effective` needs of one community, as plain rows, read in one transaction
    by the caller: owner, version, roles, categories, channels, overwrites, the role
    assignments ordered by member (user ids and role ids; `known` ones are kept when their
    version is still the community's), and the members with a time-out (every other member
    has @everyone only)."""
    head = conn.execute(
        "SELECT owner_id, everyone_role_id, version, nonce, assignments_version FROM communities WHERE id = ?", (community_id,)
    ).fetchone()
    if head is None:
        return None
    args = (community_id,)
    return {
        "owner_id": head[0],
        "everyone_id": head[1],
        "version": head[2],
        "nonce": head[3],
        "assignments_version": head[4],
        "roles": conn.execute("SELECT id, name, position, allow FROM community_roles WHERE community_id = ?", args).fetchall(),
        "categories": conn.execute("SELECT id, name, position FROM community_categories WHERE community_id = ?", args).fetchall(),
        "channels": conn.execute("SELECT conv_id, c.name, category_id, synced, position FROM community_channels ch "
                                 "JOIN conversations c ON c.id = ch.conv_id WHERE community_id = ?", args).fetchall(),
        "overwrites": conn.execute("SELECT place, place_id, target, target_id, allow, deny FROM community_overwrites WHERE community_id = ?", args).fetchall(),
        "member_roles": known[1] if known is not None and known[0] == head[4] else _assignments(conn, community_id),
        "timeouts": conn.execute("SELECT user_id, timed_out_until FROM community_members WHERE community_id = ? AND timed_out_until > 0", args).fetchall(),
    }


def _assignments(conn: sqlite3.Connection, community_id: int) -> tuple[list[int], list[int]]:
    """The community's role assignments ordered by member, as two lists: user ids and role ids.
    Each row is dropped as soon as it is read, so reading 10,000 of them leaves no 10,000 tuples
    behind and sets off no run of Python's collector over the whole heap."""
    users: list[int] = []
    roles: list[int] = []
    add_user, add_role = users.append, roles.append
    for uid, rid in conn.execute("SELECT user_id, role_id FROM community_member_roles WHERE community_id = ? ORDER BY user_id", (community_id,)):
        add_user(uid)
        add_role(rid)
    return users, roles


def require_member(conn: sqlite3.Connection, community_id: int, user_id: int) -> None:
    """not_found unless the user is a member (a private community is not told apart from none)."""
    if member_row(conn, community_id, user_id) is None:
        raise ChatError("not_found", f"no community with id {community_id} that you are a member of", field="community_id")


def info_for(conn: sqlite3.Connection, community_id: int, user_id: int) -> dict[str, Any]:
    """The community (Community) for a member of it; not_found for anyone else."""
    require_member(conn, community_id, user_id)
    return {"community": row(conn, community_id)}


def members_for(conn: sqlite3.Connection, community_id: int, user_id: int, limit: int, offset: int, now: int) -> dict[str, Any]:
    """members_page for a member of the community; not_found for anyone else."""
    require_member(conn, community_id, user_id)
    return {"community_id": community_id, **members_page(conn, community_id, limit, offset, now)}


# --- invites ------------------------------------------------------------------------------


def create_invite(ctx: Any, community_id: int, user_id: int, max_uses: int, expires_at: int) -> dict[str, Any]:
    """A new invite code (random, URL-safe) joining the community (`community_join`)."""
    code = secrets.token_urlsafe(9)
    ctx.conn.execute(
        "INSERT INTO community_invites (code, community_id, created_by, max_uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (code, community_id, user_id, max_uses, expires_at, ctx.now),
    )
    return {"code": code, "community_id": community_id, "created_by": user_id, "uses": 0, "max_uses": max_uses, "expires_at": expires_at, "created_at": ctx.now}


def use_invite(ctx: Any, code: str) -> int:
    """Count one use of a valid invite code; its community's id. not_found (field
    invite_code) for an unknown, used-up or expired code."""
    conn = ctx.conn
    r = conn.execute("SELECT community_id, uses, max_uses, expires_at FROM community_invites WHERE code = ?", (code,)).fetchone()
    if r is None or (r[2] and r[1] >= r[2]) or (r[3] and r[3] <= ctx.now):
        raise ChatError("not_found", "no such invite code, or it has expired", field="invite_code")
    conn.execute("UPDATE community_invites SET uses = uses + 1 WHERE code = ?", (code,))
    return int(r[0])

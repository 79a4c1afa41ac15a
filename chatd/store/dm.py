"""Direct messages: the DM kind's access check (named by the other user), creation on the first message, entries with the peer."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy import roles
from ..policy.bots import require_bot_may_send
from . import conversations as chat
from . import dm_routing, social
from .dm_routing import Routed
from .db import now_ms
from .users import USER_COLS, get_users, public_user, user_row


def dm_key(a: int, b: int) -> str:
    return f"{min(a, b)}:{max(a, b)}"


def find_conv(conn: sqlite3.Connection, a: int, b: int) -> int | None:
    row = conn.execute("SELECT id FROM conversations WHERE dm_key = ?", (dm_key(a, b),)).fetchone()
    return None if row is None else row[0]


def require_peer(conn: sqlite3.Connection, user_id: int, peer_id: int) -> dict[str, Any]:
    if peer_id == user_id:
        raise ChatError("bad_request", "a direct message needs another user", field="peer")
    peer = user_row(conn.execute(f"SELECT {USER_COLS} FROM users WHERE id = ?", (peer_id,)).fetchone())
    if peer is None:
        raise ChatError("not_found", f"no user with id {peer_id}", field="peer")
    return peer


def require_conv(conn: sqlite3.Connection, user_id: int, peer_id: int) -> int:
    """The DM's conversation id; not_found if the two never exchanged a message."""
    require_peer(conn, user_id, peer_id)
    conv_id = find_conv(conn, user_id, peer_id)
    if conv_id is None:
        raise ChatError("not_found", "no conversation with this user yet", field="peer")
    return conv_id


def peers(conn: sqlite3.Connection, user_id: int) -> list[int]:
    """Everyone the user has a DM with."""
    rows = conn.execute(
        "SELECT o.user_id FROM members m JOIN conversations c ON c.id = m.conv_id AND c.kind = 'dm' "
        "JOIN members o ON o.conv_id = m.conv_id AND o.user_id != m.user_id WHERE m.user_id = ?",
        (user_id,),
    )
    return [r[0] for r in rows]


def conversations(
    conn: sqlite3.Connection, user_id: int, *, limit: int = 50, unread_only: bool = False
) -> list[dict[str, Any]]:
    """The user's DM conversation entries, pinned first, then newest activity first."""
    entries = chat.conversations(conn, user_id, "dm", limit=limit, unread_only=unread_only)
    return _with_peers(conn, [(user_id, e) for e in entries])


def listed(conn: sqlite3.Connection, user_id: int, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The user's entries for these rows of chat.member_rows (chatd.core.conversation_list)."""
    return _with_peers(conn, [(user_id, e) for e in chat.entries(conn, rows)])


def _with_peers(conn: sqlite3.Connection, seen_by: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Add to each (viewer, entry) the other user of the DM as `peer`, and how far they read."""
    if not seen_by:
        return []
    conv_ids = sorted({e["conv_id"] for _, e in seen_by})
    marks = ",".join("?" * len(conv_ids))
    members: dict[int, list[int]] = {}
    read: dict[tuple[int, int], int] = {}  # (conversation, user) -> their read pointer
    for conv_id, uid, last_read in conn.execute(f"SELECT conv_id, user_id, last_read_seq FROM members WHERE conv_id IN ({marks})", conv_ids):
        members.setdefault(conv_id, []).append(uid)
        read[conv_id, uid] = last_read
    users = get_users(conn, sorted({u for ids in members.values() for u in ids}))
    out = []
    wanted: dict[int, list[int]] = {}  # viewer -> peers, for the viewer's remarks
    for viewer, entry in seen_by:
        peer = next((u for u in members.get(entry["conv_id"], ()) if u != viewer), None)
        entry["peer"] = public_user(users[peer]) if peer in users else None
        entry["peer_online"] = False
        entry["peer_last_read_seq"] = read.get((entry["conv_id"], peer), 0) if peer is not None else 0
        if peer is not None:
            wanted.setdefault(viewer, []).append(peer)
        out.append(entry)
    remarks = {viewer: social.remarks(conn, viewer, peers) for viewer, peers in wanted.items()}
    routing = dm_routing.of_convs(conn, conv_ids)
    for viewer, entry in seen_by:
        entry["peer_remark"] = remarks.get(viewer, {}).get(entry["peer"]["id"], "") if entry["peer"] else ""
        if entry["conv_id"] in routing:
            entry["routing"] = routing[entry["conv_id"]]
    return out


def views(conn: sqlite3.Connection, conv_id: int, user_ids: list[int], known: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """The conversation entry of one DM as each of the given users sees it (`known`: a message just stored)."""
    seen = chat.views(conn, conv_id, user_ids, known=known)
    _with_peers(conn, list(seen.items()))
    return seen


# --- access -----------------------------------------------------------------------


_ACCESS = (
    f"SELECT u.disabled, c.id, m.last_read_seq, {dm_routing.COLS} FROM users u LEFT JOIN conversations c ON c.dm_key = ? "
    f"LEFT JOIN members m ON m.conv_id = c.id AND m.user_id = ? {dm_routing.JOIN} WHERE u.id = ?"
)
AGENT = "agent"  # the role of an agent's access to a bot's DM it answers (it is no member)


def access(
    conn: sqlite3.Connection, peer_id: int, user_id: int, capability: str = roles.READ, now: int | None = None, missing_ok: bool = False,
    via: int | None = None,
) -> chat.Access | None:
    """The one check of a DM, named by the other user: not_found when there is no such user or
    the two never exchanged a message (None instead with missing_ok). A DM has members only,
    but for the agent answering a bot's DM: `via` names the bot, `peer_id` the DM's user. A bot
    whose DM is handed over may not send into it (handed_over)."""
    if via is not None:
        return _agent_access(conn, peer_id, via, user_id)
    if peer_id == user_id:
        raise ChatError("bad_request", "a direct message needs another user", field="peer")
    row = conn.execute(_ACCESS, (dm_key(user_id, peer_id), user_id, peer_id)).fetchone()
    if row is None:
        raise ChatError("not_found", f"no user with id {peer_id}", field="peer")
    _, conv_id, last_read = row[:3]
    if conv_id is None:
        if missing_ok:
            return None
        raise ChatError("not_found", "no conversation with this user yet", field="peer")
    roles.require(roles.DM, roles.Actor(user_id, "member"), capability, now_ms() if now is None else now)
    routed = Routed.of(row[3:])
    if routed is not None and capability == roles.SEND:
        require_bot_may_send(user_id, routed.bot_id)
    return chat.Access(conv_id, user_id, "member", 0, last_read, peer_id, routed=routed)


def _agent_access(conn: sqlite3.Connection, user_id: int, bot_id: int, agent_id: int) -> chat.Access:
    """The agent's access to the DM of `user_id` and `bot_id`: only while it answers it."""
    if user_id == bot_id:
        raise ChatError("bad_request", "a direct message needs another user", field="peer")
    conv_id = find_conv(conn, user_id, bot_id)
    if conv_id is None:
        raise ChatError("not_found", "no conversation between this user and this bot", field="peer")
    routed = dm_routing.routed(conn, conv_id)
    if routed is None or routed.agent_id != agent_id or routed.user_id != user_id:
        raise ChatError("forbidden", "you are not handling this conversation (chat_dm_handover)", field="bot_id")
    return chat.Access(conv_id, agent_id, AGENT, 0, 0, user_id, routed=routed)


_SEND = (
    "SELECT (SELECT id FROM messages WHERE sender_id = ? AND client_msg_id = ?), (SELECT disabled FROM users WHERE id = ?), "
    f"u.id, u.disabled, c.id, m.last_read_seq, {dm_routing.COLS} FROM (SELECT 1) LEFT JOIN users u ON u.id = ? "
    f"LEFT JOIN conversations c ON c.dm_key = ? LEFT JOIN members m ON m.conv_id = c.id AND m.user_id = ? {dm_routing.JOIN}"
)


def open_send(ctx: Any, peer_id: int, sender_id: int, client_msg_id: str | None, gate: Any = None, via: int | None = None) -> chat.SendTarget:
    """Everything a DM send checks, in one statement (it runs for every message): a resend
    first, then the sender, then the peer, then `gate(conv_id or None)` (the social rules:
    chatd.core.social_gate); the DM is started by its first message. A bot whose DM is handed
    over may not send into it; the agent answering it sends with `via` (the bot)."""
    if via is not None:
        return _open_agent_send(ctx, peer_id, via, sender_id, client_msg_id)
    if peer_id == sender_id:
        raise ChatError("bad_request", "a direct message needs another user", field="peer")
    key = dm_key(sender_id, peer_id)
    row = ctx.conn.execute(_SEND, (sender_id, client_msg_id, sender_id, peer_id, key, sender_id)).fetchone()
    existing_id, sender_disabled, peer, peer_disabled, conv_id, last_read = row[:6]
    if existing_id is not None:
        return chat.SendTarget(existing_id, conv_id, None)
    if sender_disabled is None or sender_disabled:
        raise ChatError("user_disabled", "your account is disabled")
    if peer is None:
        raise ChatError("not_found", f"no user with id {peer_id}", field="peer")
    if peer_disabled:
        raise ChatError("forbidden", "this user's account is disabled", field="peer")
    routed = Routed.of(row[6:])
    if routed is not None:
        require_bot_may_send(sender_id, routed.bot_id)
    if gate is not None:
        gate(conv_id)
    created = conv_id is None
    if created:
        conv_id, last_read = create_conv(ctx, sender_id, peer_id), 0
    return chat.SendTarget(None, conv_id, chat.Access(conv_id, sender_id, "member", 0, last_read, peer_id, routed=routed), created)


def _open_agent_send(ctx: Any, user_id: int, bot_id: int, agent_id: int, client_msg_id: str | None) -> chat.SendTarget:
    """An agent's send into the bot's DM it answers (a resend first, as every send)."""
    conn = ctx.conn
    if client_msg_id is not None:
        row = conn.execute("SELECT id FROM messages WHERE sender_id = ? AND client_msg_id = ?", (agent_id, client_msg_id)).fetchone()
        if row is not None:
            return chat.SendTarget(row[0], find_conv(conn, user_id, bot_id), None)
    disabled = conn.execute("SELECT disabled FROM users WHERE id = ?", (agent_id,)).fetchone()
    if disabled is None or disabled[0]:
        raise ChatError("user_disabled", "your account is disabled")
    acc = _agent_access(conn, user_id, bot_id, agent_id)
    return chat.SendTarget(None, acc.conv_id, acc)


def peer_of(conn: sqlite3.Connection, me: int, conv_ids: list[int]) -> dict[int, int]:
    """The other user of each of these DMs."""
    if not conv_ids:
        return {}
    marks = ",".join("?" * len(conv_ids))
    return dict(conn.execute(f"SELECT conv_id, user_id FROM members WHERE conv_id IN ({marks}) AND user_id != ?", [*conv_ids, me]).fetchall())


def create_conv(ctx: Any, a: int, b: int) -> int:
    """Start the DM of users a and b (it must not exist yet); returns its conversation id."""
    conn = ctx.conn
    cur = conn.execute(
        "INSERT INTO conversations (kind, dm_key, last_activity, created_at) VALUES ('dm', ?, ?, ?)", (dm_key(a, b), ctx.now, ctx.now)
    )
    conv_id = int(cur.lastrowid)  # type: ignore[arg-type]
    conn.executemany(
        "INSERT INTO members (conv_id, user_id, joined_at) VALUES (?, ?, ?)", [(conv_id, a, ctx.now), (conv_id, b, ctx.now)]
    )
    return conv_id

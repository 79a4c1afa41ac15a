"""Direct-message conversations: lookup, creation, the conversation list, read and pin state."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from . import chat, messages, search
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


def _with_peers(conn: sqlite3.Connection, seen_by: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Add to each (viewer, entry) the other user of the DM as `peer`."""
    if not seen_by:
        return []
    conv_ids = sorted({e["conv_id"] for _, e in seen_by})
    marks = ",".join("?" * len(conv_ids))
    members: dict[int, list[int]] = {}
    for conv_id, uid in conn.execute(f"SELECT conv_id, user_id FROM members WHERE conv_id IN ({marks})", conv_ids):
        members.setdefault(conv_id, []).append(uid)
    users = get_users(conn, sorted({u for ids in members.values() for u in ids}))
    out = []
    for viewer, entry in seen_by:
        peer = next((u for u in members.get(entry["conv_id"], ()) if u != viewer), None)
        entry["peer"] = public_user(users[peer]) if peer in users else None
        entry["peer_online"] = False
        out.append(entry)
    return out


def conversations_for(conn: sqlite3.Connection, user_id: int, limit: int, unread_only: bool) -> list[dict[str, Any]]:
    return conversations(conn, user_id, limit=limit, unread_only=unread_only)


def history(conn: sqlite3.Connection, me: int, d: Any) -> dict[str, Any]:
    """chat_dm_history: by seq, or by time when any of desc/num/begin/end/lastid is given."""
    require_peer(conn, me, d.peer)
    conv_id = find_conv(conn, me, d.peer)
    out: dict[str, Any] = {"conv_id": conv_id or 0, "messages": [], "has_more": False, "last_seq": 0, "lastid": 0, "begin": 0, "end": 0, "num": 0}
    if conv_id is None:
        return out
    out["last_seq"] = conn.execute("SELECT last_seq FROM conversations WHERE id = ?", (conv_id,)).fetchone()[0]
    out.update(chat.page(conn, conv_id, me, d))
    return out


def search_dms(conn: sqlite3.Connection, me: int, d: Any) -> dict[str, Any]:
    """chat_dm_search: the user's DMs (or one peer's), newest first, with snippets."""
    match = search.build_query(d.query)
    if match is None:
        return {"results": [], "has_more": False}
    conv_id = require_conv(conn, me, d.peer) if d.peer is not None else None
    ids = search.search_ids(conn, me, match, kind="dm", conv_id=conv_id, before_id=d.before_id, limit=d.limit + 1)
    has_more = len(ids) > d.limit
    ids = ids[: d.limit]
    msgs = messages.load_many(conn, ids)
    peer_of: dict[int, int] = {}
    conv_ids = sorted({m["conv_id"] for m in msgs.values()})
    if conv_ids:
        marks = ",".join("?" * len(conv_ids))
        for cid, uid in conn.execute(f"SELECT conv_id, user_id FROM members WHERE conv_id IN ({marks}) AND user_id != ?", [*conv_ids, me]):
            peer_of[cid] = uid
    results = []
    for i in ids:
        m = msgs[i]
        results.append({"message": m, "peer": peer_of.get(m["conv_id"], me), "snippet": search.snippet(messages.text_of(m), d.query)})
    return {"results": results, "has_more": has_more}


def views(conn: sqlite3.Connection, conv_id: int, user_ids: list[int], known: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """The conversation entry of one DM as each of the given users sees it (`known`: a message just stored)."""
    seen = chat.views(conn, conv_id, user_ids, known=known)
    _with_peers(conn, list(seen.items()))
    return seen


# --- writer ops ---------------------------------------------------------------------


_SEND_LOOKUP = (
    "SELECT (SELECT id FROM messages WHERE sender_id = ? AND client_msg_id = ?), "
    "(SELECT disabled FROM users WHERE id = ?), (SELECT disabled FROM users WHERE id = ?), "
    "(SELECT id FROM conversations WHERE dm_key = ?)"
)


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


def op_send(ctx: Any, peer_id: int, msg: messages.NewMessage) -> tuple[dict[str, Any], bool, dict[int, dict[str, Any]]]:
    """Store a DM. Returns (message, duplicate, views): views are both users' entries of the
    conversation when this message started it, else empty (clients update their list from
    the chat_message push, as for groups)."""
    conn = ctx.conn
    me = msg.sender_id
    if peer_id == me:
        raise ChatError("bad_request", "a direct message needs another user", field="peer")
    # Everything a send checks, in one statement (it runs for every message).
    existing_id, sender_disabled, peer_disabled, conv_id = conn.execute(_SEND_LOOKUP, (me, msg.client_msg_id, me, peer_id, dm_key(me, peer_id))).fetchone()
    if existing_id is not None:
        existing = messages.load(conn, existing_id)
        assert existing is not None
        if existing["conv_id"] != conv_id:  # as chat.op_send: one id, one message, one conversation
            raise ChatError("conflict", "this client_msg_id was used for a message elsewhere", field="client_msg_id")
        return existing, True, {}
    if sender_disabled is None or sender_disabled:
        raise ChatError("user_disabled", "your account is disabled")
    if peer_disabled is None:
        raise ChatError("not_found", f"no user with id {peer_id}", field="peer")
    if peer_disabled:
        raise ChatError("forbidden", "this user's account is disabled", field="peer")
    bad = [u for u in msg.mentions if u not in (me, peer_id)]
    if bad:
        raise ChatError("bad_request", f"not in this conversation: {bad[:5]}", field="mentions")
    created = conv_id is None
    if created:
        conv_id = create_conv(ctx, me, peer_id)
    stored = messages.insert(ctx, conv_id, msg)
    return stored, False, views(conn, conv_id, [me, peer_id], known=stored) if created else {}


def op_mark_read(ctx: Any, user_id: int, peer_id: int, seq: int | None) -> tuple[int, int, bool, dict[int, dict[str, Any]]]:
    conn = ctx.conn
    conv_id = require_conv(conn, user_id, peer_id)
    last_seq, old = conn.execute(
        "SELECT c.last_seq, m.last_read_seq FROM conversations c JOIN members m ON m.conv_id = c.id AND m.user_id = ? WHERE c.id = ?",
        (user_id, conv_id),
    ).fetchone()
    new = max(old, min(last_seq if seq is None else seq, last_seq))
    changed = new != old
    if changed:
        conn.execute("UPDATE members SET last_read_seq = ? WHERE conv_id = ? AND user_id = ?", (new, conv_id, user_id))
    return conv_id, new, changed, views(conn, conv_id, [user_id]) if changed else {}


def op_pin(ctx: Any, user_id: int, peer_id: int, pinned: bool) -> tuple[int, dict[int, dict[str, Any]]]:
    conn = ctx.conn
    conv_id = require_conv(conn, user_id, peer_id)
    conn.execute("UPDATE members SET pinned = ? WHERE conv_id = ? AND user_id = ?", (int(pinned), conv_id, user_id))
    return conv_id, views(conn, conv_id, [user_id])


def op_edit(ctx: Any, user_id: int, peer_id: int, msg_id: int, new: messages.NewMessage) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    conv_id = require_conv(ctx.conn, user_id, peer_id)
    msg = messages.edit(ctx, conv_id, user_id, msg_id, new)
    return msg, _views_if_last(ctx.conn, conv_id, msg_id, [user_id, peer_id])


def op_recall(ctx: Any, user_id: int, peer_id: int, msg_id: int, is_admin: bool, window_ms: int) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    conv_id = require_conv(ctx.conn, user_id, peer_id)
    msg = messages.recall(ctx, conv_id, user_id, msg_id, is_admin=is_admin, window_ms=window_ms)
    return msg, _views_if_last(ctx.conn, conv_id, msg_id, [user_id, peer_id])


def op_react(ctx: Any, user_id: int, peer_id: int, msg_id: int, emoji: str, remove: bool) -> dict[str, Any]:
    conv_id = require_conv(ctx.conn, user_id, peer_id)
    return messages.react(ctx, conv_id, user_id, msg_id, emoji, remove)


def op_delete(ctx: Any, user_id: int, peer_id: int, msg_ids: list[int]) -> tuple[int, list[int], dict[int, dict[str, Any]]]:
    conv_id = require_conv(ctx.conn, user_id, peer_id)
    ids = messages.hide(ctx, conv_id, user_id, msg_ids)
    return conv_id, ids, views(ctx.conn, conv_id, [user_id])


def _views_if_last(conn: sqlite3.Connection, conv_id: int, msg_id: int, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    (last,) = conn.execute("SELECT last_msg_id FROM conversations WHERE id = ?", (conv_id,)).fetchone()
    return views(conn, conv_id, user_ids) if last == msg_id else {}

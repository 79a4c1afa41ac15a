"""Messages of any conversation: insert, load, page, edit, recall, react, hide.

Functions named op_* run inside the writer (they take a WriteCtx); the others
take a plain connection and serve readers and ops alike.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from ..errors import ChatError
from ..protocol import content as ct
from . import search, uploads

COLS = "id, conv_id, seq, sender_id, type, content, client_msg_id, quote_id, mentions, created_at, edited_at, recalled_at, forwarded, stream_state"
_json_decode = msgspec.json.decode


class NewMessage(msgspec.Struct):
    """A validated message, ready to store: produced by the handler, consumed by the writer."""

    sender_id: int
    type: str
    content: bytes
    text: str
    client_msg_id: str | None
    quote_id: int | None
    mentions: list[int]
    quota: int = 0  # limits.user_storage_bytes of the sender (0: none); see charge()
    forwarded: str | None = None  # a forwarded copy: its origin, JSON {sender_id, created_at}
    stream_state: str | None = None  # 'streaming' for a bot's stream just begun (chatd.services.streams)


def _wire(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "conv_id": row[1],
        "seq": row[2],
        "sender_id": row[3],
        "content": _json_decode(row[5]) if row[5] is not None else None,
        "client_msg_id": row[6],
        "quote_id": row[7],
        "quote": None,
        "mentions": _json_decode(row[8]) if row[8] else [],
        "created_at": row[9],
        "edited_at": row[10],
        "recalled_at": row[11],
        "reactions": [],
        **({"forwarded": _json_decode(row[12])} if row[12] else {}),
        **(_stream_fields(row[13]) if row[13] else {}),
    }


def _stream_fields(stream_state: str) -> dict[str, str]:
    """A streamed message's state ('streaming', or 'error:<reason>' as stored) as the wire says it."""
    state, _, reason = stream_state.partition(":")
    return {"state": state, "stream_error": reason} if reason else {"state": state}


def _decorate(conn: sqlite3.Connection, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill in quotes and reactions for a page of messages, one query each."""
    if not messages:
        return messages
    ids = [m["id"] for m in messages]
    marks = ",".join("?" * len(ids))
    by_id = {m["id"]: m for m in messages}
    for msg_id, emoji, user_id in conn.execute(
        f"SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN ({marks}) ORDER BY message_id, emoji, created_at", ids
    ):
        reactions = by_id[msg_id]["reactions"]
        if not reactions or reactions[-1]["emoji"] != emoji:
            reactions.append({"emoji": emoji, "count": 0, "user_ids": []})
        reactions[-1]["count"] += 1
        reactions[-1]["user_ids"].append(user_id)
    quote_ids = sorted({m["quote_id"] for m in messages if m["quote_id"]})
    if quote_ids:
        marks = ",".join("?" * len(quote_ids))
        quotes = {}
        for qid, sender_id, qtype, content, recalled_at in conn.execute(
            f"SELECT id, sender_id, type, content, recalled_at FROM messages WHERE id IN ({marks})", quote_ids
        ):
            text = "" if content is None else ct.preview_text(ct.loads(content))
            quotes[qid] = {"id": qid, "sender_id": sender_id, "type": qtype, "text": text, "recalled": recalled_at is not None}
        for m in messages:
            if m["quote_id"]:
                m["quote"] = quotes.get(m["quote_id"])
    return messages


SEARCHABLE_SYSTEM_EVENTS = frozenset({"call"})


def indexed_text(msg_type: str, content: bytes | None) -> str:
    """What the search index holds for a stored message: nothing for recalled messages or system
    messages but call records (FTS5 must be told exactly what was indexed to delete it)."""
    if content is None:
        return ""
    if msg_type == "system":  # only call records (chatd.core.call_records) are found by search
        system = ct.loads(content)
        return system.text if getattr(system, "event", "") in SEARCHABLE_SYSTEM_EVENTS else ""
    return ct.searchable_text(ct.loads(content))


def text_of(message: dict[str, Any]) -> str:
    """The searchable text of a wire message (empty once recalled)."""
    if message["content"] is None:
        return ""
    return ct.searchable_text(msgspec.convert(message["content"], ct.Content))


def load(conn: sqlite3.Connection, msg_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {COLS} FROM messages WHERE id = ?", (msg_id,)).fetchone()
    return None if row is None else _decorate(conn, [_wire(row)])[0]


def load_many(conn: sqlite3.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    msgs = [_wire(r) for r in conn.execute(f"SELECT {COLS} FROM messages WHERE id IN ({marks})", ids)]
    return {m["id"]: m for m in _decorate(conn, msgs)}


_NOT_HIDDEN = "NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = ? AND h.message_id = messages.id)"


def page_by_seq(
    conn: sqlite3.Connection, conv_id: int, user_id: int, *, before_seq: int | None, after_seq: int | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` messages, oldest first, and whether more lie beyond the page."""
    if after_seq is not None:
        cond, args, order = "seq > ?", [after_seq], "ASC"
        if before_seq is not None:
            cond += " AND seq < ?"
            args.append(before_seq)
    elif before_seq is not None:
        cond, args, order = "seq < ?", [before_seq], "DESC"
    else:
        cond, args, order = "1", [], "DESC"
    rows = conn.execute(
        f"SELECT {COLS} FROM messages WHERE conv_id = ? AND {cond} AND {_NOT_HIDDEN} ORDER BY seq {order} LIMIT ?",
        [conv_id, *args, user_id, limit + 1],
    ).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if order == "DESC":
        rows.reverse()
    return _decorate(conn, [_wire(r) for r in rows]), has_more


def page_by_time(
    conn: sqlite3.Connection, conv_id: int, user_id: int, *, desc: bool, num: int, begin: int, end: int, lastid: int
) -> tuple[list[dict[str, Any]], bool]:
    """Time paging: desc pages back from `end`, else forward from `begin`; `lastid` excludes what was seen."""
    cond = ["conv_id = ?"]
    args: list[Any] = [conv_id]
    if begin:
        cond.append("created_at >= ?")
        args.append(begin)
    if end:
        cond.append("created_at <= ?")
        args.append(end)
    if lastid:
        cond.append("id < ?" if desc else "id > ?")
        args.append(lastid)
    rows = conn.execute(
        f"SELECT {COLS} FROM messages WHERE {' AND '.join(cond)} AND {_NOT_HIDDEN} ORDER BY id {'DESC' if desc else 'ASC'} LIMIT ?",
        [*args, user_id, num + 1],
    ).fetchall()
    has_more = len(rows) > num
    return _decorate(conn, [_wire(r) for r in rows[:num]]), has_more


def edits(conn: sqlite3.Connection, msg_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute("SELECT COUNT(*) FROM message_edits WHERE message_id = ?", (msg_id,)).fetchone()[0]
    rows = conn.execute(
        "SELECT id, content, edited_at FROM message_edits WHERE message_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (msg_id, limit, offset),
    ).fetchall()
    return [{"edit_id": r[0], "content": _json_decode(r[1]), "edited_at": r[2]} for r in rows], total


def mentions_of(conn: sqlite3.Connection, conv_id: int, msg_id: int) -> list[int]:
    """Who a message of this conversation mentions (0: @all); empty when there is no such message."""
    row = conn.execute("SELECT mentions FROM messages WHERE id = ? AND conv_id = ?", (msg_id, conv_id)).fetchone()
    return _json_decode(row[0]) if row and row[0] else []


def sender_of(conn: sqlite3.Connection, conv_id: int, msg_id: int) -> int | None:
    """Who sent a message of this conversation; None when there is no such message."""
    row = conn.execute("SELECT sender_id FROM messages WHERE id = ? AND conv_id = ?", (msg_id, conv_id)).fetchone()
    return None if row is None else row[0]


def conv_of(conn: sqlite3.Connection, msg_id: int) -> int | None:
    row = conn.execute("SELECT conv_id FROM messages WHERE id = ?", (msg_id,)).fetchone()
    return None if row is None else row[0]


# --- writer ops (called from conversation-kind ops, inside the writer) -------------


def charge(conn: sqlite3.Connection, user_id: int, nbytes: int, quota: int) -> None:
    """Count `nbytes` more against the user's stored bytes; with a quota, refuse (before writing
    anything) what would take them over it. Call it before the op's other writes."""
    if quota:
        cur = conn.execute(
            "UPDATE users SET stored_bytes = stored_bytes + ?1 WHERE id = ?2 AND stored_bytes + ?1 <= ?3", (nbytes, user_id, quota)
        )
        if cur.rowcount == 0:
            raise ChatError("quota_exceeded", f"this would take your stored messages over {quota} bytes; recall some to free space")
    # Without a quota nothing is counted (an update of the sender's row in every send's commit
    # costs the batched sends 6 to 15 %): a server started with one counts afresh (recount_stored).


def recount_stored(conn: sqlite3.Connection) -> None:
    """Count every user's stored bytes afresh (at start, when limits.user_storage_bytes is set):
    the content of the messages they sent and have not recalled, system messages left out, and
    those messages' edit histories."""
    conn.execute(
        "UPDATE users SET stored_bytes = COALESCE((SELECT SUM(length(content)) FROM messages "
        "WHERE sender_id = users.id AND type != 'system' AND content IS NOT NULL), 0) + COALESCE((SELECT SUM(length(e.content)) "
        "FROM message_edits e JOIN messages m ON m.id = e.message_id WHERE m.sender_id = users.id AND m.type != 'system'), 0)"
    )


def _release(conn: sqlite3.Connection, user_id: int, nbytes: int) -> None:
    if nbytes:
        conn.execute("UPDATE users SET stored_bytes = MAX(0, stored_bytes - ?) WHERE id = ?", (nbytes, user_id))


def insert(ctx: Any, conv_id: int, msg: NewMessage, quiet: frozenset[int] = frozenset()) -> dict[str, Any]:
    """Store a message; its mentions notify none of the users in `quiet` (they blocked the sender:
    chatd.core.social_gate.quiet_mentions). An @all that some member must not hear is marked on
    each other member instead of on the conversation."""
    conn = ctx.conn
    if msg.quote_id is not None and conv_of(conn, msg.quote_id) != conv_id:
        raise ChatError("not_found", "the quoted message is not in this conversation", field="quote_id")
    if msg.type != "system":  # server-made messages count against nobody's quota
        charge(conn, msg.sender_id, len(msg.content), msg.quota)
    msg_id = ctx.ids.next(ctx.now)
    (seq,) = conn.execute(
        "UPDATE conversations SET last_seq = last_seq + 1, last_msg_id = ?, last_activity = ? WHERE id = ? RETURNING last_seq",
        (msg_id, ctx.now, conv_id),
    ).fetchone()
    mentions = msgspec.json.encode(msg.mentions).decode() if msg.mentions else None  # text, as the column says (PostgreSQL holds it to that)
    conn.execute(
        f"INSERT INTO messages ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
        (msg_id, conv_id, seq, msg.sender_id, msg.type, msg.content, msg.client_msg_id, msg.quote_id, mentions, ctx.now, msg.forwarded, msg.stream_state),
    )
    uploads.link(conn, msg_id, msg.content)
    # On SQLite the search index entry is added later, by search.op_index_pending; PostgreSQL's
    # is written with the message (docs/scaling.md: several nodes write, and no watermark of
    # ids could tell which of them are indexed).
    if search.inline(conn):
        search.index(conn, msg_id, conv_id, indexed_text(msg.type, msg.content))
    # Sending reads everything before it.
    conn.execute("UPDATE members SET last_read_seq = ? WHERE conv_id = ? AND user_id = ?", (seq, conv_id, msg.sender_id))
    for uid in msg.mentions:
        if uid == 0 and quiet:
            skip = sorted(quiet | {msg.sender_id})
            marks = ",".join("?" * len(skip))
            conn.execute(f"UPDATE members SET mention_seq = ? WHERE conv_id = ? AND user_id NOT IN ({marks})", [seq, conv_id, *skip])
        elif uid == 0:
            conn.execute("UPDATE conversations SET all_mention_seq = ? WHERE id = ?", (seq, conv_id))
        elif uid != msg.sender_id and uid not in quiet:
            conn.execute("UPDATE members SET mention_seq = ? WHERE conv_id = ? AND user_id = ?", (seq, conv_id, uid))
    row = (msg_id, conv_id, seq, msg.sender_id, msg.type, msg.content, msg.client_msg_id, msg.quote_id, mentions, ctx.now, None, None, msg.forwarded, msg.stream_state)
    out = _wire(row)
    if msg.quote_id is not None:
        _decorate(conn, [out])
    return out


def _load_in(conn: sqlite3.Connection, conv_id: int, msg_id: int) -> tuple[Any, ...]:
    row = conn.execute(f"SELECT {COLS} FROM messages WHERE id = ? AND conv_id = ?", (msg_id, conv_id)).fetchone()
    if row is None:
        raise ChatError("not_found", "no such message in this conversation", field="msg_id")
    return row


def edit(
    ctx: Any, conv_id: int, user_id: int, msg_id: int, new: NewMessage, *, max_edits: int = 0, max_history_bytes: int = 0
) -> dict[str, Any]:
    """Replace a message's content, keeping the old one in its edit history. At most `max_edits`
    edits per message (0: no limit); the history keeps its newest versions that fit in
    `max_history_bytes` (0: no limit), the oldest dropped first. The sender is charged the new
    content (the old one stays stored, in the history) and credited what is dropped."""
    conn = ctx.conn
    row = _load_in(conn, conv_id, msg_id)
    if row[3] != user_id:
        raise ChatError("forbidden", "only the sender can edit a message")
    if row[11] is not None:
        raise ChatError("not_editable", "the message was recalled")
    if row[13] == "streaming":
        raise ChatError("not_editable", "the message is being streamed: end its stream first")
    if row[4] == "system" or row[4] != new.type:
        raise ChatError("not_editable", f"a {row[4]} message cannot become {new.type}", field="content.type")
    if max_edits:
        (count,) = conn.execute("SELECT edit_count FROM messages WHERE id = ?", (msg_id,)).fetchone()
        if count >= max_edits:
            raise ChatError("not_editable", f"a message can be edited at most {max_edits} times")
    charge(conn, user_id, len(new.content), new.quota)
    old_text = indexed_text(row[4], row[5])
    conn.execute("INSERT INTO message_edits (message_id, content, edited_at) VALUES (?, ?, ?)", (msg_id, row[5], ctx.now))
    conn.execute("UPDATE messages SET content = ?, edited_at = ?, edit_count = edit_count + 1 WHERE id = ?", (new.content, ctx.now, msg_id))
    uploads.link(conn, msg_id, new.content)
    if max_history_bytes:
        _release(conn, user_id, _trim_history(conn, msg_id, max_history_bytes))
    search.reindex(conn, msg_id, conv_id, old_text, new.text)
    out = load(conn, msg_id)
    assert out is not None
    return out


def _trim_history(conn: sqlite3.Connection, msg_id: int, max_bytes: int) -> int:
    """Drop the oldest versions of a message's edit history past `max_bytes`; returns the bytes dropped."""
    kept, dropped, cut = 0, 0, None
    for edit_id, nbytes in conn.execute("SELECT id, length(content) FROM message_edits WHERE message_id = ? ORDER BY id DESC", (msg_id,)):
        if cut is None and kept + nbytes <= max_bytes:
            kept += nbytes
            continue
        if cut is None:
            cut = edit_id
        dropped += nbytes
    if cut is not None:
        conn.execute("DELETE FROM message_edits WHERE message_id = ? AND id <= ?", (msg_id, cut))
    return dropped


def recall(ctx: Any, conv_id: int, user_id: int, msg_id: int, *, is_admin: bool, window_ms: int) -> dict[str, Any]:
    conn = ctx.conn
    row = _load_in(conn, conv_id, msg_id)
    if row[11] is None:
        if not is_admin:
            if row[3] != user_id:
                raise ChatError("forbidden", "only its sender, or those who may recall others' messages, can recall a message")
            if window_ms == 0 or ctx.now - row[9] > window_ms:  # 0: never
                raise ChatError("recall_window_passed", f"messages can be recalled within {window_ms // 1000} s of sending")
        # A recall erases every stored version: the current text from the index (edits kept the
        # index to the current text), the content, the edit history; and its mentions.
        search.reindex(conn, msg_id, conv_id, indexed_text(row[4], row[5]), "")
        if row[4] != "system":  # the sender gets back what the message and its history stored
            (history,) = conn.execute("SELECT COALESCE(SUM(length(content)), 0) FROM message_edits WHERE message_id = ?", (msg_id,)).fetchone()
            _release(conn, row[3], len(row[5]) + history)
        conn.execute("UPDATE messages SET content = NULL, mentions = NULL, recalled_at = ? WHERE id = ?", (ctx.now, msg_id))
        conn.execute("DELETE FROM message_edits WHERE message_id = ?", (msg_id,))
        uploads.unlink_message(conn, msg_id)
        if row[8]:
            _forget_mentions(conn, conv_id, row[2], _json_decode(row[8]))
    out = load(conn, msg_id)
    assert out is not None
    return out


def _forget_mentions(conn: sqlite3.Connection, conv_id: int, seq: int, mentioned: list[int]) -> None:
    """A recalled message at `seq` mentioned these users (0: everyone), and its mentions are gone:
    where it was the newest mention, point members.mention_seq (conversations.all_mention_seq)
    at the newest mention left that is still unread, or 0."""
    for uid in set(mentioned):
        if uid == 0:
            conn.execute(
                "UPDATE conversations SET all_mention_seq = COALESCE((SELECT m.seq FROM messages m WHERE m.conv_id = ?1 AND m.seq < ?2 "
                "AND m.seq > (SELECT MIN(last_read_seq) FROM members WHERE conv_id = ?1) AND m.mentions IS NOT NULL "
                "AND EXISTS (SELECT 1 FROM json_each(m.mentions) WHERE value = 0) "
                "AND NOT EXISTS (SELECT 1 FROM blocks b JOIN members k ON k.user_id = b.user_id AND k.conv_id = ?1 WHERE b.blocked_id = m.sender_id) "
                "ORDER BY m.seq DESC LIMIT 1), 0) "
                "WHERE id = ?1 AND all_mention_seq = ?2",
                (conv_id, seq),
            )
            # An @all marked member by member (someone had blocked its sender): each one it marked.
            for (member,) in conn.execute("SELECT user_id FROM members WHERE conv_id = ? AND mention_seq = ?", (conv_id, seq)).fetchall():
                _forget_mention_of(conn, conv_id, seq, member)
        else:
            _forget_mention_of(conn, conv_id, seq, uid)


def _forget_mention_of(conn: sqlite3.Connection, conv_id: int, seq: int, uid: int) -> None:
    """Where the recalled message at `seq` was the user's newest mention: the newest left, or 0
    (an @all counts: one marked member by member must be found again; one marked on the
    conversation is found by all_mention_seq as well, which changes nothing)."""
    conn.execute(
        "UPDATE members SET mention_seq = COALESCE((SELECT m.seq FROM messages m WHERE m.conv_id = ?1 AND m.seq < ?2 "
        "AND m.seq > members.last_read_seq AND m.mentions IS NOT NULL AND m.sender_id != ?3 "
        "AND m.sender_id NOT IN (SELECT blocked_id FROM blocks WHERE user_id = ?3) "
        "AND EXISTS (SELECT 1 FROM json_each(m.mentions) WHERE value IN (0, ?3)) "
        "AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = ?3 AND h.message_id = m.id) "
        "ORDER BY m.seq DESC LIMIT 1), 0) "
        "WHERE conv_id = ?1 AND user_id = ?3 AND mention_seq = ?2",
        (conv_id, seq, uid),
    )


def react(ctx: Any, conv_id: int, user_id: int, msg_id: int, emoji: str, remove: bool) -> dict[str, Any]:
    conn = ctx.conn
    row = _load_in(conn, conv_id, msg_id)
    if row[11] is not None:
        raise ChatError("not_editable", "the message was recalled")
    if remove:
        conn.execute("DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?", (msg_id, emoji, user_id))
    else:
        conn.execute(
            "INSERT OR IGNORE INTO reactions (message_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?)",
            (msg_id, user_id, emoji, ctx.now),
        )
    out = load(conn, msg_id)
    assert out is not None
    return out


def hide(ctx: Any, conv_id: int, user_id: int, msg_ids: list[int]) -> list[int]:
    conn = ctx.conn
    ids = sorted(set(msg_ids))
    marks = ",".join("?" * len(ids))
    found = {r[0] for r in conn.execute(f"SELECT id FROM messages WHERE conv_id = ? AND id IN ({marks})", [conv_id, *ids])}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ChatError("not_found", f"not in this conversation: {missing[:5]}", field="msg_ids")
    conn.executemany(
        "INSERT OR IGNORE INTO hidden_messages (user_id, message_id, conv_id) VALUES (?, ?, ?)", [(user_id, i, conv_id) for i in ids]
    )
    return ids


# --- streamed messages (chatd.services.streams) ------------------------------------------------


def set_stream_text(conn: sqlite3.Connection, msg_id: int, conv_id: int, text: str, state: str | None) -> None:
    """A streamed message's text so far (or its final text) and state; its search entry follows."""
    row = conn.execute("SELECT type, content FROM messages WHERE id = ?", (msg_id,)).fetchone()
    if row is None or row[1] is None:
        return  # recalled meanwhile: it keeps no text
    content = ct.dumps(ct.Text(text=text))
    conn.execute("UPDATE messages SET content = ?, stream_state = ? WHERE id = ?", (content, state, msg_id))
    search.reindex(conn, msg_id, conv_id, indexed_text(row[0], row[1]), text)


def end_unfinished_streams(conn: sqlite3.Connection) -> int:
    """At startup: streams that were running when the server stopped end as errors (their text
    as last flushed). Returns how many."""
    return conn.execute("UPDATE messages SET stream_state = 'error:restart' WHERE stream_state = 'streaming'").rowcount

"""Conversations of every kind (DMs, groups, rooms): the storage every chat verb shares.

A kind's store module (store.dm, store.group, store.room) has the one access
check of that kind, `access(conn, target, user_id, capability, now)`, which
loads the facts the role policy needs (chatd.policy.roles) and returns an
Access, or raises. Everything here takes an Access that was checked, or a
conversation id: conversation entries, pages of history, search, read
pointers and per-user flags, mentions and system messages, once for every kind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, NamedTuple

from ..errors import ChatError
from ..policy import roles
from . import messages, search
from .db import now_ms


class Access(NamedTuple):
    """What a kind's access check found: the user's member row in the conversation (role None:
    a server admin acting in a room they are not in), and for a DM the other user."""

    conv_id: int
    user_id: int
    role: str | None
    muted_until: int
    last_read_seq: int
    peer_id: int = 0
    server_admin: bool = False
    routed: Any = None  # a DM handed over to an agent now (chatd.store.dm_routing.Routed)

# extra(conn, conv_ids) -> {conv_id: fields the kind adds to a conversation entry}
ExtraFn = Callable[[sqlite3.Connection, list[int]], dict[int, dict[str, Any]]]


# --- members --------------------------------------------------------------------------


def member_ids(conn: sqlite3.Connection, conv_id: int) -> list[int]:
    """Every member of a conversation (what the member cache loads)."""
    return [r[0] for r in conn.execute("SELECT user_id FROM members WHERE conv_id = ?", (conv_id,))]


def members_in(conn: sqlite3.Connection, conv_id: int, user_ids: list[int]) -> set[int]:
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    return {r[0] for r in conn.execute(f"SELECT user_id FROM members WHERE conv_id = ? AND user_id IN ({marks})", [conv_id, *ids])}


# --- conversation entries -------------------------------------------------------------

_ENTRY_COLS = (
    "c.id, m.user_id, c.name, c.last_seq, c.last_msg_id, c.last_activity, c.all_mention_seq, "
    "m.last_read_seq, m.mention_seq, m.pinned, m.notify_muted, m.role, m.sort_order, c.kind"
)


def entry_extra(table: str, id_key: str) -> ExtraFn:
    """The ExtraFn of a kind whose own table (groups, rooms) adds its id, avatar and member count to entries."""

    def extra(conn: sqlite3.Connection, conv_ids: list[int]) -> dict[int, dict[str, Any]]:
        if not conv_ids:
            return {}
        marks = ",".join("?" * len(conv_ids))
        return {
            r[0]: {id_key: r[0], "avatar": r[1], "member_count": r[2]}
            for r in conn.execute(f"SELECT conv_id, avatar, member_count FROM {table} WHERE conv_id IN ({marks})", conv_ids)
        }

    return extra


def _entries(
    conn: sqlite3.Connection, rows: list[tuple[Any, ...]], extra: ExtraFn | None, known: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Conversation entries for (conversation, user) rows. `known` is a message just stored by the
    calling op: nobody can have deleted it for themselves yet, so it needs no lookups."""
    if not rows:
        return []
    last_ids = _visible_lasts(conn, rows, known["id"] if known else 0)
    lasts = messages.load_many(conn, sorted({i for i in last_ids if i and (not known or i != known["id"])}))
    if known:
        lasts[known["id"]] = known
    extras = extra(conn, sorted({r[0] for r in rows})) if extra else {}
    unseen = _unseen(conn, rows)
    out = []
    for r, last_id in zip(rows, last_ids):
        conv_id, last_seq, last_read = r[0], r[3], r[7]
        hidden, mentioned = unseen.get((conv_id, r[1]), (0, False))
        entry = {
            "conv_id": conv_id,
            "name": r[2],
            "last_message": lasts.get(last_id) if last_id else None,
            "last_seq": last_seq,
            "last_read_seq": last_read,
            "unread": max(0, last_seq - last_read - hidden),
            "mentioned": mentioned,
            "pinned": bool(r[9]),
            "muted": bool(r[10]),
            "role": r[11],
            "last_activity": r[5],
        }
        entry.update(extras.get(conv_id, {}))
        out.append(entry)
    return out


def _unseen(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> dict[tuple[int, int], tuple[int, bool]]:
    """Badges count only what the user can still see. For each (conversation, user) row with
    unread messages: how many of those the user deleted for themselves, and whether one the user
    can still see mentions them (or everyone). One query for all the rows. The stored mention
    seqs are kept exact by insert and recall, so they are trusted unless the user deleted some
    of their unread messages; only then are that conversation's unread mentions looked at."""
    wanted = [(r[0], r[1], r[7], max(r[8], r[6])) for r in rows if r[3] > r[7]]
    if not wanted:
        return {}
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        values = ",".join(["(?, ?, ?, ?)"] * len(chunk))
        sql = (
            f"WITH p(conv_id, user_id, last_read, mention_upto) AS (VALUES {values}), "
            "q AS (SELECT p.conv_id, p.user_id, p.last_read, p.mention_upto, COUNT(m.id) AS hidden FROM p "
            "LEFT JOIN hidden_messages h ON h.user_id = p.user_id AND h.conv_id = p.conv_id "
            # Portable SQL (chatd.store.dialect): every column of p the query reads is grouped by.
            "LEFT JOIN messages m ON m.id = h.message_id AND m.seq > p.last_read GROUP BY p.conv_id, p.user_id, p.last_read, p.mention_upto) "
            "SELECT conv_id, user_id, hidden, CASE WHEN mention_upto <= last_read THEN 0 WHEN hidden = 0 THEN 1 "
            "ELSE EXISTS (SELECT 1 FROM messages m WHERE m.conv_id = q.conv_id AND m.seq > q.last_read AND m.seq <= q.mention_upto "
            "AND m.mentions IS NOT NULL AND m.sender_id != q.user_id "
            "AND m.sender_id NOT IN (SELECT blocked_id FROM blocks WHERE user_id = q.user_id) "
            "AND EXISTS (SELECT 1 FROM json_each(m.mentions) j WHERE j.value IN (0, q.user_id)) "
            "AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = q.user_id AND h.message_id = m.id)) END FROM q"
        )
        for conv_id, user_id, hidden, mentioned in conn.execute(sql, [v for row in chunk for v in row]):
            out[(conv_id, user_id)] = (hidden, bool(mentioned))
    return out


def _visible_lasts(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], fresh_id: int = 0) -> list[int]:
    """The newest message of each row's conversation that its user has not deleted for themselves."""
    out = [r[4] for r in rows]
    pairs = sorted({(r[1], r[4]) for r in rows if r[4] and r[4] != fresh_id})
    hidden: set[tuple[int, int]] = set()
    for start in range(0, len(pairs), 500):  # which (user, newest message) the user deleted, one query for 500
        chunk = pairs[start : start + 500]
        values = ",".join(["(?, ?)"] * len(chunk))
        hidden.update(conn.execute(
            f"WITH p(user_id, message_id) AS (VALUES {values}) "
            "SELECT h.user_id, h.message_id FROM p JOIN hidden_messages h ON h.user_id = p.user_id AND h.message_id = p.message_id",
            [v for pair in chunk for v in pair],
        ))
    for i, r in enumerate(rows):
        conv_id, user_id = r[0], r[1]
        if (user_id, r[4]) in hidden:
            row = conn.execute(
                "SELECT id FROM messages WHERE conv_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM hidden_messages h WHERE h.user_id = ? AND h.message_id = messages.id) ORDER BY seq DESC LIMIT 1",
                (conv_id, user_id),
            ).fetchone()
            out[i] = 0 if row is None else row[0]
    return out


# Pinned first, then the user's own order (sort_order, higher first), then newest activity.
# Activity is kept in milliseconds, so ties are broken by the newest message (ids are
# time-ordered), then by the newest conversation.
NEWEST_ACTIVITY = "c.last_activity DESC, c.last_msg_id DESC, c.id DESC"
LIST_ORDER = f"m.pinned DESC, m.sort_order DESC, {NEWEST_ACTIVITY}"
# A conversation the user removed from their list is left out until a message comes.
LISTED = "c.last_seq > m.removed_seq"


class Unread(NamedTuple):
    """Only conversations with an unread message from someone else, sent after `since` (ms),
    of one of `types` (content types; any when empty), that the user has not deleted."""

    since: int = 0
    types: tuple[str, ...] = ()


def member_rows(
    conn: sqlite3.Connection, user_id: int, kinds: list[str], *, unread_only: bool, limit: int, offset: int, unread: Unread | None = None
) -> list[tuple[Any, ...]]:
    """The user's listed conversations of these kinds, in list order: rows for `entries`."""
    marks = ",".join("?" * len(kinds))
    sql = f"SELECT {_ENTRY_COLS} FROM members m JOIN conversations c ON c.id = m.conv_id WHERE m.user_id = ? AND c.kind IN ({marks}) AND {LISTED}"
    args: list[Any] = [user_id, *kinds]
    if unread_only or unread is not None:
        sql += " AND c.last_seq > m.last_read_seq"
    if unread is not None:
        types = f" AND x.type IN ({','.join('?' * len(unread.types))})" if unread.types else ""
        sql += (
            " AND EXISTS (SELECT 1 FROM messages x WHERE x.conv_id = c.id AND x.seq > m.last_read_seq AND x.created_at > ? "
            f"AND x.sender_id != m.user_id AND x.recalled_at IS NULL{types} "
            "AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = m.user_id AND h.message_id = x.id))"
        )
        args += [unread.since, *unread.types]
    return conn.execute(f"{sql} ORDER BY {LIST_ORDER} LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()


def entries(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], extra: ExtraFn | None = None) -> list[dict[str, Any]]:
    """The entries of rows of member_rows (one kind's: `extra` is that kind's)."""
    return _entries(conn, rows, extra)


def conversations(
    conn: sqlite3.Connection, user_id: int, kind: str, *, limit: int = 50, unread_only: bool = False, extra: ExtraFn | None = None
) -> list[dict[str, Any]]:
    """The user's listed conversations of one kind, in list order."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        rows = member_rows(conn, user_id, [kind], unread_only=unread_only, limit=limit, offset=offset)
        entries = _entries(conn, rows, extra)
        if not unread_only:
            return entries
        # A conversation whose unread messages the user all deleted for themselves has none.
        out += [e for e in entries if e["unread"]]
        if len(rows) < limit or len(out) >= limit:
            return out[:limit]
        offset += len(rows)


def views(
    conn: sqlite3.Connection, conv_id: int, user_ids: list[int], extra: ExtraFn | None = None, known: dict[str, Any] | None = None
) -> dict[int, dict[str, Any]]:
    """One conversation's entry as each of the given users (who are members) sees it."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT {_ENTRY_COLS} FROM members m JOIN conversations c ON c.id = m.conv_id WHERE m.conv_id = ? AND m.user_id IN ({marks})",
            [conv_id, *chunk],
        ).fetchall()
        for row, entry in zip(rows, _entries(conn, rows, extra, known)):
            out[row[1]] = entry
    return out


# --- reading ----------------------------------------------------------------------------


class PageQuery(NamedTuple):
    """Which page of a conversation: by seq (before_seq, after_seq, limit), or by time when any of
    desc, num, begin, end or lastid is given."""

    limit: int = 50
    before_seq: int | None = None
    after_seq: int | None = None
    desc: bool | None = None
    num: int | None = None
    begin: int | None = None
    end: int | None = None
    lastid: int | None = None

    @classmethod
    def of(cls, request: Any) -> PageQuery:
        """From a history request (any Struct with these fields)."""
        return cls(*(getattr(request, f) for f in cls._fields))


def page(conn: sqlite3.Connection, conv_id: int, me: int, q: PageQuery) -> dict[str, Any]:
    """One page of a conversation. Returns messages, has_more, lastid, begin, end, num."""
    out: dict[str, Any] = {"messages": [], "has_more": False, "lastid": 0, "begin": 0, "end": 0, "num": 0}
    if any(v is not None for v in (q.desc, q.num, q.begin, q.end, q.lastid)):
        desc = True if q.desc is None else q.desc
        msgs, more = messages.page_by_time(
            conn, conv_id, me, desc=desc, num=q.num or q.limit, begin=q.begin or 0, end=q.end or 0, lastid=q.lastid or 0
        )
        times = [m["created_at"] for m in msgs]
        out.update(
            messages=msgs,
            has_more=more,
            num=len(msgs),
            lastid=msgs[-1]["id"] if msgs else (q.lastid or 0),
            begin=min(times) if times else (q.begin or 0),
            end=max(times) if times else (q.end or 0),
        )
    else:
        msgs, more = messages.page_by_seq(conn, conv_id, me, before_seq=q.before_seq, after_seq=q.after_seq, limit=q.limit)
        out.update(messages=msgs, has_more=more)
    return out


def last_seq(conn: sqlite3.Connection, conv_id: int) -> int:
    (seq,) = conn.execute("SELECT last_seq FROM conversations WHERE id = ?", (conv_id,)).fetchone()
    return int(seq)


def history(conn: sqlite3.Connection, conv_id: int, me: int, q: PageQuery) -> dict[str, Any]:
    """A page of a conversation the user may read (see page), with the conversation's newest seq."""
    return {"conv_id": conv_id, "last_seq": last_seq(conn, conv_id), **page(conn, conv_id, me, q)}


def search_in(conn: sqlite3.Connection, me: int, kind: str, conv_id: int | None, query: str, before_id: int | None, limit: int) -> dict[str, Any]:
    """Full-text search over the user's conversations of `kind` (or one they may read), newest
    first. Each result is {message, conv_id, snippet}."""
    ids = search.find(conn, me, query, kind=kind, conv_id=conv_id, before_id=before_id, limit=limit + 1)
    has_more = len(ids) > limit
    ids = ids[:limit]
    msgs = messages.load_many(conn, ids)
    results = [{"message": msgs[i], "conv_id": msgs[i]["conv_id"], "snippet": search.snippet(messages.text_of(msgs[i]), query)} for i in ids]
    return {"results": results, "has_more": has_more}


# --- writing (inside writer ops) --------------------------------------------------------

class SendTarget(NamedTuple):
    """What a kind's open_send found: a message already stored with the send's client_msg_id (its
    id, and the conversation the send names, to tell a resend from a conflict), or else the
    checked access to the conversation, which the send may have just started (a DM)."""

    existing_id: int | None
    conv_id: int | None
    access: Access | None
    created: bool = False


_SEND_LOOKUP = "SELECT (SELECT id FROM messages WHERE sender_id = ? AND client_msg_id = ?), (SELECT disabled FROM users WHERE id = ?)"


def open_member_send(ctx: Any, access: Callable[..., Access], conv_id: int, sender_id: int, client_msg_id: str | None) -> SendTarget:
    """open_send of a kind whose conversations exist before their first message (groups, rooms):
    a resend is found first, even if the sender may no longer send; then the sender must be
    enabled and pass the kind's access check for sending."""
    existing_id, disabled = ctx.conn.execute(_SEND_LOOKUP, (sender_id, client_msg_id, sender_id)).fetchone()
    if existing_id is not None:
        return SendTarget(existing_id, conv_id, None)
    if disabled is None or disabled:
        raise ChatError("user_disabled", "your account is disabled")
    return SendTarget(None, conv_id, access(ctx.conn, conv_id, sender_id, roles.SEND, ctx.now))


def check_mentions(conn: sqlite3.Connection, acc: Access, mentions: list[int], may_mention_all: bool | None) -> None:
    """Mentioned users must be members. @all (0) needs may_mention_all; None: the kind has no
    @all at all (a DM), so 0 is just not a member."""
    if not mentions:
        return
    if 0 in mentions and may_mention_all is False:
        raise ChatError("forbidden", "only owners and admins may mention everyone", field="mentions")
    wanted = [u for u in mentions if u != 0 or may_mention_all is None]
    missing = sorted(set(wanted) - members_in(conn, acc.conv_id, wanted))
    if missing:
        raise ChatError("bad_request", f"not in this conversation: {missing[:5]}", field="mentions")


def system_message(ctx: Any, conv_id: int, actor_id: int, content: bytes) -> dict[str, Any]:
    """Store a server-made message (content type system, encoded by the caller); not searchable."""
    new = messages.NewMessage(sender_id=actor_id, type="system", content=content, text="", client_msg_id=None, quote_id=None, mentions=[])
    return messages.insert(ctx, conv_id, new)


def move_read(conn: sqlite3.Connection, acc: Access, seq: int | None) -> tuple[int, int]:
    """Move the read pointer forward (never back), to `seq` or the newest message: (old, new)."""
    top = last_seq(conn, acc.conv_id)
    old = acc.last_read_seq
    new = max(old, min(top if seq is None else seq, top))
    if new != old:
        conn.execute("UPDATE members SET last_read_seq = ? WHERE conv_id = ? AND user_id = ?", (new, acc.conv_id, acc.user_id))
    return old, new


def set_sort_order(conn: sqlite3.Connection, acc: Access, sort_order: int) -> None:
    conn.execute("UPDATE members SET sort_order = ? WHERE conv_id = ? AND user_id = ?", (sort_order, acc.conv_id, acc.user_id))


def remove_from_list(conn: sqlite3.Connection, acc: Access) -> int:
    """Leave the conversation out of the user's lists until its next message; returns its last seq."""
    top = last_seq(conn, acc.conv_id)
    conn.execute("UPDATE members SET removed_seq = ? WHERE conv_id = ? AND user_id = ?", (top, acc.conv_id, acc.user_id))
    return top


def mentioners(conn: sqlite3.Connection, at: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, str]]:
    """For (conversation, seq) pairs: who sent that message, and their display name."""
    out: dict[tuple[int, int], tuple[int, str]] = {}
    for conv_id, seq in at:
        row = conn.execute(
            "SELECT m.sender_id, u.display_name FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.conv_id = ? AND m.seq = ?", (conv_id, seq)
        ).fetchone()
        if row is not None:
            out[(conv_id, seq)] = (row[0], row[1])
    return out


_FLAGS = {"pinned": "pinned", "muted": "notify_muted"}


def set_flag(conn: sqlite3.Connection, acc: Access, flag: str, value: bool) -> None:
    """A per-user conversation setting: pinned, or muted (notifications)."""
    conn.execute(f"UPDATE members SET {_FLAGS[flag]} = ? WHERE conv_id = ? AND user_id = ?", (int(value), acc.conv_id, acc.user_id))


def last_msg_id(conn: sqlite3.Connection, conv_id: int) -> int:
    (last,) = conn.execute("SELECT last_msg_id FROM conversations WHERE id = ?", (conv_id,)).fetchone()
    return int(last or 0)


def remaining_ms(until: int, now: int | None = None) -> int:
    """Milliseconds from now until `until` (0 when it has passed)."""
    return max(0, until - (now_ms() if now is None else now))

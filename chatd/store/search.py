"""Full-text search: segmentation for the FTS5 index, query building, snippets.

Chinese, Japanese and Korean text has no spaces between words, so neither the
unicode61 tokenizer (which would index a whole run of CJK as one token) nor
trigram (which cannot match one or two characters) finds 开会 in 明天开会. chatd
indexes every CJK character as its own token and turns a CJK query into a
phrase of single characters: 开会 becomes the phrase "开 会", which matches
exactly where the two characters stand side by side. Latin words stay words.
The index is contentless (rowid = message id), so an entry is deleted by
giving FTS5 the same segmented text again, which `segment` reproduces exactly.

Messages are indexed a little after they are stored, not in the transaction
that stores them: adding a message to FTS5 and flushing its pending terms at
every commit cost more than the rest of a one-message commit. The writer runs
`op_index_pending` every INDEX_DELAY_S while messages wait, and before any
search (so a search always finds every message acknowledged before it);
`search_state.indexed_upto` is the id up to which every message is indexed,
committed together with the index entries it covers.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from .db import on_postgres

_CJK = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_HAS_CJK = re.compile(f"[{_CJK}]")
_WORD = re.compile(r"[\w]+", re.UNICODE)


def _spaced(match: re.Match[str]) -> str:
    return " " + " ".join(match.group()) + " "


def segment(text: str) -> str:
    """The text as it is indexed: every CJK character stands alone. (One replacement per run of
    CJK characters, not per character: 2 µs instead of 17 for a line of Chinese.)"""
    return _CJK_RUN.sub(_spaced, text)


PREFIX_MIN = 4


def build_query(query: str) -> str | None:
    """An FTS5 MATCH expression for a user's query (all terms must match), or None if it has no terms."""
    parts: list[str] = []
    for chunk in query.split():
        tokens = [t for word in _WORD.findall(chunk) for t in segment(word).split()]
        if not tokens:
            continue
        phrase = " ".join(tokens)
        quoted = '"' + phrase.replace('"', '""') + '"'
        # A trailing Latin word of four or more letters also matches as a prefix (meet -> meeting).
        # Shorter ones would merge the doclists of every word they begin ("the" -> there, them, ...).
        if not _HAS_CJK.search(tokens[-1]) and len(tokens[-1]) >= PREFIX_MIN:
            quoted += "*"
        parts.append(quoted)
    return " AND ".join(parts) if parts else None


def terms(query: str) -> list[str]:
    """The pieces of a query to highlight in a snippet."""
    out = []
    for chunk in query.split():
        for word in _WORD.findall(chunk):
            if word:
                out.append(word)
    return out


def snippet(text: str, query: str, width: int = 32) -> str:
    """A short excerpt around the first match, with every match wrapped in [ and ]."""
    words = sorted(set(terms(query)), key=len, reverse=True)
    if not words or not text:
        return text[: width * 2]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    first = pattern.search(text)
    start = 0 if first is None else max(0, first.start() - width)
    end = min(len(text), (first.end() if first else 0) + width * 2)
    piece = text[start:end]
    marked = pattern.sub(lambda m: f"[{m.group(0)}]", piece)
    return ("…" if start > 0 else "") + marked + ("…" if end < len(text) else "")


# A user with at most this many conversations of a kind has them named in the MATCH, so FTS5
# intersects the term's matches with those conversations' instead of the caller checking each
# match of the whole corpus (a user with 22 conversations searching a word common elsewhere).
# Past it, naming them costs more than it saves and the caller filters (docs/performance.md).
CONV_FILTER_MAX = 50


def conv_token(conv_id: int) -> str:
    """The `conv` column of the index: one token naming the message's conversation."""
    return f"c{conv_id}"


def indexed_upto(conn: sqlite3.Connection) -> int:
    """Every message with an id up to this one is in the index, as its content is now."""
    return conn.execute("SELECT indexed_upto FROM search_state").fetchone()[0]


def op_index_pending(ctx: Any, limit: int) -> tuple[int, bool]:
    """Writer op: index the messages stored since the last run, at most `limit` of them.
    Returns (the new indexed_upto, whether every stored message is now indexed)."""
    from .messages import indexed_text

    conn = ctx.conn
    if inline(conn):  # every message was indexed with it (and a migrated one by chatd migrate)
        return ctx.ids.last, True
    upto = indexed_upto(conn)
    rows = conn.execute("SELECT id, conv_id, type, content FROM messages WHERE id > ? ORDER BY id LIMIT ?", (upto, limit)).fetchall()
    for msg_id, conv_id, msg_type, content in rows:
        index(conn, msg_id, conv_id, indexed_text(msg_type, content))
    caught_up = len(rows) < limit
    # Every id the writer gave out so far is either stored (and seen above) or was rolled back.
    new = max(upto, ctx.ids.last) if caught_up else rows[-1][0]
    conn.execute("UPDATE search_state SET indexed_upto = ?", (new,))
    return new, caught_up


def inline(conn: Any) -> bool:
    """Whether a message is indexed in the transaction that stores it (PostgreSQL), rather than
    shortly after by op_index_pending (SQLite)."""
    return on_postgres(conn)


def reindex(conn: sqlite3.Connection, msg_id: int, conv_id: int, old_text: str, new_text: str) -> None:
    """A stored message's text changed (edit, recall). One not indexed yet needs nothing:
    op_index_pending will read its content as it is then."""
    if on_postgres(conn) or msg_id <= indexed_upto(conn):
        unindex(conn, msg_id, conv_id, old_text)
        index(conn, msg_id, conv_id, new_text)


def index(conn: sqlite3.Connection, msg_id: int, conv_id: int, text: str) -> None:
    if text and on_postgres(conn):
        from . import search_pg

        search_pg.index(conn, msg_id, conv_id, text)
    elif text:
        conn.execute("INSERT INTO messages_fts (rowid, text, conv) VALUES (?, ?, ?)", (msg_id, segment(text), conv_token(conv_id)))


def unindex(conn: sqlite3.Connection, msg_id: int, conv_id: int, text: str) -> None:
    if text and on_postgres(conn):
        from . import search_pg

        search_pg.unindex(conn, msg_id)
    elif text:
        conn.execute(
            "INSERT INTO messages_fts (messages_fts, rowid, text, conv) VALUES ('delete', ?, ?, ?)",
            (msg_id, segment(text), conv_token(conv_id)),
        )


def find(conn: sqlite3.Connection, user_id: int, query: str, *, kind: str, conv_id: int | None, before_id: int | None, limit: int) -> list[int]:
    """Ids of the messages a user's query matches in conversations of `kind` the user belongs
    to (or in `conv_id`), newest first: on SQLite through FTS5, on PostgreSQL through
    chatd.store.search_pg. None of them if the query has no terms."""
    if on_postgres(conn):
        from . import search_pg

        tsquery = search_pg.tsquery(query)
        if tsquery is None:
            return []
        return search_pg.search_ids(conn, user_id, tsquery, kind=kind, conv_id=conv_id, before_id=before_id, limit=limit)
    match = build_query(query)
    if match is None:
        return []
    return search_ids(conn, user_id, match, kind=kind, conv_id=conv_id, before_id=before_id, limit=limit)


def search_ids(
    conn: sqlite3.Connection,
    user_id: int,
    match: str,
    *,
    kind: str,
    conv_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[int]:
    """Ids of matching messages in conversations of `kind` the user belongs to, newest first."""
    convs: list[int] | None = [conv_id] if conv_id is not None else None
    if convs is None:
        mine = conn.execute(
            "SELECT mb.conv_id FROM members mb JOIN conversations c ON c.id = mb.conv_id WHERE mb.user_id = ? AND c.kind = ? LIMIT ?",
            (user_id, kind, CONV_FILTER_MAX + 1),
        ).fetchall()
        if not mine:
            return []
        if len(mine) <= CONV_FILTER_MAX:
            convs = [r[0] for r in mine]
    # The query's words match the text column only (never a conversation token).
    match = f"text : ({match})"
    if convs is not None:
        match += " AND conv : (" + " OR ".join(conv_token(c) for c in convs) + ")"
    head = "SELECT m.id FROM messages_fts f JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ?"
    return readable_matches(conn, head, match, "f.rowid", user_id, kind=kind, conv_id=conv_id, before_id=before_id, limit=limit)


def readable_matches(conn: Any, head: str, match: str, key: str, user_id: int, *, kind: str, conv_id: int | None, before_id: int | None, limit: int) -> list[int]:
    """`head` (a SELECT of m.id from an index joined to messages m, WHERE it matches `match`)
    narrowed to what the user may find: not recalled, in `conv_id` or in the user's
    conversations of `kind`, older than `before_id`, not deleted for the user; newest first
    (`key`: the index's message id). Shared by FTS5's search and PostgreSQL's (search_pg)."""
    sql = [head, "AND m.recalled_at IS NULL"]
    args: list[Any] = [match]
    if conv_id is not None:
        sql.append("AND m.conv_id = ?")
        args.append(conv_id)
    else:
        sql.append(
            "AND m.conv_id IN (SELECT mb.conv_id FROM members mb JOIN conversations c ON c.id = mb.conv_id "
            "WHERE mb.user_id = ? AND c.kind = ?)"
        )
        args += [user_id, kind]
    if before_id is not None:
        sql.append(f"AND {key} < ?")
        args.append(before_id)
    sql.append("AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = ? AND h.message_id = m.id)")
    args.append(user_id)
    sql.append(f"ORDER BY {key} DESC LIMIT ?")
    args.append(limit)
    return [r[0] for r in conn.execute(" ".join(sql), args)]

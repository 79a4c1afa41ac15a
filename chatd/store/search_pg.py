"""Full-text search on PostgreSQL, finding what FTS5 finds on SQLite (chatd.store.search).

The words are chatd's, not PostgreSQL's: PostgreSQL's text parser decides by the database's
locale what a letter is (a CJK character is none under the C locale, and would vanish), so
chatd cuts the text itself, exactly as it does for FTS5 (every CJK character its own token,
Latin words whole, case and diacritics folded), and hands PostgreSQL a ready tsvector: each
token with its position. A query becomes a tsquery of the same tokens: a CJK run a phrase of
its characters (`开 <-> 会`: side by side, as FTS5's phrase), a trailing Latin word of
PREFIX_MIN letters or more a prefix (`meet:*`), every part required (&).

The index is the `messages_search` table (one row per indexed message: its conversation, its
tsvector) with a GIN index; search_state.indexed_upto and the writer's schedule are shared with
SQLite (chatd.store.search).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .search import _HAS_CJK, _WORD, PREFIX_MIN, readable_matches, segment

_TOKEN = re.compile(r"[^\W_]+")  # letters and digits: FTS5's unicode61 separates at "_" too

SCHEMA = (
    "CREATE TABLE messages_search (id BIGINT PRIMARY KEY, conv_id BIGINT NOT NULL, tsv TSVECTOR NOT NULL)",
    "CREATE INDEX messages_search_tsv ON messages_search USING GIN (tsv)",
    "CREATE INDEX messages_search_conv ON messages_search (conv_id, id)",
)
MAX_POSITION = 16383  # PostgreSQL's: later tokens share it
MAX_LEXEME_BYTES = 2046  # PostgreSQL's longest lexeme


def _fold(token: str) -> str:
    """As FTS5's unicode61 with remove_diacritics 2: lower case, combining marks dropped."""
    return "".join(c for c in unicodedata.normalize("NFD", token.lower()) if not unicodedata.combining(c))


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tokens(text: str) -> list[str]:
    """The tokens FTS5 would index for this text (chatd.store.search.segment, then words)."""
    return [_fold(t) for t in _TOKEN.findall(segment(text))]


def tsvector(text: str) -> str:
    """A tsvector literal: each token at its position (1-based). A token longer than
    PostgreSQL's longest lexeme (MAX_LEXEME_BYTES) keeps its position but is not indexed: no
    one searches for a 700-letter word."""
    return " ".join(f"{_lexeme(t)}:{min(i, MAX_POSITION)}" for i, t in enumerate(tokens(text), 1) if len(t.encode()) <= MAX_LEXEME_BYTES)


def tsquery(query: str) -> str | None:
    """A tsquery literal for a user's query (every part must match), or None if it has no terms."""
    parts: list[str] = []
    for chunk in query.split():
        found = [_fold(t) for word in _WORD.findall(chunk) for t in _TOKEN.findall(segment(word))]
        if not found:
            continue
        lexemes = [_lexeme(t) for t in found]
        if not _HAS_CJK.search(found[-1]) and len(found[-1]) >= PREFIX_MIN:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts) if parts else None


def index(conn: Any, msg_id: int, conv_id: int, text: str) -> None:
    vector = tsvector(text)
    if vector:
        conn.execute(
            "INSERT INTO messages_search (id, conv_id, tsv) VALUES (?, ?, CAST(? AS tsvector)) "
            "ON CONFLICT (id) DO UPDATE SET conv_id = excluded.conv_id, tsv = excluded.tsv",
            (msg_id, conv_id, vector),
        )


def unindex(conn: Any, msg_id: int) -> None:
    conn.execute("DELETE FROM messages_search WHERE id = ?", (msg_id,))


def search_ids(conn: Any, user_id: int, query: str, *, kind: str, conv_id: int | None, before_id: int | None, limit: int) -> list[int]:
    """Ids of matching messages in conversations of `kind` the user belongs to, newest first
    (as chatd.store.search.search_ids; `query` is a tsquery literal from `tsquery`)."""
    if conv_id is None:
        mine = conn.execute(
            "SELECT 1 FROM members mb JOIN conversations c ON c.id = mb.conv_id WHERE mb.user_id = ? AND c.kind = ? LIMIT 1", (user_id, kind)
        ).fetchone()
        if mine is None:
            return []
    head = "SELECT m.id FROM messages_search f JOIN messages m ON m.id = f.id WHERE f.tsv @@ CAST(? AS tsquery)"
    return readable_matches(conn, head, query, "f.id", user_id, kind=kind, conv_id=conv_id, before_id=before_id, limit=limit)

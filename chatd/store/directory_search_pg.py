"""The directory's search index on PostgreSQL (chatd.store.directory_search is SQLite's, FTS5):
one row per member with a tsvector of the same terms, those of `names` at weight A and those of
`more` at weight B, cut and folded as FTS5's unicode61 does (chatd.store.search_pg); a query's
forms become a tsquery of prefix terms, and "names only" is weight A. The search itself is
chatd.store.directory_search.search's, which ranks by ts_rank here (by bm25 on FTS5).
"""

from __future__ import annotations

from typing import Any

from .. import names
from .search_pg import MAX_LEXEME_BYTES, _fold, _lexeme, _TOKEN

SCHEMA = (
    "CREATE TABLE directory_search_pg (user_id BIGINT PRIMARY KEY, terms TSVECTOR NOT NULL)",
    "CREATE INDEX directory_search_pg_terms ON directory_search_pg USING GIN (terms)",
)


def _vector(names_text: str, more_text: str) -> str:
    out: list[str] = []
    for text, weight in ((names_text, "A"), (more_text, "B")):
        for token in _TOKEN.findall(text):
            folded = _fold(token)
            if len(folded.encode()) <= MAX_LEXEME_BYTES:
                out.append(f"{_lexeme(folded)}:{min(len(out) + 1, 16383)}{weight}")
    return " ".join(out)


def reindex(conn: Any, user_id: int, names_text: str, more_text: str) -> None:
    conn.execute(
        "INSERT INTO directory_search_pg (user_id, terms) VALUES (?, CAST(? AS tsvector)) ON CONFLICT (user_id) DO UPDATE SET terms = excluded.terms",
        (user_id, _vector(names_text, more_text)),
    )


def unindex(conn: Any, user_id: int) -> None:
    conn.execute("DELETE FROM directory_search_pg WHERE user_id = ?", (user_id,))


def tsquery(query: str, names_only: bool = False) -> str | None:
    """Every form of the query (chatd.names.query_forms), each a conjunction of prefixes."""
    forms = names.query_forms(query)
    parts = []
    for form in forms:
        terms = [_fold(t) for word in form for t in _TOKEN.findall(word)]
        if terms:
            parts.append("(" + " & ".join(f"{_lexeme(t)}:*{'A' if names_only else ''}" for t in terms) + ")")
    return " | ".join(parts) if parts else None

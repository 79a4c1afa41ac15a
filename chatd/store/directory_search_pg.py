"""The directory's search index on PostgreSQL (chatd.store.directory_search is SQLite's, FTS5):
one row per member with a tsvector of the same terms, those of `names` at weight A and those of
`more` at weight B, cut and folded as FTS5's unicode61 does (chatd.store.search_pg); a query's
forms become a tsquery of prefix terms, and "names only" is weight A. Ranked by ts_rank (where
FTS5 ranks by bm25), then by name.
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


def search(conn: Any, query: str, limit: int, dept_ids: list[int] | None, rank_max: int) -> list[int]:
    """As chatd.store.directory_search.search, on PostgreSQL."""
    q = tsquery(query)
    if q is None:
        return []
    where, extra = "", []
    if dept_ids is not None:
        marks = ",".join("?" * len(dept_ids))
        where = f" AND s.user_id IN (SELECT user_id FROM directory_member_departments WHERE department_id IN ({marks}))"
        extra = dept_ids
    select = (
        "SELECT s.user_id FROM directory_search_pg s JOIN directory_members m ON m.user_id = s.user_id JOIN users u ON u.id = s.user_id "
        "WHERE s.terms @@ CAST(? AS tsquery) AND u.disabled = 0"
    )
    (matches,) = conn.execute("SELECT count(*) FROM directory_search_pg WHERE terms @@ CAST(? AS tsquery)", (q,)).fetchone()
    if matches <= rank_max:
        rows = conn.execute(f"{select}{where} ORDER BY ts_rank(s.terms, CAST(? AS tsquery)) DESC, m.name LIMIT ?", (q, *extra, q, limit)).fetchall()
        return [r[0] for r in rows]
    found = [r[0] for r in conn.execute(f"{select}{where} ORDER BY m.name LIMIT ?", (tsquery(query, names_only=True), *extra, limit))]
    if len(found) < limit:
        seen = set(found)
        found += [r[0] for r in conn.execute(f"{select}{where} ORDER BY m.name LIMIT ?", (q, *extra, limit + len(found))) if r[0] not in seen][: limit - len(found)]
    order = {uid: name for uid, name in conn.execute(f"SELECT user_id, name FROM directory_members WHERE user_id IN ({','.join('?' * len(found))})", found)} if found else {}
    return sorted(found, key=lambda uid: (order.get(uid, ""), uid))

"""The directory's search index: one FTS5 row per member (rowid = user id) holding the terms
chatd.names makes of their name (pinyin, initials, variants) and username in `names`, and those
of their title, email, phone and employee number in `more`. A query is turned into its possible
forms (chatd.names.query_forms), each a conjunction of prefix terms; a member matching any form
is found.

Ranking (FTS5's bm25) costs a little for every match: over a few hundred it is done; a short
prefix that matches more (`z` matches most of a directory's Zhangs, Zhaos and Zhous) takes the
first people whose names match, without ranking, then by name (the user is still typing).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from .. import names
from . import directory_search_pg
from .db import on_postgres


def _more(title: str, email: str, phone: str, employee_no: str) -> str:
    out = names.words(title)
    if email:
        local = email.split("@", 1)[0]
        out += names.words(email) + ["".join(names.words(local)), "".join(names.words(email))]
    digits = re.sub(r"\D", "", phone)
    if digits:
        out += [digits, *names.words(phone)]
    out += names.words(employee_no)
    if employee_no:
        out.append("".join(names.words(employee_no)))
    return " ".join(dict.fromkeys(t for t in out if t))


def reindex(conn: sqlite3.Connection, user_id: int) -> None:
    row = conn.execute(
        "SELECT m.name, m.title, m.email, m.phone, m.employee_no, u.display_name, u.name FROM directory_members m JOIN users u ON u.id = m.user_id WHERE m.user_id = ?",
        (user_id,),
    ).fetchone()
    if on_postgres(conn):
        directory_search_pg.unindex(conn, user_id)
    else:
        conn.execute("DELETE FROM directory_search WHERE rowid = ?", (user_id,))
    if row is not None:
        name, title, email, phone, employee_no, display_name, username = row
        terms = names.terms(name) + (names.terms(display_name) if display_name != name else []) + names.words(username)
        names_text, more_text = " ".join(dict.fromkeys(terms)), _more(title, email, phone, employee_no)
        if on_postgres(conn):
            directory_search_pg.reindex(conn, user_id, names_text, more_text)
            return
        conn.execute("INSERT INTO directory_search (rowid, names, more) VALUES (?, ?, ?)", (user_id, names_text, more_text))


def unindex(conn: sqlite3.Connection, user_id: int) -> None:
    if on_postgres(conn):
        directory_search_pg.unindex(conn, user_id)
        return
    conn.execute("DELETE FROM directory_search WHERE rowid = ?", (user_id,))


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH expression of a typed query, or None when it has no word."""
    forms = names.query_forms(query)
    if not forms:
        return None
    # names.words keeps only letters, digits and Han characters: nothing to escape in quotes.
    return " OR ".join("(" + " AND ".join(f'"{w}"*' for w in form) + ")" for form in forms)


RANK_MAX = 300  # matches up to which bm25 ranks them all


def search(conn: sqlite3.Connection, query: str, limit: int, dept_ids: list[int] | None = None) -> list[int]:
    """The user ids of the active members matching the query, best first (FTS5's rank; on
    PostgreSQL ts_rank, chatd.store.directory_search_pg), then by name; within these departments
    when given. Past RANK_MAX matches: people whose names match first, unranked, by name."""
    if on_postgres(conn):
        match = directory_search_pg.tsquery(query)
        if match is None:
            return []
        key, test = "s.user_id", "s.terms @@ CAST(? AS tsquery)"
        table = "directory_search_pg s"
        names_match, ranked, rank_args = directory_search_pg.tsquery(query, names_only=True), "ts_rank(s.terms, CAST(? AS tsquery)) DESC, m.name", [match]
    else:
        expr = match_expression(query)
        if expr is None:
            return []
        match, key, test, table = expr, "s.rowid", "directory_search MATCH ?", "directory_search s"
        names_match, ranked, rank_args = f"{{names}} : ({expr})", "s.rank, m.name", []
    where, extra = "", []
    if dept_ids is not None:
        marks = ",".join("?" * len(dept_ids))
        where = f" AND {key} IN (SELECT user_id FROM directory_member_departments WHERE department_id IN ({marks}))"
        extra = dept_ids
    select = f"SELECT {key} FROM {table} JOIN directory_members m ON m.user_id = {key} JOIN users u ON u.id = {key} WHERE {test} AND u.disabled = 0"
    (matches,) = conn.execute(f"SELECT count(*) FROM {table} WHERE {test}", (match,)).fetchone()
    if matches <= RANK_MAX:
        rows = conn.execute(f"{select}{where} ORDER BY {ranked} LIMIT ?", (match, *extra, *rank_args, limit)).fetchall()
        return [r[0] for r in rows]
    found = [r[0] for r in conn.execute(f"{select}{where} LIMIT ?", (names_match, *extra, limit))]
    if len(found) < limit:
        seen = set(found)
        found += [r[0] for r in conn.execute(f"{select}{where} LIMIT ?", (match, *extra, limit + len(found))) if r[0] not in seen][: limit - len(found)]
    order = {uid: name for uid, name in conn.execute(f"SELECT user_id, name FROM directory_members WHERE user_id IN ({','.join('?' * len(found))})", found)} if found else {}
    return sorted(found, key=lambda uid: (order.get(uid, ""), uid))


def search_members(conn: sqlite3.Connection, query: str, limit: int, dept_id: int | None) -> dict[str, Any]:
    """enterprise_member_search's response."""
    from . import directory

    dept_ids = None if dept_id is None else directory.subtree_ids(conn, directory.department(conn, dept_id)["id"])
    return {"members": directory.members(conn, search(conn, query, limit, dept_ids))}

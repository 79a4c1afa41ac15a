"""The directory's search index: one FTS5 row per member (rowid = user id) holding the terms
chatd.names makes of their name (pinyin, initials, variants), their title, email, phone and
employee number. A query is turned into its possible forms (chatd.names.query_forms), each a
conjunction of prefix terms; a member matching any form is found.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from .. import names


def _terms(name: str, title: str, email: str, phone: str, employee_no: str, display_name: str) -> str:
    out = names.terms(name)
    if display_name and display_name != name:
        out += names.terms(display_name)
    out += names.words(title)
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
    conn.execute("DELETE FROM directory_search WHERE rowid = ?", (user_id,))
    if row is not None:
        text = _terms(row[0], row[1], row[2], row[3], row[4], row[5]) + " " + " ".join(names.words(row[6]))
        conn.execute("INSERT INTO directory_search (rowid, terms) VALUES (?, ?)", (user_id, text))


def unindex(conn: sqlite3.Connection, user_id: int) -> None:
    conn.execute("DELETE FROM directory_search WHERE rowid = ?", (user_id,))


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH expression of a typed query, or None when it has no word."""
    forms = names.query_forms(query)
    if not forms:
        return None
    # names.words keeps only letters, digits and Han characters: nothing to escape in quotes.
    return " OR ".join("(" + " AND ".join(f'"{w}"*' for w in form) + ")" for form in forms)


def search(conn: sqlite3.Connection, query: str, limit: int, dept_ids: list[int] | None = None) -> list[int]:
    """The user ids of the active members matching the query, best first (FTS5's rank), then by
    name; within these departments when given."""
    expr = match_expression(query)
    if expr is None:
        return []
    where, args = "", [expr]
    if dept_ids is not None:
        marks = ",".join("?" * len(dept_ids))
        where = f" AND s.rowid IN (SELECT user_id FROM directory_member_departments WHERE department_id IN ({marks}))"
        args += dept_ids
    rows = conn.execute(
        "SELECT s.rowid FROM directory_search s JOIN directory_members m ON m.user_id = s.rowid JOIN users u ON u.id = s.rowid "
        f"WHERE directory_search MATCH ? AND u.disabled = 0{where} ORDER BY s.rank, m.name LIMIT ?",
        (*args, limit),
    ).fetchall()
    return [r[0] for r in rows]


def search_members(conn: sqlite3.Connection, query: str, limit: int, dept_id: int | None) -> dict[str, Any]:
    """enterprise_member_search's response."""
    from . import directory

    dept_ids = None if dept_id is None else directory.subtree_ids(conn, directory.department(conn, dept_id)["id"])
    return {"members": directory.members(conn, search(conn, query, limit, dept_ids))}

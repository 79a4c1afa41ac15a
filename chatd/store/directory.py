"""The enterprise directory's storage (docs/directory.md): the department tree, the directory
members (each linked to a chatd user) and their departments. The search index over them is
chatd.store.directory_search; the CSV import and the LDAP sync write through the functions here.

A department has a parent (NULL at the top) and an optional `external_id` (its path in a CSV,
its DN's key in LDAP). A member's `external_id` is what the source identifies them by (an LDAP
`entryUUID` or `objectGUID`, a CSV's id column): never a DN or an email, so a rename or a move
upstream keeps the same chatd user.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from . import directory_search as search
from . import users as users_store
from .users import public_user

# Migration: the directory's tables, its FTS5 index, and the directory-admin role.
MIGRATION = """
ALTER TABLE users ADD COLUMN directory_admin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS departments (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES departments(id),
    name TEXT NOT NULL,
    external_id TEXT UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS departments_parent ON departments(parent_id, name);
CREATE TABLE IF NOT EXISTS directory_members (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    external_id TEXT UNIQUE,
    source TEXT NOT NULL DEFAULT 'manual',
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    employee_no TEXT NOT NULL DEFAULT '',
    manager_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS directory_member_departments (
    user_id INTEGER NOT NULL REFERENCES directory_members(user_id) ON DELETE CASCADE,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, department_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS directory_member_departments_department ON directory_member_departments(department_id, user_id);
CREATE VIRTUAL TABLE IF NOT EXISTS directory_search USING fts5(names, more, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3');
"""

# --- departments ----------------------------------------------------------------------------


def department(conn: sqlite3.Connection, dept_id: int, field: str = "department_id") -> dict[str, Any]:
    row = conn.execute("SELECT id, parent_id, name, external_id FROM departments WHERE id = ?", (dept_id,)).fetchone()
    if row is None:
        raise ChatError("not_found", f"no department with id {dept_id}", field=field)
    return {"id": row[0], "parent_id": row[1], "name": row[2], "external_id": row[3]}


def _require_free_name(conn: sqlite3.Connection, parent_id: int | None, name: str, except_id: int = 0) -> None:
    row = conn.execute("SELECT id FROM departments WHERE parent_id IS ? AND name = ? AND id != ?", (parent_id, name, except_id)).fetchone()
    if row is not None:
        raise ChatError("conflict", f"a department named {name!r} is already there (id {row[0]})", field="name")


def create_department(ctx: Any, name: str, parent_id: int | None, external_id: str | None = None) -> int:
    if parent_id is not None:
        department(ctx.conn, parent_id, "parent_id")
    _require_free_name(ctx.conn, parent_id, name)
    cur = ctx.conn.execute(
        "INSERT INTO departments (parent_id, name, external_id, created_at) VALUES (?, ?, ?, ?)", (parent_id, name, external_id, ctx.now)
    )
    return int(cur.lastrowid)


def subtree_ids(conn: sqlite3.Connection, dept_id: int) -> list[int]:
    """The department and every department under it."""
    return [
        r[0]
        for r in conn.execute(
            # Portable SQL (chatd.store.dialect): the recursion's first term says its type.
            "WITH RECURSIVE t(id) AS (SELECT CAST(?1 AS INTEGER) UNION SELECT d.id FROM departments d JOIN t ON d.parent_id = t.id) SELECT id FROM t", (dept_id,)
        )
    ]


def update_department(ctx: Any, dept_id: int, name: str | None, parent_id: int | None) -> dict[str, Any]:
    """Rename and/or move (parent_id 0: to the top). A move under itself or its own subtree is
    refused (conflict)."""
    conn = ctx.conn
    dept = department(conn, dept_id)
    new_parent = dept["parent_id"] if parent_id is None else (parent_id or None)
    if new_parent is not None:
        department(conn, new_parent, "parent_id")
        if new_parent in subtree_ids(conn, dept_id):
            raise ChatError("conflict", "a department cannot move under itself or one of its own sub-departments (a cycle)", field="parent_id")
    new_name = dept["name"] if name is None else name
    _require_free_name(conn, new_parent, new_name, dept_id)
    conn.execute("UPDATE departments SET name = ?, parent_id = ? WHERE id = ?", (new_name, new_parent, dept_id))
    return department(conn, dept_id)


def delete_department(ctx: Any, dept_id: int, move_up: bool) -> int:
    """Delete an empty department; with `move_up`, its members and sub-departments move to its
    parent first (at the top, members simply leave it). Returns how many members moved."""
    conn = ctx.conn
    dept = department(conn, dept_id)
    (members,) = conn.execute("SELECT count(*) FROM directory_member_departments WHERE department_id = ?", (dept_id,)).fetchone()
    (children,) = conn.execute("SELECT count(*) FROM departments WHERE parent_id = ?", (dept_id,)).fetchone()
    if (members or children) and not move_up:
        raise ChatError("conflict", f"the department has {members} members and {children} sub-departments: empty it first, or delete with move_members_up")
    parent = dept["parent_id"]
    for (child_id, child_name) in conn.execute("SELECT id, name FROM departments WHERE parent_id = ?", (dept_id,)).fetchall():
        _require_free_name(conn, parent, child_name, child_id)
        conn.execute("UPDATE departments SET parent_id = ? WHERE id = ?", (parent, child_id))
    moved = [r[0] for r in conn.execute("SELECT user_id FROM directory_member_departments WHERE department_id = ?", (dept_id,))]
    if parent is not None:
        conn.execute(
            "INSERT OR IGNORE INTO directory_member_departments (user_id, department_id, is_primary) "
            "SELECT user_id, ?, is_primary FROM directory_member_departments WHERE department_id = ?",
            (parent, dept_id),
        )
    conn.execute("DELETE FROM directory_member_departments WHERE department_id = ?", (dept_id,))
    conn.execute("DELETE FROM departments WHERE id = ?", (dept_id,))
    for uid in moved:
        search.reindex(conn, uid)
    return len(moved)


_TREE = """
WITH RECURSIVE t(id, depth, path) AS (
    SELECT id, 0, printf('%s', name) FROM departments WHERE {root}
    UNION ALL
    SELECT d.id, t.depth + 1, t.path || char(31) || d.name FROM departments d JOIN t ON d.parent_id = t.id
)
SELECT d.id, d.parent_id, d.name, t.depth,
    (SELECT count(*) FROM directory_member_departments m WHERE m.department_id = d.id)
FROM t JOIN departments d ON d.id = t.id ORDER BY t.path
"""


def tree(conn: sqlite3.Connection, root_id: int | None) -> list[dict[str, Any]]:
    """The whole tree, or a department's subtree, depth first by name, each department with its
    own members (`member_count`) and those of its whole subtree (`total_count`, each counted once)."""
    if root_id is not None:
        department(conn, root_id)
        rows = conn.execute(_TREE.format(root="id = ?"), (root_id,)).fetchall()
    else:
        rows = conn.execute(_TREE.format(root="parent_id IS NULL")).fetchall()
    out = [{"id": r[0], "parent_id": r[1], "name": r[2], "depth": r[3], "member_count": r[4], "total_count": 0} for r in rows]
    parents = {d["id"]: d["parent_id"] for d in out}
    subtree: dict[int, set[int]] = {d["id"]: set() for d in out}
    ids = list(parents)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for dept_id, user_id in conn.execute(f"SELECT department_id, user_id FROM directory_member_departments WHERE department_id IN ({marks})", chunk):
            current: int | None = dept_id
            while current in subtree:  # up to the list's root
                subtree[current].add(user_id)
                current = parents[current]
    for d in out:
        d["total_count"] = len(subtree[d["id"]])
    return out


def department_by_external_id(conn: sqlite3.Connection, external_id: str) -> int | None:
    row = conn.execute("SELECT id FROM departments WHERE external_id = ?", (external_id,)).fetchone()
    return None if row is None else int(row[0])


def all_departments(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [{"id": r[0], "parent_id": r[1], "name": r[2], "external_id": r[3]} for r in conn.execute("SELECT id, parent_id, name, external_id FROM departments ORDER BY id")]


# --- members --------------------------------------------------------------------------------

_MEMBER = (
    "SELECT u.id, u.name, u.display_name, u.is_admin, u.is_bot, u.disabled, m.name, m.title, m.email, m.phone, m.employee_no, "
    "m.manager_id, m.external_id, m.updated_at FROM directory_members m JOIN users u ON u.id = m.user_id"
)
MEMBER_FIELDS = ("name", "title", "email", "phone", "employee_no", "manager_id")


def _member(conn: sqlite3.Connection, r: tuple[Any, ...]) -> dict[str, Any]:
    user = public_user({"id": r[0], "name": r[1], "display_name": r[2], "is_admin": bool(r[3]), "is_bot": r[4]})
    depts = conn.execute(
        "SELECT d.id, d.name, md.is_primary FROM directory_member_departments md JOIN departments d ON d.id = md.department_id "
        "WHERE md.user_id = ? ORDER BY md.is_primary DESC, d.name",
        (r[0],),
    ).fetchall()
    return {
        "user": user,
        "active": not r[5],
        "name": r[6],
        "title": r[7],
        "email": r[8],
        "phone": r[9],
        "employee_no": r[10],
        "manager_id": r[11],
        "departments": [{"id": d[0], "name": d[1], "primary": bool(d[2])} for d in depts],
        "updated_at": r[13],
    }


def member(conn: sqlite3.Connection, user_id: int, field: str = "user_id") -> dict[str, Any]:
    row = conn.execute(_MEMBER + " WHERE m.user_id = ?", (user_id,)).fetchone()
    if row is None:
        raise ChatError("not_found", f"user {user_id} is not in the directory", field=field)
    return _member(conn, row)


def members(conn: sqlite3.Connection, user_ids: list[int]) -> list[dict[str, Any]]:
    """These members, in this order (ids not in the directory are left out)."""
    out = []
    for uid in user_ids:
        row = conn.execute(_MEMBER + " WHERE m.user_id = ?", (uid,)).fetchone()
        if row is not None:
            out.append(_member(conn, row))
    return out


def member_by_external_id(conn: sqlite3.Connection, external_id: str) -> int | None:
    row = conn.execute("SELECT user_id FROM directory_members WHERE external_id = ?", (external_id,)).fetchone()
    return None if row is None else int(row[0])


def is_member(conn: sqlite3.Connection, user_id: int) -> bool:
    return conn.execute("SELECT 1 FROM directory_members WHERE user_id = ?", (user_id,)).fetchone() is not None


def put_member(
    ctx: Any, user_id: int, fields: dict[str, Any], department_ids: list[int], primary: int | None, *, external_id: str | None = None, source: str = "manual"
) -> None:
    """Insert or replace a member's directory entry and departments (each must exist; the
    primary one must be among them; the manager must be another user)."""
    conn = ctx.conn
    for i, dept_id in enumerate(department_ids):
        department(conn, dept_id, f"department_ids[{i}]")
    if primary is not None and primary not in department_ids:
        raise ChatError("bad_request", "primary_department_id must be one of department_ids", field="primary_department_id")
    manager = fields.get("manager_id")
    if manager is not None:
        if manager == user_id:
            raise ChatError("bad_request", "a member cannot be their own manager", field="manager_id")
        if conn.execute("SELECT 1 FROM users WHERE id = ?", (manager,)).fetchone() is None:
            raise ChatError("not_found", f"no user with id {manager}", field="manager_id")
    values = [fields.get(f, "" if f != "manager_id" else None) for f in MEMBER_FIELDS]
    conn.execute(
        "INSERT INTO directory_members (user_id, external_id, source, name, title, email, phone, employee_no, manager_id, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET external_id = coalesce(excluded.external_id, external_id), "
        "source = excluded.source, name = excluded.name, title = excluded.title, email = excluded.email, phone = excluded.phone, "
        "employee_no = excluded.employee_no, manager_id = excluded.manager_id, updated_at = excluded.updated_at",
        (user_id, external_id, source, *values, ctx.now),
    )
    conn.execute("DELETE FROM directory_member_departments WHERE user_id = ?", (user_id,))
    first = primary if primary is not None else (department_ids[0] if department_ids else None)
    conn.executemany(
        "INSERT OR IGNORE INTO directory_member_departments (user_id, department_id, is_primary) VALUES (?, ?, ?)",
        [(user_id, d, int(d == first)) for d in department_ids],
    )
    search.reindex(conn, user_id)


def remove_member(conn: sqlite3.Connection, user_id: int) -> None:
    member(conn, user_id)
    conn.execute("DELETE FROM directory_members WHERE user_id = ?", (user_id,))
    search.unindex(conn, user_id)


def member_page(conn: sqlite3.Connection, dept_id: int, recursive: bool, limit: int, offset: int) -> dict[str, Any]:
    """A department's members (with `recursive`, of its whole subtree), by name, a page."""
    department(conn, dept_id)
    ids = subtree_ids(conn, dept_id) if recursive else [dept_id]
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT DISTINCT m.user_id, m.name FROM directory_member_departments md JOIN directory_members m ON m.user_id = md.user_id "
        f"WHERE md.department_id IN ({marks}) ORDER BY m.name, m.user_id LIMIT ? OFFSET ?",
        (*ids, limit + 1, offset),
    ).fetchall()
    (total,) = conn.execute(f"SELECT count(DISTINCT user_id) FROM directory_member_departments WHERE department_id IN ({marks})", ids).fetchone()
    return {"department_id": dept_id, "members": members(conn, [r[0] for r in rows[:limit]]), "total": total, "has_more": len(rows) > limit}


def same_department(conn: sqlite3.Connection, actor: int, target: int) -> bool:
    """The department privacy policy's fact: the actor is in one of the target's departments or
    in a department under one of them."""
    row = conn.execute(
        "WITH RECURSIVE t(id) AS (SELECT department_id FROM directory_member_departments WHERE user_id = ?2 "
        "UNION SELECT d.id FROM departments d JOIN t ON d.parent_id = t.id) "
        "SELECT 1 FROM directory_member_departments WHERE user_id = ?1 AND department_id IN (SELECT id FROM t) LIMIT 1",
        (actor, target),
    ).fetchone()
    return row is not None


def has_directory(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM departments LIMIT 1").fetchone() is not None


def is_directory_admin(conn: sqlite3.Connection, user_id: int) -> bool:
    row = conn.execute("SELECT directory_admin FROM users WHERE id = ?", (user_id,)).fetchone()
    return bool(row and row[0])


def set_directory_admin(conn: sqlite3.Connection, name: str, on: bool) -> int:
    cur = conn.execute("UPDATE users SET directory_admin = ? WHERE name = ?", (int(on), name))
    if cur.rowcount == 0:
        raise ChatError("not_found", f"no user named {name!r}", field="name")
    return cur.rowcount


def roles(conn: sqlite3.Connection, user_id: int) -> tuple[bool, bool]:
    """(is a server administrator, is a directory administrator)."""
    row = conn.execute("SELECT is_admin, directory_admin FROM users WHERE id = ?", (user_id,)).fetchone()
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def require_user(conn: sqlite3.Connection, user_id: int, field: str = "user_id") -> None:
    if conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is None:
        raise ChatError("not_found", f"no user with id {user_id}", field=field)


def find_or_create_user(conn: sqlite3.Connection, username: str, name: str) -> tuple[int, bool]:
    """The user of this name, or a new one with no password (created: True)."""
    row = conn.execute("SELECT id FROM users WHERE name = ?", (username,)).fetchone()
    if row is not None:
        return int(row[0]), False
    return users_store.create_user(conn, username, users_store.NO_PASSWORD, display_name=name), True


def set_display_name(conn: sqlite3.Connection, user_id: int, name: str) -> None:
    conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (name, user_id))


def deactivate(conn: sqlite3.Connection, user_id: int) -> None:
    """Disable the account and end its tokens (its connections are the caller's to close)."""
    conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", (user_id,))
    conn.execute("DELETE FROM tokens WHERE user_id = ?", (user_id,))


def has_source_members(conn: sqlite3.Connection, source: str) -> bool:
    return conn.execute("SELECT 1 FROM directory_members WHERE source = ? LIMIT 1", (source,)).fetchone() is not None


def ldap_id(conn: sqlite3.Connection, user_id: int) -> str | None:
    """The LDAP id of a member the LDAP sync brought in (auth.ldap logs them in), else None."""
    row = conn.execute("SELECT external_id FROM directory_members WHERE user_id = ? AND source = 'ldap'", (user_id,)).fetchone()
    return None if row is None else row[0]

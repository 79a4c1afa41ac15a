"""Bringing the directory in step with a source (a CSV file, an LDAP server): what the source
says (a list of Person) is compared with the database (`diff`), and the difference is applied
in one transaction (`apply`). A dry run prints the diff and applies nothing.

People are identified by the source's id (an LDAP entryUUID or objectGUID, a CSV's `id`
column), never by DN, name or email: a rename or a move keeps the same chatd user. Departments
are paths of names from the top of the tree (`Engineering/Backend`), made when missing.
With `leavers`, people this source brought in before who are no longer in it (or are disabled
upstream) leave: out of the directory, their account disabled, their connections closed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import ChatError
from . import directory as store
from . import users as users_store

FIELDS = ("name", "title", "email", "phone", "employee_no")


class Person(NamedTuple):
    external_id: str
    username: str
    name: str
    title: str = ""
    email: str = ""
    phone: str = ""
    employee_no: str = ""
    departments: tuple[tuple[str, ...], ...] = ()  # paths; the first is the primary one
    manager: str | None = None  # the manager's external id
    where: str = ""  # "line 7", a DN: for messages


@dataclass
class Diff:
    new_departments: list[tuple[str, ...]] = field(default_factory=list)
    added: list[Person] = field(default_factory=list)
    updated: list[tuple[Person, list[str]]] = field(default_factory=list)  # and what changed
    unchanged: int = 0
    leavers: list[tuple[int, str]] = field(default_factory=list)  # (user id, username)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # people left out, and why (a sync goes on)

    def empty(self) -> bool:
        return not (self.new_departments or self.added or self.updated or self.leavers)

    def lines(self) -> list[str]:
        out = [f"+ department {'/'.join(p)}" for p in self.new_departments]
        out += [f"+ member {p.username} ({p.name}) id {p.external_id}" for p in self.added]
        out += [f"~ member {p.username} ({p.name}): {'; '.join(changes)}" for p, changes in self.updated]
        out += [f"- member {name}: left (deactivated)" for _, name in self.leavers]
        out += [f"! skipped {s}" for s in self.skipped]
        out.append(f"= {self.unchanged} unchanged")
        return out


def _path_of(conn: sqlite3.Connection, dept_id: int) -> tuple[str, ...]:
    names: list[str] = []
    current: int | None = dept_id
    while current is not None:
        parent, name = conn.execute("SELECT parent_id, name FROM departments WHERE id = ?", (current,)).fetchone()
        names.append(name)
        current = parent
    return tuple(reversed(names))


def find_path(conn: sqlite3.Connection, path: tuple[str, ...]) -> int | None:
    parent: int | None = None
    for name in path:
        row = conn.execute("SELECT id FROM departments WHERE parent_id IS ? AND name = ?", (parent, name)).fetchone()
        if row is None:
            return None
        parent = row[0]
    return parent


def _current(conn: sqlite3.Connection, user_id: int) -> dict[str, Any]:
    m = store.member(conn, user_id)
    m["paths"] = [_path_of(conn, d["id"]) for d in m["departments"]]
    return m


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def diff(conn: sqlite3.Connection, people: list[Person], source: str, *, leavers: bool = False, strict: bool = True, keep: frozenset[str] = frozenset()) -> Diff:
    """What applying `people` from `source` would change. Problems that the database reveals (a
    username held by another directory member, an unknown manager) are `errors` when `strict`
    (the CSV import: nothing is applied), else `skipped` (the sync: that person, or that
    manager, is left out and the rest applied). With `leavers`, the people `source` brought in
    who are not in `people` leave, but those whose ids are in `keep` (found, but skipped)."""
    out = Diff()
    seen_paths: set[tuple[str, ...]] = set()
    ids_in_source = {p.external_id for p in people}
    if leavers and not people and store.has_source_members(conn, source):
        out.errors.append(f"the {source} source lists nobody: refusing to deactivate everyone it brought in (check the base DNs and filters)")
        return out
    problems = out.errors if strict else out.skipped
    for p in people:
        for path in p.departments:
            for i in range(1, len(path) + 1):
                prefix = path[:i]
                if prefix not in seen_paths:
                    seen_paths.add(prefix)
                    if find_path(conn, prefix) is None:
                        out.new_departments.append(prefix)
        if p.manager is not None and p.manager not in ids_in_source and store.member_by_external_id(conn, p.manager) is None:
            problems.append(f"{p.where}: manager {p.manager!r} is neither in the source nor in the directory")
            p = p._replace(manager=None)
        uid = store.member_by_external_id(conn, p.external_id)
        row = conn.execute("SELECT id FROM users WHERE name = ?", (p.username,)).fetchone()
        if uid is None:
            holder = None if row is None else conn.execute("SELECT external_id FROM directory_members WHERE user_id = ?", (row[0],)).fetchone()
            if holder is not None and holder[0] is not None:  # an entry made by hand (no id) is taken over
                problems.append(f"{p.where}: username {p.username!r} belongs to another person of the directory (id {holder[0]})")
                keep = keep | {p.external_id}
                continue
            out.added.append(p)
            continue
        now = _current(conn, uid)
        changes = [f"{f} {_show(now[f])} -> {_show(getattr(p, f))}" for f in FIELDS if now[f] != getattr(p, f)]
        if [tuple(x) for x in now["paths"]] != list(p.departments):
            changes.append("departments " + _show(";".join("/".join(x) for x in now["paths"])) + " -> " + _show(";".join("/".join(x) for x in p.departments)))
        manager_ext = None if now["manager_id"] is None else conn.execute("SELECT external_id FROM directory_members WHERE user_id = ?", (now["manager_id"],)).fetchone()
        manager_now = manager_ext[0] if manager_ext else None
        if manager_now != p.manager:
            changes.append(f"manager {manager_now} -> {p.manager}")
        if not now["active"]:
            changes.append("reactivated")
        (name_now,) = conn.execute("SELECT name FROM users WHERE id = ?", (uid,)).fetchone()
        if name_now != p.username and row is None:
            changes.append(f"username {name_now} -> {p.username}")
        if changes:
            out.updated.append((p, changes))
        else:
            out.unchanged += 1
    if leavers:
        for uid, ext, name in conn.execute(
            "SELECT m.user_id, m.external_id, u.name FROM directory_members m JOIN users u ON u.id = m.user_id WHERE m.source = ? ORDER BY u.name", (source,)
        ).fetchall():
            if ext not in ids_in_source and ext not in keep:
                out.leavers.append((uid, name))
    return out


def _department_id(ctx: Any, path: tuple[str, ...]) -> int:
    parent: int | None = None
    for name in path:
        row = ctx.conn.execute("SELECT id FROM departments WHERE parent_id IS ? AND name = ?", (parent, name)).fetchone()
        parent = row[0] if row is not None else store.create_department(ctx, name, parent)
    assert parent is not None
    return parent


def apply(ctx: Any, d: Diff, source: str) -> list[int]:
    """Apply a diff (its errors must be empty) in the caller's transaction; returns the user ids
    of the leavers, whose accounts are now disabled (their connections are the caller's to close)."""
    if d.errors:
        raise ChatError("bad_request", "; ".join(d.errors))
    conn = ctx.conn
    people = d.added + [p for p, _ in d.updated]
    user_ids: dict[str, int] = {}
    for p in people:
        uid = store.member_by_external_id(conn, p.external_id)
        if uid is None:
            row = conn.execute("SELECT id FROM users WHERE name = ?", (p.username,)).fetchone()
            uid = row[0] if row is not None else users_store.create_user(conn, p.username, users_store.NO_PASSWORD, display_name=p.name)
        else:
            taken = conn.execute("SELECT 1 FROM users WHERE name = ? AND id != ?", (p.username, uid)).fetchone()
            if taken is None:
                conn.execute("UPDATE users SET name = ? WHERE id = ?", (p.username, uid))
        conn.execute("UPDATE users SET display_name = ?, disabled = 0 WHERE id = ?", (p.name, uid))
        user_ids[p.external_id] = uid
        depts = [_department_id(ctx, path) for path in p.departments]
        fields = {f: getattr(p, f) for f in FIELDS}
        store.put_member(ctx, uid, fields, depts, depts[0] if depts else None, external_id=p.external_id, source=source)
    for p in people:  # managers once everyone is in
        manager = None if p.manager is None else user_ids.get(p.manager) or store.member_by_external_id(conn, p.manager)
        conn.execute("UPDATE directory_members SET manager_id = ? WHERE user_id = ?", (manager if manager != user_ids[p.external_id] else None, user_ids[p.external_id]))
    for path in d.new_departments:
        _department_id(ctx, path)
    left = []
    for uid, _ in d.leavers:
        store.remove_member(conn, uid)
        store.deactivate(conn, uid)
        left.append(uid)
    return left

"""The enterprise directory's writer ops (docs/directory.md): departments and members, for
server administrators and directory administrators (chatd.policy.directory). Directory changes
push nothing: clients read the directory when they show it.

Deactivating a member disables their account, ends their tokens and closes every one of their
connections right after the commit (the Deactivated effect), before the response.
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import directory as policy
from ..store import directory as store
from ..store import directory_import as importer
from .effects import Deactivated, Outcome

LEFT_REASON = "account deactivated: left the directory"


def require_writer(conn: Any, actor: int) -> bool:
    """The actor may change the directory (forbidden otherwise); returns whether they are a
    server administrator."""
    is_admin, is_dir_admin = store.roles(conn, actor)
    policy.require_write(is_admin, is_dir_admin)
    return is_admin


def _one(conn: Any, dept_id: int) -> dict[str, Any]:
    return store.tree(conn, dept_id)[0]


def op_department_create(ctx: Any, actor: int, name: str, parent_id: int | None) -> Outcome:
    require_writer(ctx.conn, actor)
    dept_id = store.create_department(ctx, name.strip() or name, parent_id)
    return Outcome({"department": _one(ctx.conn, dept_id)})


def op_department_update(ctx: Any, actor: int, dept_id: int, name: str | None, parent_id: int | None) -> Outcome:
    require_writer(ctx.conn, actor)
    store.update_department(ctx, dept_id, name, parent_id)
    return Outcome({"department": _one(ctx.conn, dept_id)})


def op_department_delete(ctx: Any, actor: int, dept_id: int, move_up: bool) -> Outcome:
    require_writer(ctx.conn, actor)
    moved = store.delete_department(ctx, dept_id, move_up)
    return Outcome({"department_id": dept_id, "moved_members": moved})


def op_member_upsert(ctx: Any, actor: int, user_id: int | None, username: str | None, fields: dict[str, Any], department_ids: list[int], primary: int | None) -> Outcome:
    conn = ctx.conn
    require_writer(conn, actor)
    created = False
    if user_id is not None:
        store.require_user(conn, user_id)
    else:
        assert username is not None
        user_id, created = store.find_or_create_user(conn, username, fields["name"])
    store.set_display_name(conn, user_id, fields["name"])
    store.put_member(ctx, user_id, fields, list(dict.fromkeys(department_ids)), primary)
    return Outcome({"member": store.member(conn, user_id), "created": created})


def op_member_remove(ctx: Any, actor: int, user_id: int, deactivate_user: bool) -> Outcome:
    conn = ctx.conn
    actor_is_admin = require_writer(conn, actor)
    if deactivate_user:
        if user_id == actor:
            raise ChatError("bad_request", "you cannot deactivate yourself", field="user_id")
        if store.roles(conn, user_id)[0] and not actor_is_admin:
            raise ChatError("forbidden", "only a server administrator deactivates a server administrator", field="user_id")
    store.remove_member(conn, user_id)
    out = Outcome({"user_id": user_id, "deactivated": deactivate_user})
    if deactivate_user:
        store.deactivate(conn, user_id)
        out.effects.append(Deactivated((user_id,), LEFT_REASON))
    return out


def op_sync(ctx: Any, source: str, people: list[Any], skipped: list[str], keep: frozenset[str], dry_run: bool = False) -> Outcome:
    """Bring the directory in step with what `source` lists, in this one transaction: adds,
    updates, moves, and leavers (out of the directory, disabled, their connections closed right
    after the commit). People the database refuses are skipped and reported, the rest applied.
    The result is the diff (chatd.store.directory_import.Diff)."""
    d = importer.diff(ctx.conn, people, source, leavers=True, strict=False, keep=keep)
    d.skipped[:0] = skipped
    if d.errors:
        raise ChatError("conflict", "; ".join(d.errors))
    out = Outcome(d)
    if not dry_run:
        left = importer.apply(ctx, d, source)
        if left:
            out.effects.append(Deactivated(tuple(left), LEFT_REASON))
    return out

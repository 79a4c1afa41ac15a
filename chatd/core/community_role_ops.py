"""Community writer ops on roles: create, edit (name, capabilities, position), delete, and
giving roles to members or taking them away.

Every check is the role hierarchy's (chatd.policy.community_roles): only roles strictly below
one's own highest, never a capability one does not hold, a role's current position and its
new one both checked (so moving a higher role down and then editing it fails at the move).
The positions a write leaves are the policy's positions_after_*; each write bumps the
community's version (chatd.store.community_roles). Every member hears community.role_changed
of a role written (chatd.core.community_pushes), and community.member_changed of a member's
roles changed.
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import community_roles as hierarchy
from ..policy.community_perms import Capability, Role, from_names
from ..store import community as store
from ..store import community_roles as roles_store
from . import community_pushes as pushes
from .community_ops import member_changed, member_snapshot
from .effects import Outcome


def _bits(wire_names: list[str] | None, field: str) -> Capability | None:
    if wire_names is None:
        return None
    try:
        return from_names(wire_names)
    except ValueError as e:
        raise ChatError("bad_request", str(e), field=field) from None


def _role(snap: Any, role_id: int) -> Role:
    role = snap.community.roles.get(role_id)
    if role is None:
        raise ChatError("not_found", f"no role with id {role_id} in this community", field="role_id")
    return role  # type: ignore[no-any-return]


def _actor(ctx: Any, snap: Any, user_id: int) -> hierarchy.Actor:
    return hierarchy.actor_at(snap.community, snap.member(user_id), ctx.now)


def op_role_create(ctx: Any, user_id: int, community_id: int, name: str, allow: list[str], position: int | None) -> Outcome:
    """A new role; without a position, right above @everyone (position 1)."""
    bits = _bits(allow, "allow") or Capability(0)
    snap = member_snapshot(ctx, community_id, user_id)
    community = snap.community
    at = 1 if position is None else position
    hierarchy.check_role_create(_actor(ctx, snap, user_id), community, Role(0, name, at, bits))
    role_id = roles_store.insert(ctx, community_id, name, at, int(bits), hierarchy.positions_after_insert(community, at))
    out = Outcome({"community_id": community_id, "role": roles_store.role(ctx.conn, role_id)})
    pushes.role(out, ctx, community_id, "created", role_id)
    return out


def op_role_update(
    ctx: Any, user_id: int, community_id: int, role_id: int, name: str | None, allow: list[str] | None, position: int | None
) -> Outcome:
    """Rename a role, set its capabilities or move it (the roles between shift one)."""
    bits = _bits(allow, "allow")
    snap = member_snapshot(ctx, community_id, user_id)
    community = snap.community
    before = _role(snap, role_id)
    if role_id == community.everyone_id and name is not None and name != before.name:
        raise ChatError("bad_request", "@everyone keeps its name", field="name")
    after = Role(role_id, before.name if name is None else name, before.position if position is None else position,
                 before.allow if bits is None else bits)
    hierarchy.check_role_edit(_actor(ctx, snap, user_id), community, before, after)
    positions = {} if role_id == community.everyone_id else hierarchy.positions_after_move(community, role_id, after.position)
    roles_store.update(ctx.conn, community_id, role_id, after.name, int(after.allow), positions)
    out = Outcome({"community_id": community_id, "role": roles_store.role(ctx.conn, role_id)})
    pushes.role(out, ctx, community_id, "updated", role_id)
    return out


def op_role_delete(ctx: Any, user_id: int, community_id: int, role_id: int) -> Outcome:
    """Delete a role below one's own (every member hears it: those who had it lose it)."""
    snap = member_snapshot(ctx, community_id, user_id)
    community = snap.community
    role = _role(snap, role_id)
    hierarchy.check_role_delete(_actor(ctx, snap, user_id), community, role)
    roles_store.delete(ctx.conn, community_id, role_id, hierarchy.positions_after_delete(community, role_id))
    out = Outcome({"community_id": community_id, "role_id": role_id, "deleted": True})
    pushes.role(out, ctx, community_id, "deleted", role_id)
    return out


def op_role_set(ctx: Any, user_id: int, community_id: int, target_id: int, add: list[int], remove: list[int]) -> Outcome:
    """Give a member roles and take others away (check_role_assign)."""
    snap = member_snapshot(ctx, community_id, user_id)
    if store.member_row(ctx.conn, community_id, target_id) is None:
        raise ChatError("not_found", f"user {target_id} is not a member of this community", field="user_id")
    if set(add) & set(remove):
        raise ChatError("bad_request", "a role is either added or removed", field="remove")
    community = snap.community
    target = snap.member(target_id)
    hierarchy.check_role_assign(_actor(ctx, snap, user_id), community, target, add, remove)
    add = [r for r in add if r not in target.role_ids]
    remove = [r for r in remove if r in target.role_ids]
    if not add and not remove:
        return Outcome({"community_id": community_id, "user_id": target_id, "role_ids": sorted(target.role_ids)})
    role_ids = roles_store.assign(ctx.conn, community_id, target_id, add, remove)
    out = Outcome({"community_id": community_id, "user_id": target_id, "role_ids": role_ids})
    member_changed(out, ctx, community_id, target_id, "roles")
    return out


def op_role_reorder(ctx: Any, user_id: int, community_id: int, role_ids: list[int]) -> Outcome:
    """Put the roles (@everyone left out) in the order given, lowest first: positions 1..n.
    Every role that moves must be below the actor before and after (check_reorder)."""
    snap = member_snapshot(ctx, community_id, user_id)
    community = snap.community
    for rid in role_ids:
        _role(snap, rid)
    positions = {rid: i + 1 for i, rid in enumerate(role_ids)}
    if len(positions) != len(role_ids) or len(role_ids) != len(community.roles) - 1:
        raise ChatError("bad_request", f"list each of the {len(community.roles) - 1} roles (@everyone left out) once", field="role_ids")
    hierarchy.check_reorder(_actor(ctx, snap, user_id), community, positions)
    moved = {rid: p for rid, p in positions.items() if community.roles[rid].position != p}
    out = Outcome({"community_id": community_id, "roles": roles_store.roles(ctx.conn, community_id)})
    if moved:
        roles_store.reorder(ctx.conn, community_id, moved)
        out.result["roles"] = roles_store.roles(ctx.conn, community_id)
        pushes.role(out, ctx, community_id, "reordered", None)
    return out

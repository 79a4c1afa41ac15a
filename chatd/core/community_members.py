"""Community writer ops on members and on the community itself: kick, time-out, owner
transfer, disband and settings.

Each op checks through the permission model (chatd.policy.community_roles on the community's
snapshot), writes through chatd.store.community, and returns an Outcome. A kick removes the
member from every channel at once (Left), disbanding removes everything and tells every
member; every change that can change a permission bumps the community's version (the
store's set_timeout, set_owner and remove_member do).
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import community_roles as hierarchy
from ..policy.community_perms import Capability, require
from ..store import community as store
from .community_ops import member_changed, member_snapshot
from .effects import Left, Outcome, Users


def _target(ctx: Any, community_id: int, user_id: int) -> None:
    if store.member_row(ctx.conn, community_id, user_id) is None:
        raise ChatError("not_found", f"user {user_id} is not a member of this community", field="user_id")


def op_kick(ctx: Any, user_id: int, community_id: int, target_id: int) -> Outcome:
    """Remove a member ranked below the actor (KICK) from the community and every channel."""
    snap = member_snapshot(ctx, community_id, user_id)
    _target(ctx, community_id, target_id)
    community = snap.community
    actor = hierarchy.actor_at(community, snap.member(user_id), ctx.now)
    hierarchy.check_member_action(actor, community, snap.member(target_id), Capability.KICK)
    channels = store.remove_member(ctx.conn, community_id, target_id)
    out = Outcome({"community_id": community_id, "user_id": target_id, "kicked": True})
    for ch in channels:
        out.effects.append(Left(ch, (target_id,)))
    member_changed(out, ctx, community_id, target_id, "kicked", also=(target_id,))
    return out


def op_mute_set(ctx: Any, user_id: int, community_id: int, target_id: int, duration_ms: int) -> Outcome:
    """Time a member ranked below the actor (MUTE) out for duration_ms; 0 lifts the time-out.
    The time-out ends by itself: the permission model compares its end with the time."""
    snap = member_snapshot(ctx, community_id, user_id)
    _target(ctx, community_id, target_id)
    community = snap.community
    actor = hierarchy.actor_at(community, snap.member(user_id), ctx.now)
    hierarchy.check_member_action(actor, community, snap.member(target_id), Capability.MUTE)
    until = ctx.now + duration_ms if duration_ms else 0
    store.set_timeout(ctx.conn, community_id, target_id, until)
    out = Outcome({"community_id": community_id, "user_id": target_id, "timed_out_until": until})
    member_changed(out, ctx, community_id, target_id, "timed_out" if until else "time_out_lifted")
    return out


def _owner_only(snap: Any, user_id: int, what: str) -> None:
    if snap.community.owner_id != user_id:
        raise ChatError("forbidden", f"only the owner can {what}", missing="owner", by="you are not the community's owner")


def op_owner_transfer(ctx: Any, user_id: int, community_id: int, new_owner: int) -> Outcome:
    """Make another member the owner, in this one transaction."""
    snap = member_snapshot(ctx, community_id, user_id)
    _owner_only(snap, user_id, "hand the community over")
    _target(ctx, community_id, new_owner)
    if new_owner == user_id:
        return Outcome({"community_id": community_id, "owner_id": user_id})
    store.set_owner(ctx.conn, community_id, new_owner)
    out = Outcome({"community_id": community_id, "owner_id": new_owner})
    member_changed(out, ctx, community_id, new_owner, "owner")
    return out


def op_disband(ctx: Any, user_id: int, community_id: int) -> Outcome:
    """Remove the community and everything of it; every member loses every channel and hears it."""
    snap = member_snapshot(ctx, community_id, user_id)
    _owner_only(snap, user_id, "disband the community")
    members = tuple(store.member_ids(ctx.conn, community_id))
    channels = store.channel_ids(ctx.conn, community_id)
    store.disband(ctx.conn, community_id)
    out = Outcome({"community_id": community_id, "disbanded": True})
    for ch in channels:
        out.effects.append(Left(ch, members))
    out.push("community.member_changed", {"community_id": community_id, "user_id": user_id, "event": "disbanded"}, Users(members))
    return out


def op_update(ctx: Any, user_id: int, community_id: int, fields: dict[str, Any]) -> Outcome:
    """Change the community's settings (MANAGE_COMMUNITY)."""
    join_mode = fields.get("join_mode")
    if join_mode is not None and join_mode not in store.JOIN_MODES:
        raise ChatError("bad_request", "join_mode is open, invite or request", field="join_mode")
    snap = member_snapshot(ctx, community_id, user_id)
    actor = hierarchy.actor_at(snap.community, snap.member(user_id), ctx.now)
    require(actor.decision, Capability.MANAGE_COMMUNITY)
    store.update(ctx.conn, community_id, fields)
    return Outcome({"community": store.row(ctx.conn, community_id)})

"""Community ops that are neither members nor roles nor channels: invite codes, and the
permission view (what a member may do in a channel, with the trace of the evaluation from
chatd.policy.community_perms)."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy import community_roles as hierarchy
from ..policy.community_perms import Capability, effective, effective_in_community, names, require
from ..store import community as store
from ..store.community_cache import CACHE
from .community_ops import member_snapshot
from .effects import Outcome


def op_invite_create(ctx: Any, user_id: int, community_id: int, max_uses: int, expires_in_ms: int) -> Outcome:
    """An invite code (INVITE in the community); 0 uses: no limit, 0 ms: never expires."""
    snap = member_snapshot(ctx, community_id, user_id)
    require(hierarchy.actor_at(snap.community, snap.member(user_id), ctx.now).decision, Capability.INVITE)
    expires_at = ctx.now + expires_in_ms if expires_in_ms else 0
    return Outcome({"invite": store.create_invite(ctx, community_id, user_id, max_uses, expires_at)})


def permissions(conn: sqlite3.Connection, community_id: int, user_id: int, target_id: int, channel_id: int | None, now: int) -> dict[str, Any]:
    """What `target_id` may do in the channel (in the community without one), step by step.
    Anyone may ask about themself; about others, manage_roles in the community is needed. A
    channel the asker cannot see, or another community's, answers not_found."""
    store.require_member(conn, community_id, user_id)
    snap = CACHE.get(conn, community_id)
    if snap is None:
        raise ChatError("not_found", f"no community with id {community_id}", field="community_id")
    community = snap.community
    if target_id != user_id:
        require(hierarchy.actor_at(community, snap.member(user_id), now).decision, Capability.MANAGE_ROLES)
    if store.member_row(conn, community_id, target_id) is None:
        raise ChatError("not_found", f"user {target_id} is not a member of this community", field="user_id")
    if channel_id is None:
        decision = effective_in_community(community, snap.member(target_id), now)
    else:
        if channel_id not in snap.channels or not snap.can_view(user_id, channel_id):
            raise ChatError("not_found", f"no channel with id {channel_id} in this community", field="channel_id")
        decision = effective(community, snap.member(target_id), snap.channels[channel_id], now)
    steps = [{"by": s.by, "added": list(names(s.added)), "removed": list(names(s.removed)), "allow": list(names(s.bits))} for s in decision.steps]
    member = snap.member(target_id)
    return {
        "community_id": community_id,
        "user_id": target_id,
        "channel_id": channel_id,
        "place": decision.place,
        "allow": list(names(decision.bits)),
        "roles": list(decision.base_roles),
        "trace": steps,
        "timed_out_until": member.timed_out_until if member.timed_out_until > now else 0,
    }

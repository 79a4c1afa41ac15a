"""Join requests of a community whose join_mode is request: the pending list and the
decision (community_request_list, community_request_decide).

Both need invite or manage_community in the community (a refusal names invite). Approving
makes the user a member with @everyone, as joining does (every channel at once: Joined, and
community.member_changed to every member); either way the requester's devices, and every
member who may decide, get community.request_decided. A new request is pushed to those
members (community.join_requested, from community_ops.op_join).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy import community_roles as hierarchy
from ..policy.community_perms import DECIDES_REQUESTS, Capability, require
from ..store import community as store
from ..store import community_requests as requests
from ..store.community_cache import CACHE, Snapshot
from .community_ops import member_changed, member_snapshot
from .effects import Joined, Outcome, Users


def _may_decide(snap: Snapshot, user_id: int, now: int) -> None:
    decision = hierarchy.actor_at(snap.community, snap.member(user_id), now).decision
    if not decision.bits & DECIDES_REQUESTS:
        require(decision, Capability.INVITE)


def request_list(conn: sqlite3.Connection, community_id: int, user_id: int, limit: int, offset: int, now: int) -> dict[str, Any]:
    """The pending requests, oldest first, for a member with invite or manage_community."""
    store.require_member(conn, community_id, user_id)
    snap = CACHE.get(conn, community_id)
    if snap is None:
        raise ChatError("not_found", f"no community with id {community_id}", field="community_id")
    _may_decide(snap, user_id, now)
    return {"community_id": community_id, **requests.pending_page(conn, community_id, limit, offset)}


def op_request_decide(ctx: Any, user_id: int, community_id: int, target_id: int, approve: bool) -> Outcome:
    """Approve or refuse a pending request; conflict when it was decided already."""
    snap = member_snapshot(ctx, community_id, user_id)
    _may_decide(snap, user_id, ctx.now)
    found = requests.one(ctx.conn, community_id, target_id)
    if found is None:
        raise ChatError("not_found", f"user {target_id} has not asked to join this community", field="user_id")
    if found["status"] != "pending":
        raise ChatError("conflict", f"this request was {found['status']} already", field="user_id")
    status = "approved" if approve else "refused"
    requests.decide(ctx, community_id, target_id, user_id, status)
    out = Outcome({"request": requests.one(ctx.conn, community_id, target_id)})
    if approve and store.member_row(ctx.conn, community_id, target_id) is None:
        for ch in store.add_member(ctx, community_id, target_id):
            out.effects.append(Joined(ch, (target_id,)))
        member_changed(out, ctx, community_id, target_id, "joined")
    deciders = CACHE.get(ctx.conn, community_id).holders(DECIDES_REQUESTS, store.member_ids(ctx.conn, community_id), ctx.now)  # type: ignore[union-attr]
    out.push("community.request_decided", {"community_id": community_id, "user_id": target_id, "status": status},
             Users(tuple(dict.fromkeys((target_id, *deciders)))))
    return out

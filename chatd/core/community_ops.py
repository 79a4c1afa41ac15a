"""Community writer ops: create, join, leave, and permission overwrites.

Each op checks through the store and the permission model (chatd.policy.community_perms and
community_roles, asked on the community's snapshot), writes through chatd.store.community,
and returns an Outcome: its result and its effects. Joining and leaving change the member
rows of every channel at once (Joined / Left, so the member cache follows), and every
change that can change a permission bumps the community's version in the same transaction.
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import community_roles as hierarchy
from ..policy.community_perms import DECIDES_REQUESTS, Overwrite, Target, from_names, names
from ..store import community as store
from ..store import community_requests as requests
from ..store.community_cache import CACHE, Snapshot
from . import community_pushes as pushes
from .effects import Joined, Left, Outcome, Users

DEFAULT_CATEGORY = "Text Channels"
DEFAULT_CHANNEL = "general"


def snapshot(ctx: Any, community_id: int) -> Snapshot:
    snap = CACHE.get(ctx.conn, community_id)
    if snap is None:
        raise ChatError("not_found", f"no community with id {community_id}", field="community_id")
    return snap


def member_snapshot(ctx: Any, community_id: int, user_id: int) -> Snapshot:
    """The community's snapshot for one of its members; not_found for anyone else (a private
    community is not told apart from none)."""
    snap = snapshot(ctx, community_id)
    if store.member_row(ctx.conn, community_id, user_id) is None:
        raise ChatError("not_found", f"no community with id {community_id} that you are a member of", field="community_id")
    return snap


def member_changed(out: Outcome, ctx: Any, community_id: int, user_id: int, event: str, also: tuple[int, ...] = ()) -> None:
    """community.member_changed to every member (and `also`: who just left)."""
    payload = {"community_id": community_id, "user_id": user_id, "event": event}
    out.push("community.member_changed", payload, Users(tuple(store.member_ids(ctx.conn, community_id)) + also))


def op_create(ctx: Any, user_id: int, name: str, description: str, icon: str, public: bool, join_mode: str) -> Outcome:
    """A community owned by its creator, with @everyone, one category and one channel in it."""
    if join_mode not in store.JOIN_MODES:
        raise ChatError("bad_request", "join_mode is open, invite or request", field="join_mode")
    cid = store.create(ctx, user_id, name, description, icon, public, join_mode)
    category = store.create_category(ctx, cid, DEFAULT_CATEGORY, 0)
    channel = store.create_channel(ctx, cid, DEFAULT_CHANNEL, category, 0)
    out = Outcome({"community": store.row(ctx.conn, cid), "channel_id": channel, "category_id": category})
    out.effects.append(Joined(channel, (user_id,)))
    member_changed(out, ctx, cid, user_id, "joined")
    return out


def op_join(ctx: Any, user_id: int, community_id: int | None, invite_code: str | None, message: str) -> Outcome:
    """Join an open community by id, any community by a valid invite code; a community joined
    by request records the request (joined false)."""
    if invite_code is not None:
        community_id = store.use_invite(ctx, invite_code)
    elif community_id is None:
        raise ChatError("bad_request", "give community_id or invite_code", field="community_id")
    info = store.row(ctx.conn, community_id)
    if store.member_row(ctx.conn, community_id, user_id) is not None:
        return Outcome({"community_id": community_id, "joined": True, "community": info})
    if invite_code is None and info["join_mode"] != "open":
        if info["join_mode"] == "request":
            requests.record(ctx, community_id, user_id, message)
            out = Outcome({"community_id": community_id, "joined": False, "community": info})
            may_decide = snapshot(ctx, community_id).holders(DECIDES_REQUESTS, store.member_ids(ctx.conn, community_id), ctx.now)
            out.push("community.join_requested", {"community_id": community_id, "request": requests.one(ctx.conn, community_id, user_id)}, Users(tuple(may_decide)))
            return out
        raise ChatError("forbidden", "this community is joined by invite code only", field="community_id")
    channels = store.add_member(ctx, community_id, user_id)
    out = Outcome({"community_id": community_id, "joined": True, "community": store.row(ctx.conn, community_id)})
    for ch in channels:
        out.effects.append(Joined(ch, (user_id,)))
    member_changed(out, ctx, community_id, user_id, "joined")
    return out


def op_leave(ctx: Any, user_id: int, community_id: int) -> Outcome:
    snap = member_snapshot(ctx, community_id, user_id)
    if snap.community.owner_id == user_id:
        raise ChatError("owner_must_transfer", "the owner leaves only after handing the community over (community_owner_transfer)")
    channels = store.remove_member(ctx.conn, community_id, user_id)
    out = Outcome({"community_id": community_id, "left": True})
    for ch in channels:
        out.effects.append(Left(ch, (user_id,)))
    member_changed(out, ctx, community_id, user_id, "left", also=(user_id,))
    return out


def op_overwrite_set(
    ctx: Any, user_id: int, community_id: int, place: str, place_id: int, target: str, target_id: int, allow: list[str], deny: list[str]
) -> Outcome:
    """Set (empty allow and deny: remove) one overwrite on a category or channel, within the
    role hierarchy (chatd.policy.community_roles.check_overwrite_edit)."""
    if place not in ("category", "channel"):
        raise ChatError("bad_request", "place is category or channel", field="place")
    if target not in ("role", "member"):
        raise ChatError("bad_request", "target is role or member", field="target")
    snap = member_snapshot(ctx, community_id, user_id)
    community = snap.community
    try:
        allow_bits, deny_bits = from_names(allow), from_names(deny)
    except ValueError as e:
        raise ChatError("bad_request", str(e), field="allow") from None
    if place == "channel":
        # A channel the actor cannot see answers as one that does not exist (not a forbidden
        # naming it), as every other channel command does.
        where = snap.channels.get(place_id) if place_id in snap.channels and snap.can_view(user_id, place_id) else None
        existing = where.overwrites if where is not None else ()
    else:
        where = community.categories.get(place_id)  # type: ignore[assignment]
        existing = where.overwrites if where is not None else ()
    if where is None:
        raise ChatError("not_found", f"no {place} with id {place_id} in this community", field="place_id")
    kind = Target(target)
    member_target = None
    if kind is Target.ROLE and target_id not in community.roles:
        raise ChatError("not_found", f"no role with id {target_id} in this community", field="target_id")
    if kind is Target.MEMBER:
        if store.member_row(ctx.conn, community_id, target_id) is None:
            raise ChatError("not_found", f"user {target_id} is not a member of this community", field="target_id")
        member_target = snap.member(target_id)
    before = next((ow for ow in existing if ow.target is kind and ow.target_id == target_id), None)
    after = Overwrite(kind, target_id, allow_bits, deny_bits) if allow_bits or deny_bits else None
    if before is None and after is None:
        return Outcome(_overwrite_view(community_id, place, place_id, target, target_id, allow_bits, deny_bits))
    actor = hierarchy.actor_at(community, snap.member(user_id), ctx.now, where)
    hierarchy.check_overwrite_edit(actor, community, before, after, member_target)
    saw = pushes.viewers_now(ctx, snap, community_id, place_id) if place == "channel" else []
    store.set_overwrite(ctx.conn, community_id, place, place_id, target, target_id, int(allow_bits), int(deny_bits))
    out = Outcome(_overwrite_view(community_id, place, place_id, target, target_id, allow_bits, deny_bits))
    if place == "channel":
        pushes.channel_seen_anew(out, ctx, community_id, place_id, saw)
    else:
        pushes.category(out, ctx, community_id, place_id, "category_updated")
    return out


def _overwrite_view(community_id: int, place: str, place_id: int, target: str, target_id: int, allow: int, deny: int) -> dict[str, Any]:
    return {"community_id": community_id, "place": place, "place_id": place_id, "target": target, "target_id": target_id,
            "allow": list(names(allow)), "deny": list(names(deny))}

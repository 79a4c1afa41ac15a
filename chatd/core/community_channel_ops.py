"""Community writer ops on channels and categories: create, update (rename, topic, move,
resync) and delete, each needing manage_channels where it acts (in the channel, in the
category, or in the community for a channel without a category or a new category); a
resync removes the channel's overwrites, so it is also checked as an overwrite edit.

A new channel gives every member a row in it (Joined); a deleted one takes them (Left).
Who hears `community.channel_changed`, and what, is chatd.core.community_pushes' to say. Every
write bumps the community's version (chatd.store.community_channels).
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import community_roles as hierarchy
from ..policy.community_perms import Capability, Target, require
from ..store import community as store
from ..store import community_channels as chstore
from . import community_pushes as pushes
from .community_ops import member_snapshot
from .effects import Joined, Left, Outcome, Users, Viewers


def _manage(ctx: Any, snap: Any, user_id: int, place: Any = None) -> None:
    actor = hierarchy.actor_at(snap.community, snap.member(user_id), ctx.now, place)
    require(actor.decision, Capability.MANAGE_CHANNELS)


def _visible_channel(ctx: Any, snap: Any, user_id: int, community_id: int, channel_id: int) -> dict[str, Any]:
    """The channel, if it is this community's and the user sees it; not_found otherwise."""
    row = chstore.channel(ctx.conn, community_id, channel_id)
    if not snap.can_view(user_id, channel_id):
        raise ChatError("not_found", f"no channel with id {channel_id} in this community", field="channel_id")
    return row


def _category(ctx: Any, snap: Any, community_id: int, category_id: int) -> Any:
    store.category_of(ctx.conn, community_id, category_id)  # not_found for another community's
    return snap.community.categories[category_id]


def op_channel_create(ctx: Any, user_id: int, community_id: int, name: str, category_id: int | None, topic: str, position: int | None) -> Outcome:
    snap = member_snapshot(ctx, community_id, user_id)
    place = None if category_id is None else _category(ctx, snap, community_id, category_id)
    _manage(ctx, snap, user_id, place)
    slot = chstore.channel_slot(ctx.conn, community_id, category_id, position)
    chstore.make_room_for_channel(ctx.conn, community_id, category_id, slot)
    ch = store.create_channel(ctx, community_id, name, category_id, slot, topic)
    row = chstore.channel(ctx.conn, community_id, ch)
    out = Outcome({"channel": row})
    out.effects.append(Joined(ch, tuple(store.member_ids(ctx.conn, community_id))))
    pushes.channel(out, community_id, ch, "created", row, Viewers(ch))
    return out


def op_channel_update(ctx: Any, user_id: int, community_id: int, channel_id: int, name: str | None, topic: str | None,
                      category_id: int | None, position: int | None, synced: bool | None) -> Outcome:
    snap = member_snapshot(ctx, community_id, user_id)
    before = _visible_channel(ctx, snap, user_id, community_id, channel_id)
    _manage(ctx, snap, user_id, snap.channels[channel_id])
    if category_id is not None and category_id != before["category_id"]:
        _manage(ctx, snap, user_id, _category(ctx, snap, community_id, category_id))  # may add channels there
    if synced and not before["synced"]:
        _may_drop_overwrites(ctx, snap, user_id, snap.channels[channel_id])
    saw = pushes.viewers_now(ctx, snap, community_id, channel_id)
    chstore.update_channel(ctx.conn, before, name, topic, category_id, position, synced)
    out = Outcome({})
    out.result["channel"] = pushes.channel_seen_anew(out, ctx, community_id, channel_id, saw)  # a move or a resync may hide it
    return out


def _may_drop_overwrites(ctx: Any, snap: Any, user_id: int, channel: Any) -> None:
    """synced true removes the channel's own overwrites: each removal is checked as removing it
    with community_overwrite_set would be (manage_roles in the channel, the hierarchy, and only
    changes the actor holds), so manage_channels alone cannot lift a deny or open a channel."""
    actor = hierarchy.actor_at(snap.community, snap.member(user_id), ctx.now, channel)
    for ow in channel.overwrites:
        target = snap.member(ow.target_id) if ow.target is Target.MEMBER else None
        hierarchy.check_overwrite_edit(actor, snap.community, ow, None, target)


def op_channel_delete(ctx: Any, user_id: int, community_id: int, channel_id: int) -> Outcome:
    snap = member_snapshot(ctx, community_id, user_id)
    before = _visible_channel(ctx, snap, user_id, community_id, channel_id)
    _manage(ctx, snap, user_id, snap.channels[channel_id])
    members = store.member_ids(ctx.conn, community_id)
    saw = snap.viewers(channel_id, members)
    chstore.delete_channel(ctx.conn, before)
    out = Outcome({"community_id": community_id, "channel_id": channel_id, "deleted": True})
    out.effects.append(Left(channel_id, tuple(members)))
    pushes.channel(out, community_id, channel_id, "deleted", None, Users(tuple(saw)))
    return out


def op_category_create(ctx: Any, user_id: int, community_id: int, name: str, position: int | None) -> Outcome:
    snap = member_snapshot(ctx, community_id, user_id)
    _manage(ctx, snap, user_id)
    slot = chstore.category_slot(ctx.conn, community_id, position)
    chstore.make_room_for_category(ctx.conn, community_id, slot)
    cat = store.create_category(ctx, community_id, name, slot)
    store.bump(ctx.conn, community_id)
    out = Outcome({"community_id": community_id, "category": store.category_of(ctx.conn, community_id, cat)})
    pushes.category(out, ctx, community_id, cat, "category_created")
    return out


def op_category_update(ctx: Any, user_id: int, community_id: int, category_id: int, name: str | None, position: int | None) -> Outcome:
    snap = member_snapshot(ctx, community_id, user_id)
    place = _category(ctx, snap, community_id, category_id)
    _manage(ctx, snap, user_id, place)
    before = store.category_of(ctx.conn, community_id, category_id)
    chstore.update_category(ctx.conn, community_id, before, name, position)
    out = Outcome({"community_id": community_id, "category": store.category_of(ctx.conn, community_id, category_id)})
    pushes.category(out, ctx, community_id, category_id, "category_updated")
    return out


def op_category_delete(ctx: Any, user_id: int, community_id: int, category_id: int) -> Outcome:
    """Delete an empty category (conflict while it has channels)."""
    snap = member_snapshot(ctx, community_id, user_id)
    place = _category(ctx, snap, community_id, category_id)
    _manage(ctx, snap, user_id, place)
    chstore.delete_category(ctx.conn, community_id, store.category_of(ctx.conn, community_id, category_id))
    out = Outcome({"community_id": community_id, "category_id": category_id, "deleted": True})
    pushes.category(out, ctx, community_id, category_id, "category_deleted")
    return out

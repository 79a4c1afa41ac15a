"""Who hears of a change to a community's channels, categories and roles, and what they hear.

- `community.channel_changed` for a channel goes to the members who can see it as of the
  commit (a Viewers audience). When a change can hide it from some (a move to another
  category, a resync, an overwrite of the channel), those who saw it just before and no
  longer do get the event `hidden`, without the channel; those who now see it for the
  first time get `updated` with it, and add it.
- Category events go to every member. A change of a category's overwrites is one
  (`category_updated`): what a member sees in it may have changed, and the client fetches
  `community_channel_list` again.
- `community.role_changed` goes to every member: a role was created, edited, deleted or the
  roles reordered, so what any member holds may have changed (the same refetch).
"""

from __future__ import annotations

from typing import Any

from ..store import community as store
from ..store import community_channels as chstore
from ..store import community_roles as roles_store
from ..store.community_cache import CACHE
from .effects import Outcome, Users, Viewers

CHANNEL = "community.channel_changed"
ROLE = "community.role_changed"


def channel(out: Outcome, community_id: int, channel_id: int, event: str, row: dict[str, Any] | None, to: Users | Viewers) -> None:
    data = {"community_id": community_id, "event": event, "channel_id": channel_id, "category_id": None if row is None else row["category_id"], "channel": row}
    out.push(CHANNEL, data, to)


def category(out: Outcome, ctx: Any, community_id: int, category_id: int, event: str) -> None:
    data = {"community_id": community_id, "event": event, "channel_id": None, "category_id": category_id, "channel": None}
    out.push(CHANNEL, data, Users(tuple(store.member_ids(ctx.conn, community_id))))


def viewers_now(ctx: Any, snap: Any, community_id: int, channel_id: int) -> list[int]:
    """The members who see the channel in `snap` (call before a change that can hide it)."""
    return snap.viewers(channel_id, store.member_ids(ctx.conn, community_id))


def channel_seen_anew(out: Outcome, ctx: Any, community_id: int, channel_id: int, saw: list[int]) -> dict[str, Any]:
    """After a change that can hide the channel: `updated` to who sees it now, `hidden` to those
    of `saw` who no longer do. Returns the channel's row."""
    row = chstore.channel(ctx.conn, community_id, channel_id)
    channel(out, community_id, channel_id, "updated", row, Viewers(channel_id))
    after = CACHE.get(ctx.conn, community_id)  # this transaction's version (store.bump)
    still = set() if after is None else set(after.viewers(channel_id, saw))
    lost = tuple(uid for uid in saw if uid not in still)
    if lost:
        out.push(CHANNEL, {"community_id": community_id, "event": "hidden", "channel_id": channel_id, "category_id": None, "channel": None}, Users(lost))
    return row


def role(out: Outcome, ctx: Any, community_id: int, event: str, role_id: int | None) -> None:
    data = {"community_id": community_id, "event": event, "role_id": role_id,
            "role": None if role_id is None or event == "deleted" else roles_store.role(ctx.conn, role_id)}
    out.push(ROLE, data, Users(tuple(store.member_ids(ctx.conn, community_id))))

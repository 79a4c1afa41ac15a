"""A community's permission facts in memory, one snapshot per (community, version).

`effective` (chatd.policy.community_perms) is pure and cheap, but a fanout asks it once per
member per message; a snapshot keeps the community's facts as the policy's types and
remembers each answer, so a message to a channel evaluates each member once per version.
Every change that can change a permission bumps the community's version
(chatd.store.community.bump), and the next lookup (one primary-key read of the version)
loads a new snapshot; the role assignments, the longest read in a big community, are kept
from the snapshot before unless their own version (assignments_version) moved too. A time-out shapes a decision only until it ends: such a decision is
remembered with its end and evaluated again after it.

The cache is the process's (readers, the writer and the delivery pipeline share it); a
snapshot is keyed by (community id, nonce), the nonce a random number each community gets
when it is made, so two databases in one process never share one.
"""

from __future__ import annotations

import sqlite3
import threading
from bisect import bisect_left
from collections import OrderedDict
from typing import Any

from ..policy.community_perms import (
    Capability,
    Category,
    Channel,
    Community,
    Decision,
    Member,
    Overwrite,
    Role,
    Target,
    effective,
    effective_in_category,
    effective_in_community,
)
from . import community as store


class Snapshot:
    """One version of one community's facts, and the decisions asked of it so far."""

    __slots__ = ("community", "channels", "positions", "members", "version", "nonce", "assignments", "_decisions", "_views", "_role_ids", "_role_users", "_timeouts")

    def __init__(self, community_id: int, facts: dict[str, Any]):
        ows: dict[tuple[str, int], list[Overwrite]] = {}
        for place, place_id, target, target_id, allow, deny in facts["overwrites"]:
            ows.setdefault((place, place_id), []).append(Overwrite(Target(target), target_id, Capability(allow), Capability(deny)))
        roles = {r[0]: Role(r[0], r[1], r[2], Capability(r[3])) for r in facts["roles"]}
        categories = {c[0]: Category(c[0], c[1], tuple(ows.get(("category", c[0]), ()))) for c in facts["categories"]}
        self.community = Community(community_id, facts["owner_id"], facts["everyone_id"], roles, categories)
        self.channels = {
            ch[0]: Channel(ch[0], ch[1], ch[2], bool(ch[3]), tuple(ows.get(("channel", ch[0]), ()))) for ch in facts["channels"]
        }
        self.positions = {ch[0]: ch[4] for ch in facts["channels"]}
        # Members are made when first asked about (member()): a community of 10,000 with roles
        # loads in a few ms instead of making 10,000 Members each version. The assignments come
        # ordered by user: a member's roles are one run of them, found by bisection.
        self._role_users, self._role_ids = facts["member_roles"]
        self.assignments: store.Assignments = (facts["assignments_version"], facts["member_roles"])  # kept by the next version's snapshot when unchanged
        self._timeouts = dict(facts["timeouts"])
        self.members: dict[int, Member] = {}
        self.version = facts["version"]
        self.nonce = facts["nonce"]
        self._decisions: dict[tuple[int, int], Decision] = {}
        self._views: dict[tuple[int, int], bool] = {}

    def member(self, user_id: int) -> Member:
        """The member's facts (a member with @everyone only when none are stored)."""
        m = self.members.get(user_id)
        if m is None:
            users = self._role_users
            lo = hi = bisect_left(users, user_id)
            while hi < len(users) and users[hi] == user_id:
                hi += 1
            m = self.members[user_id] = Member(user_id, frozenset(self._role_ids[lo:hi]), self._timeouts.get(user_id, 0))
        return m

    def decision(self, user_id: int, channel_id: int, now_ms: int) -> Decision:
        """effective(...) for this member in this channel, remembered while it holds."""
        key = (user_id, channel_id)
        d = self._decisions.get(key)
        if d is None or (d.valid_until_ms is not None and now_ms >= d.valid_until_ms):
            d = self._decisions[key] = effective(self.community, self.member(user_id), self.channels[channel_id], now_ms)
        return d

    def can_view(self, user_id: int, channel_id: int) -> bool:
        """Whether the member sees the channel. A time-out keeps VIEW_CHANNEL, so this does not
        depend on the time."""
        key = (user_id, channel_id)
        seen = self._views.get(key)
        if seen is None:
            seen = self._views[key] = bool(effective(self.community, self.member(user_id), self.channels[channel_id], 0).bits & Capability.VIEW_CHANNEL)
        return seen

    def can_view_category(self, user_id: int, category_id: int) -> bool:
        """Whether the member sees the category itself (as a synced channel of it)."""
        category = self.community.categories.get(category_id)
        if category is None:
            return False
        return bool(effective_in_category(self.community, self.member(user_id), category, 0).bits & Capability.VIEW_CHANNEL)

    def viewers(self, channel_id: int, user_ids: Any) -> list[int]:
        """Those of `user_ids` (the channel's member rows) who can see it now."""
        if channel_id not in self.channels:
            return []
        return [uid for uid in user_ids if self.can_view(uid, channel_id)]

    def holders(self, bits: Capability, member_ids: list[int], now_ms: int) -> list[int]:
        """Those of `member_ids` who hold any of `bits` in the community now. Only members with
        a role (or the owner) can, unless @everyone gives one of them."""
        c = self.community
        if not c.roles[c.everyone_id].allow & (bits | Capability.ADMINISTRATOR):
            with_roles = set(self._role_users)
            member_ids = [uid for uid in member_ids if uid in with_roles or uid == c.owner_id]
        return [uid for uid in member_ids if effective_in_community(c, self.member(uid), now_ms).bits & bits]


class CommunityCache:
    def __init__(self, max_communities: int = 1000):
        self._max = max_communities
        self._snaps: OrderedDict[int, Snapshot] = OrderedDict()
        self._lock = threading.Lock()  # readers run in threads
        self.loads = 0

    def get(self, conn: sqlite3.Connection, community_id: int) -> Snapshot | None:
        """The community's snapshot as `conn` sees it now; None when there is no such community."""
        current = store.version_of(conn, community_id)
        if current is None:
            return None
        with self._lock:
            snap = self._snaps.get(community_id)
            if snap is not None and (snap.version, snap.nonce) == current:
                self._snaps.move_to_end(community_id)
                return snap
        known = snap.assignments if snap is not None and snap.nonce == current[1] else None
        facts = store.load_facts(conn, community_id, known)
        if facts is None:
            return None
        snap = Snapshot(community_id, facts)
        with self._lock:
            self.loads += 1
            old = self._snaps.get(community_id)
            if old is None or old.nonce != snap.nonce or old.version <= snap.version:
                self._snaps[community_id] = snap
                self._snaps.move_to_end(community_id)
            while len(self._snaps) > self._max:
                self._snaps.popitem(last=False)
        return snap

    def snapshot_of_channel(self, conn: sqlite3.Connection, channel_id: int) -> Snapshot | None:
        cid = store.community_of_channel(conn, channel_id)
        return None if cid is None else self.get(conn, cid)


CACHE = CommunityCache()


def viewers(conn: sqlite3.Connection, channel_id: int, user_ids: Any) -> list[int]:
    """Those of `user_ids` who can see the channel, as `conn` sees the community now."""
    snap = CACHE.snapshot_of_channel(conn, channel_id)
    return [] if snap is None else snap.viewers(channel_id, user_ids)

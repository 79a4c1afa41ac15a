"""Community permissions: the capabilities, the facts they depend on, and the one evaluation order.

Pure rules, no I/O: the store loads a community's roles and categories, a member and a
channel into the plain, immutable types below and asks `effective` what the member may do
there. The order (docs/community-permissions.md), fixed:

1. the owner has every capability;
2. base: the capabilities of @everyone and of each of the member's roles, together;
3. a base with ADMINISTRATOR has every capability;
4. the category's overwrites: @everyone's, then the member's roles' (every deny of every
   role, then every allow of every role), then the member's own (deny, then allow);
5. the channel's overwrites, in the same order (a synced channel has none of its own);
6. a timed-out member keeps only VIEW_CHANNEL and READ_HISTORY;
7. without VIEW_CHANNEL, nothing.

Steps 1 and 3 end the evaluation: a time-out binds neither the owner nor an administrator.
Each step that changes the bits is recorded, so a refusal can say where it was denied.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from types import MappingProxyType
from typing import NamedTuple

from ..errors import ChatError


class Capability(enum.IntFlag):
    """One bit a capability. The values are stored: never renumber one, only add."""

    VIEW_CHANNEL = 1 << 0
    SEND = 1 << 1
    READ_HISTORY = 1 << 2
    MENTION_EVERYONE = 1 << 3
    MANAGE_MESSAGES = 1 << 4  # delete or recall others' messages
    MANAGE_CHANNELS = 1 << 5
    MANAGE_ROLES = 1 << 6  # roles, and the overwrites of channels and categories
    KICK = 1 << 7
    MUTE = 1 << 8  # time members out
    INVITE = 1 << 9
    MANAGE_COMMUNITY = 1 << 10  # name, description, icon, visibility, join rule
    ADMINISTRATOR = 1 << 11  # every capability, everywhere (still bounded by position)


NONE = Capability(0)
ALL = reduce(or_, Capability, NONE)
# What overwrites can allow or deny; other bits in an overwrite are ignored. Check these
# on a channel's (or category's) Decision, the others on the community's.
CHANNEL_CAPABILITIES = (
    Capability.VIEW_CHANNEL
    | Capability.SEND
    | Capability.READ_HISTORY
    | Capability.MENTION_EVERYONE
    | Capability.MANAGE_MESSAGES
    | Capability.MANAGE_CHANNELS
    | Capability.MANAGE_ROLES
)
COMMUNITY_CAPABILITIES = ALL & ~CHANNEL_CAPABILITIES
_OVERWRITABLE = int(CHANNEL_CAPABILITIES)
TIMED_OUT_KEEPS = Capability.VIEW_CHANNEL | Capability.READ_HISTORY
_TIMED_OUT_KEEPS = int(TIMED_OUT_KEEPS)
# Join requests are listed and decided with either of these (the refusal names INVITE).
DECIDES_REQUESTS = Capability.INVITE | Capability.MANAGE_COMMUNITY
# A new community's @everyone: members see channels, send, read the history and invite.
EVERYONE_DEFAULT = Capability.VIEW_CHANNEL | Capability.SEND | Capability.READ_HISTORY | Capability.INVITE

# Every capability with the words a refusal uses for it ("you cannot {words} in ...").
WORDS: Mapping[Capability, str] = MappingProxyType(
    {
        Capability.VIEW_CHANNEL: "see messages",
        Capability.SEND: "send messages",
        Capability.READ_HISTORY: "read the history",
        Capability.MENTION_EVERYONE: "mention everyone",
        Capability.MANAGE_MESSAGES: "delete others' messages",
        Capability.MANAGE_CHANNELS: "manage channels",
        Capability.MANAGE_ROLES: "manage roles and permissions",
        Capability.KICK: "kick members",
        Capability.MUTE: "time members out",
        Capability.INVITE: "invite people",
        Capability.MANAGE_COMMUNITY: "change the community's settings",
        Capability.ADMINISTRATOR: "administer the community",
    }
)
_BY_NAME: Mapping[str, Capability] = MappingProxyType({cap.name.lower(): cap for cap in Capability})  # type: ignore[union-attr]


def name_of(capability: Capability) -> str:
    """The wire name of one capability: "send", "view_channel"."""
    return capability.name.lower()  # type: ignore[union-attr]


def names(bits: int) -> tuple[str, ...]:
    """The wire names of the capabilities in `bits`, lowest bit first."""
    return tuple(name_of(cap) for cap in Capability if bits & cap)


def from_names(wire_names: Iterable[str]) -> Capability:
    """The bits named; ValueError naming the first unknown name."""
    bits = NONE
    for n in wire_names:
        if n not in _BY_NAME:
            raise ValueError(f"unknown capability {n!r}")
        bits |= _BY_NAME[n]
    return bits


# --- the facts ---------------------------------------------------------------------------------


class Target(enum.StrEnum):
    """Whom an overwrite is for."""

    ROLE = "role"
    MEMBER = "member"


class Role(NamedTuple):
    """A named set of capabilities. @everyone has position 0; the others 1..n, higher ranks above."""

    id: int
    name: str
    position: int
    allow: Capability


class Member(NamedTuple):
    """A member: role_ids need not list @everyone, which every member has; a role id the
    community does not have grants nothing. timed_out_until: ms since the epoch, 0 for none."""

    user_id: int
    role_ids: frozenset[int] = frozenset()
    timed_out_until: int = 0


class Overwrite(NamedTuple):
    """Capabilities allowed and denied to one role (@everyone included) or one member on a
    category or channel. A bit in both: denied, then allowed, so allowed."""

    target: Target
    target_id: int  # a role id or a user id
    allow: Capability = NONE
    deny: Capability = NONE


class Category(NamedTuple):
    id: int
    name: str
    overwrites: tuple[Overwrite, ...] = ()


class Channel(NamedTuple):
    """A text channel. synced: it follows its category live and its own overwrites are ignored."""

    id: int
    name: str
    category_id: int | None = None
    synced: bool = False
    overwrites: tuple[Overwrite, ...] = ()


@dataclass(frozen=True, slots=True)
class Community:
    """What the evaluation needs of a community: its owner, roles and categories, by id.

    ValueError unless @everyone (everyone_id) is among the roles at position 0 and the other
    roles hold positions 1..n, one each.
    """

    id: int
    owner_id: int
    everyone_id: int
    roles: Mapping[int, Role]
    categories: Mapping[int, Category] = field(default_factory=dict)

    def __post_init__(self) -> None:
        roles = dict(self.roles)
        if any(key != role.id for key, role in roles.items()):
            raise ValueError("roles must be keyed by their ids")
        everyone = roles.get(self.everyone_id)
        if everyone is None or everyone.position != 0:
            raise ValueError("@everyone must be a role at position 0")
        if sorted(r.position for r in roles.values() if r.id != self.everyone_id) != list(range(1, len(roles))):
            raise ValueError("the roles other than @everyone must hold positions 1..n, one each")
        object.__setattr__(self, "roles", MappingProxyType(roles))
        object.__setattr__(self, "categories", MappingProxyType(dict(self.categories)))

    @property
    def everyone(self) -> Role:
        return self.roles[self.everyone_id]

    def roles_of(self, member: Member) -> list[Role]:
        """The member's roles in this community, @everyone left out, highest first."""
        mine = [self.roles[i] for i in member.role_ids if i in self.roles and i != self.everyone_id]
        mine.sort(key=lambda r: r.position, reverse=True)
        return mine


# --- the decision ------------------------------------------------------------------------------


class Step(NamedTuple):
    """One step of an evaluation that changed the bits: what did it, and the bits after it."""

    by: str  # "base: @everyone and role Mod", "overwrite of role Muted on category Ops", ...
    added: Capability
    removed: Capability
    bits: Capability


class Decision(NamedTuple):
    """What a member may do at one place, and how the evaluation came to it.

    valid_until_ms: a time-out shaped it and it changes at that time (a cache must drop it
    then); None when only a change to the community can change it.
    """

    bits: Capability
    place: str  # "channel #general", "category Ops", "the community"
    steps: tuple[Step, ...]
    base_roles: tuple[str, ...]  # the names of the member's roles in the base, highest first
    valid_until_ms: int | None = None

    def allows(self, capability: Capability) -> bool:
        """Whether every bit of `capability` is held."""
        return capability & ~self.bits == 0

    def denied_by(self, capability: Capability) -> str | None:
        """Where the (first) missing bit of `capability` was lost, None when none is missing:
        the last step that removed it, or, when none did, the base that never had it."""
        missing = capability & ~self.bits
        if not missing:
            return None
        bit = missing & -missing
        for step in reversed(self.steps):
            if step.removed & bit:
                return step.by
        name = name_of(Capability(bit))
        if not self.base_roles:
            return f"@everyone has no {name}"
        return f"@everyone and {_roles_phrase(self.base_roles)} have no {name}"


def _roles_phrase(role_names: tuple[str, ...]) -> str:
    return ("role " if len(role_names) == 1 else "roles ") + ", ".join(role_names)


def require(decision: Decision, capability: Capability) -> None:
    """Forbidden unless the decision holds every bit of `capability`; the error carries
    `missing` (the first missing capability's name) and `by` (where it was denied)."""
    missing = capability & ~decision.bits
    if not missing:
        return
    bit = Capability(missing & -missing)
    by = decision.denied_by(bit)
    raise ChatError("forbidden", f"you cannot {WORDS[bit]} in {decision.place}: {by}", missing=name_of(bit), by=by)


class _Trace:
    """The bits as the evaluation goes, and the steps that changed them."""

    __slots__ = ("bits", "steps")

    def __init__(self) -> None:
        self.bits = 0
        self.steps: list[Step] = []

    def set(self, by: str, bits: int) -> None:
        """The bits become `bits` by `by`; a step right after one by the same is merged into it."""
        before = self.bits
        if self.steps and self.steps[-1].by == by:
            last = self.steps.pop()
            before = int((last.bits & ~last.added) | last.removed)
        bits = int(bits)
        if bits != before:
            self.steps.append(Step(by, Capability(bits & ~before), Capability(before & ~bits), Capability(bits)))
        self.bits = bits

    def decision(self, place: str, base_roles: tuple[str, ...], valid_until_ms: int | None = None) -> Decision:
        return Decision(Capability(self.bits), place, tuple(self.steps), base_roles, valid_until_ms)


def _apply_overwrites(trace: _Trace, community: Community, mine: list[Role], user_id: int, overwrites: Iterable[Overwrite], where: str) -> None:
    """One place's overwrites: @everyone's, then the member's roles' (all denies, then all allows,
    highest role first), then the member's own. Each group denies first, then allows."""
    rank = {role.id: i for i, role in enumerate(mine)}
    everyone: list[Overwrite] = []
    by_role: list[Overwrite] = []
    own: list[Overwrite] = []
    for ow in overwrites:
        if ow.target is Target.ROLE:
            if ow.target_id == community.everyone_id:
                everyone.append(ow)
            elif ow.target_id in rank:
                by_role.append(ow)
        elif ow.target_id == user_id:
            own.append(ow)
    by_role.sort(key=lambda ow: rank[ow.target_id])
    groups = (
        [(ow, f"overwrite of @everyone on {where}") for ow in everyone],
        [(ow, f"overwrite of role {community.roles[ow.target_id].name} on {where}") for ow in by_role],
        [(ow, f"overwrite of member {user_id} on {where}") for ow in own],
    )
    for group in groups:
        for ow, by in group:
            trace.set(by, trace.bits & ~(int(ow.deny) & _OVERWRITABLE))
        for ow, by in group:
            trace.set(by, trace.bits | (int(ow.allow) & _OVERWRITABLE))


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def _evaluate(
    community: Community, member: Member, layers: Iterable[tuple[Iterable[Overwrite], str]], place: str, now_ms: int, *, needs_view: bool
) -> Decision:
    """The evaluation order, for any place: `layers` are its overwrites, outermost first."""
    trace = _Trace()
    if member.user_id == community.owner_id:
        trace.set("owner", ALL)
        return trace.decision(place, ())
    mine = community.roles_of(member)
    base_roles = tuple(role.name for role in mine)
    everyone = community.everyone
    trace.set("base: @everyone" + (f" and {_roles_phrase(base_roles)}" if mine else ""), reduce(or_, (int(r.allow) for r in mine), int(everyone.allow)))
    if trace.bits & Capability.ADMINISTRATOR:
        holder = next(r for r in (everyone, *mine) if r.allow & Capability.ADMINISTRATOR)
        trace.set(f"{'@everyone' if holder is everyone else 'role ' + holder.name} has administrator", ALL)
        return trace.decision(place, base_roles)
    for overwrites, where in layers:
        _apply_overwrites(trace, community, mine, member.user_id, overwrites, where)
    valid_until = None
    if member.timed_out_until > now_ms:
        trace.set(f"time-out until {_utc(member.timed_out_until)}", trace.bits & _TIMED_OUT_KEEPS)
        valid_until = member.timed_out_until
    if needs_view and not trace.bits & Capability.VIEW_CHANNEL:
        trace.set(f"no view_channel on {place}", 0)
    return trace.decision(place, base_roles, valid_until)


def effective(community: Community, member: Member, channel: Channel, now_ms: int) -> Decision:
    """What `member` may do in `channel`, by the order above. ValueError for a channel whose
    category is not one of the community's (a programming error: the store checks ids)."""
    place = f"channel #{channel.name}"
    layers: list[tuple[Iterable[Overwrite], str]] = []
    if channel.category_id is not None:
        category = community.categories.get(channel.category_id)
        if category is None:
            raise ValueError(f"channel {channel.id}: category {channel.category_id} is not in community {community.id}")
        layers.append((category.overwrites, f"category {category.name}"))
    if not channel.synced:
        layers.append((channel.overwrites, place))
    return _evaluate(community, member, layers, place, now_ms, needs_view=True)


def effective_in_category(community: Community, member: Member, category: Category, now_ms: int) -> Decision:
    """What `member` may do in a category itself (e.g. edit its overwrites, add a channel to it):
    as in a synced channel of it."""
    place = f"category {category.name}"
    return _evaluate(community, member, [(category.overwrites, place)], place, now_ms, needs_view=True)


def effective_in_community(community: Community, member: Member, now_ms: int) -> Decision:
    """What `member` may do in the community as a whole (kick, time out, invite, manage roles and
    settings): owner, base, administrator and time-out; no overwrites, and no VIEW_CHANNEL rule."""
    return _evaluate(community, member, (), "the community", now_ms, needs_view=False)

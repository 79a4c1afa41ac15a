"""Roles and capabilities: who may do what in a DM, a group or a room.

Pure rules, no I/O: the store looks up the actor's row and asks here. Roles rank
member < admin < owner; each Policy maps every capability its kind allows to the
lowest role that has it. In rooms a server admin acts as above the owner (member or
not); in groups a server admin is an ordinary member; a DM has members only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from ..errors import ChatError

ROLES = ("member", "admin", "owner")
RANK = MappingProxyType({role: i for i, role in enumerate(ROLES)})
SERVER_ADMIN_RANK = len(ROLES)  # above the owner, where the policy lets server admins act
NO_RANK = -1  # not a member

READ, SEND, MENTION_ALL, RECALL_ANY = "read", "send", "mention_all", "recall_any"
UPDATE, INVITE, INVITE_DIRECT, DECIDE_REQUESTS = "update", "invite", "invite_direct", "decide_requests"
KICK, MUTE_MEMBER, SET_ROLE, TRANSFER_OWNER = "kick", "mute_member", "set_role", "transfer_owner"
DISBAND, VIEW_REQUESTS = "disband", "view_requests"

# Every capability, with the words a refusal uses for it ({noun}: the policy's noun).
CAPABILITIES: Mapping[str, str] = MappingProxyType(
    {
        READ: "read messages",
        SEND: "send messages",
        MENTION_ALL: "mention everyone",
        RECALL_ANY: "recall other members' messages",
        UPDATE: "change the {noun}'s name, avatar or description",
        INVITE: "invite people",
        INVITE_DIRECT: "add members without approval",
        DECIDE_REQUESTS: "decide join requests",
        KICK: "kick members",
        MUTE_MEMBER: "mute members",
        SET_ROLE: "change members' roles",
        TRANSFER_OWNER: "hand over ownership",
        DISBAND: "disband the {noun}",
        VIEW_REQUESTS: "see join requests",
    }
)
# Capabilities that act on another member, with the verb an outrank refusal uses.
OUTRANK_VERBS: Mapping[str, str] = MappingProxyType({KICK: "kick", MUTE_MEMBER: "mute", SET_ROLE: "change the role of"})


def valid_role(role: object) -> bool:
    """Whether `role` names a role (for request validation)."""
    return isinstance(role, str) and role in RANK


class Actor(NamedTuple):
    """Who is acting: role None when not a member; muted_until in ms since the epoch."""

    user_id: int
    role: str | None
    server_admin: bool = False
    muted_until: int = 0


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules of one conversation kind; `needs` maps capability -> lowest role that has it.

    A capability missing from `needs` is forbidden to every role in this kind.
    """

    kind: str
    noun: str
    needs: Mapping[str, str]
    server_admin_acts_as_owner: bool
    not_member_message: str
    field: str | None = None  # the request field a not_member error points at

    def __post_init__(self) -> None:
        for cap, role in self.needs.items():
            if cap not in CAPABILITIES or role not in RANK:
                raise ValueError(f"bad policy entry {cap!r}: {role!r}")
        object.__setattr__(self, "needs", MappingProxyType(dict(self.needs)))


_MEMBER = {READ: "member", SEND: "member", INVITE: "member"}
_ADMIN = dict.fromkeys((MENTION_ALL, RECALL_ANY, UPDATE, INVITE_DIRECT, DECIDE_REQUESTS, KICK, MUTE_MEMBER, VIEW_REQUESTS), "admin")
_OWNER = dict.fromkeys((SET_ROLE, TRANSFER_OWNER, DISBAND), "owner")

DM = Policy("dm", "conversation", {READ: "member", SEND: "member"}, False, "you are not in this conversation")
GROUP = Policy("group", "group", {**_MEMBER, **_ADMIN, **_OWNER}, False, "you are not a member of this group", "group_id")
ROOM = Policy("room", "room", {**_MEMBER, **_ADMIN, **_OWNER}, True, "you are not in this room: join it first", "room_id")
# The server's announcements: everyone reads; server admins (acting as its owner) write.
BROADCAST = Policy("broadcast", "announcements", {READ: "member", SEND: "owner", RECALL_ANY: "owner"}, True, "", "broadcast_id")
POLICIES: Mapping[str, Policy] = MappingProxyType({p.kind: p for p in (DM, GROUP, ROOM)})


def _acts_as_server_admin(policy: Policy, actor: Actor) -> bool:
    return actor.server_admin and policy.server_admin_acts_as_owner


def rank(policy: Policy, actor: Actor) -> int:
    """The actor's rank in this kind: NO_RANK for a non-member, SERVER_ADMIN_RANK where it applies."""
    if _acts_as_server_admin(policy, actor):
        return SERVER_ADMIN_RANK
    return NO_RANK if actor.role is None else RANK[actor.role]


def _title(policy: Policy, actor: Actor) -> str:
    """The actor's standing in words: "a group admin", "a server admin", "a non-member"."""
    if _acts_as_server_admin(policy, actor):
        return "a server admin"
    return f"a {policy.noun} {actor.role}" if actor.role else "a non-member"


def _holders(policy: Policy, role: str) -> str:
    """Who has a capability whose lowest role is `role`, in words."""
    who = {"member": "members", "admin": "owner and admins", "owner": "owner"}[role]
    extra = ", or a server admin," if policy.server_admin_acts_as_owner else ""
    return f"the {policy.noun}'s {who}{extra}"


def _refusal(policy: Policy, actor: Actor, capability: str, now_ms: int) -> ChatError | None:
    """The error require raises, or None when the actor may."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")
    need = policy.needs.get(capability)
    admin = _acts_as_server_admin(policy, actor)
    if actor.role is None and not (admin and need is not None and RANK[need] > RANK["member"]):
        return ChatError("not_member", policy.not_member_message, field=policy.field)
    words = CAPABILITIES[capability].format(noun=policy.noun)
    if need is None:
        return ChatError("forbidden", f"no one can {words} in this {policy.noun}")
    if rank(policy, actor) < RANK[need]:
        return ChatError("forbidden", f"only {_holders(policy, need)} can {words}")
    if capability == SEND and actor.muted_until > now_ms:
        left = actor.muted_until - now_ms
        secs = (left + 999) // 1000
        return ChatError("muted", f"you are muted in this {policy.noun} for {secs} more s", retry_after_ms=left)
    return None


def require(policy: Policy, actor: Actor, capability: str, now_ms: int) -> None:
    """Raise not_member, forbidden or muted (with retry_after_ms) unless the actor may.

    A non-member is refused with not_member, except a server admin where the policy
    lets one act, for capabilities above member level. Send is refused while muted.
    ValueError for an unknown capability (a programming error, not a client's).
    """
    err = _refusal(policy, actor, capability, now_ms)
    if err is not None:
        raise err


def allowed(policy: Policy, actor: Actor, capability: str, now_ms: int) -> bool:
    """Whether require would pass; never raises ChatError."""
    return _refusal(policy, actor, capability, now_ms) is None


def require_outranks(policy: Policy, actor: Actor, target_role: str, capability: str, *, target_server_admin: bool = False) -> None:
    """Forbidden unless the actor ranks strictly above the target member, naming both roles.

    For capabilities that act on another member (kick, mute_member, set_role); call
    require first for the capability itself. target_server_admin: the target is a
    server admin, who in rooms ranks above the owner. ValueError for a bad role or
    capability.
    """
    if capability not in OUTRANK_VERBS or target_role not in RANK:
        raise ValueError(f"bad outrank check {capability!r} on {target_role!r}")
    target = Actor(0, target_role, target_server_admin)
    if rank(policy, actor) > rank(policy, target):
        return
    raise ChatError("forbidden", f"{_title(policy, actor)} cannot {OUTRANK_VERBS[capability]} {_title(policy, target)}")

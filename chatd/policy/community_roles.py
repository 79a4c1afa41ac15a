"""The role hierarchy of a community: who may change which roles, overwrites and members.

Pure checks, no I/O, each raising ChatError or returning None. The rules:

- A member's rank is the position of their highest role (0 with @everyone only); the owner
  ranks above every position. ADMINISTRATOR gives every capability, not a higher rank.
- Roles are changed with MANAGE_ROLES (held in the community; for overwrites, held where
  the overwrite is), and only roles strictly below one's rank: a role's current position
  AND its new one are checked, so moving a higher role down and then editing it fails at
  the first step.
- Nobody grants what they do not hold: the capabilities a role edit, an overwrite edit or
  a role assignment adds (or, for edits, takes away) must all be the actor's own.
- Acting on another member (assigning roles, kicking, timing out, a member overwrite) needs
  the member to rank strictly below the actor. Nobody acts on the owner but the owner.

Positions: @everyone 0, the other n roles 1..n. A new role at position p (1 <= p <= n+1)
moves the roles at p and above up one; deleting one moves those above it down one; moving
one from a to b shifts the roles between. `positions_after_*` compute those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ..errors import ChatError
from .community_perms import (
    CHANNEL_CAPABILITIES,
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
    names,
    require,
)

OWNER_RANK = 1 << 62  # above every role position


def rank(community: Community, member: Member) -> int:
    """The member's highest role position; OWNER_RANK for the owner, 0 with @everyone only."""
    if member.user_id == community.owner_id:
        return OWNER_RANK
    mine = community.roles_of(member)
    return mine[0].position if mine else 0


class Actor(NamedTuple):
    """Who acts: their rank, its name for messages, and what they hold where they act."""

    user_id: int
    rank: int
    rank_name: str  # "owner", "@everyone" or the highest role's name
    decision: Decision

    @property
    def is_owner(self) -> bool:
        return self.rank == OWNER_RANK


def actor_at(community: Community, member: Member, now_ms: int, place: Channel | Category | None = None) -> Actor:
    """The member as an actor: what they hold in the community, or in `place` for an overwrite there."""
    if place is None:
        decision = effective_in_community(community, member, now_ms)
    elif isinstance(place, Channel):
        decision = effective(community, member, place, now_ms)
    else:
        decision = effective_in_category(community, member, place, now_ms)
    r = rank(community, member)
    mine = community.roles_of(member)
    name = "owner" if r == OWNER_RANK else (mine[0].name if mine else "@everyone")
    return Actor(member.user_id, r, name, decision)


def _forbidden(message: str, by: str, missing: str | None = None) -> ChatError:
    return ChatError("forbidden", message, missing=missing, by=by)


def _hierarchy(actor: Actor) -> str:
    return f"role hierarchy: your highest role is {actor.rank_name} (position {actor.rank})"


def _below(actor: Actor, position: int, what: str) -> None:
    """Forbidden unless `position` is strictly below the actor's rank."""
    if position >= actor.rank:
        raise _forbidden(f"{what} is at position {position}, not below your highest role", _hierarchy(actor))


def _outranks(actor: Actor, community: Community, target: Member, verb: str) -> None:
    """Forbidden unless the target member ranks strictly below the actor."""
    theirs = rank(community, target)
    if theirs >= actor.rank:
        who = "the owner" if theirs == OWNER_RANK else f"member {target.user_id} (position {theirs})"
        raise _forbidden(f"you cannot {verb} {who}: they do not rank below you", _hierarchy(actor))


def _holds(actor: Actor, bits: int, verb: str) -> None:
    """Forbidden unless the actor holds every bit of `bits`, naming the missing ones."""
    missing = bits & ~actor.decision.bits
    if missing:
        lacking = ", ".join(names(missing))
        raise _forbidden(f"you cannot {verb} capabilities you do not have: {lacking}", f"you do not have {lacking}", names(missing)[0])


def _position_range(position: int, low: int, high: int) -> None:
    if not low <= position <= high:
        raise ChatError("bad_request", f"position must be from {low} to {high}", field="position")


def _role(community: Community, role_id: int) -> Role:
    role = community.roles.get(role_id)
    if role is None:
        raise ChatError("not_found", f"role {role_id} is not in this community", field="role_id")
    return role


def check_role_create(actor: Actor, community: Community, role: Role) -> None:
    """A new role at role.position (the roles from there up move up one): MANAGE_ROLES, the
    position no higher than the actor's rank (so the new role lands below it), bits held."""
    require(actor.decision, Capability.MANAGE_ROLES)
    _position_range(role.position, 1, len(community.roles))
    if role.position > actor.rank:
        raise _forbidden(f"a new role at position {role.position} would not be below your highest role", _hierarchy(actor))
    _holds(actor, role.allow, "grant")


def check_role_edit(actor: Actor, community: Community, before: Role, after: Role) -> None:
    """An edit of a role (name, capabilities, position): MANAGE_ROLES; the role below the actor
    where it is AND where it goes; every capability added or taken away held by the actor.
    @everyone stays at 0; a position change is a move (see positions_after_move)."""
    if before.id != after.id:
        raise ValueError("an edit keeps the role's id")
    require(actor.decision, Capability.MANAGE_ROLES)
    if before.id == community.everyone_id:
        if after.position != 0:
            raise ChatError("bad_request", "@everyone stays at position 0", field="position")
    else:
        _position_range(after.position, 1, len(community.roles) - 1)
    _below(actor, before.position, f"role {before.name}")
    _below(actor, after.position, f"the new position of role {before.name}")
    _holds(actor, before.allow ^ after.allow, "grant or take away")


def check_role_delete(actor: Actor, community: Community, role: Role) -> None:
    """Deleting a role: MANAGE_ROLES and the role below the actor; @everyone is never deleted."""
    require(actor.decision, Capability.MANAGE_ROLES)
    if role.id == community.everyone_id:
        raise ChatError("bad_request", "@everyone cannot be deleted", field="role_id")
    _below(actor, role.position, f"role {role.name}")


def check_reorder(actor: Actor, community: Community, positions: Mapping[int, int]) -> None:
    """New positions for some roles (role id -> position): the result must hold 1..n once each;
    every role that moves must be below the actor before AND after the move."""
    require(actor.decision, Capability.MANAGE_ROLES)
    for role_id in positions:
        if _role(community, role_id).id == community.everyone_id:
            raise ChatError("bad_request", "@everyone stays at position 0", field="positions")
    after = {r.id: positions.get(r.id, r.position) for r in community.roles.values() if r.id != community.everyone_id}
    if sorted(after.values()) != list(range(1, len(after) + 1)):
        raise ChatError("bad_request", f"the roles must hold positions 1 to {len(after)}, one each", field="positions")
    for role_id, position in after.items():
        role = community.roles[role_id]
        if position != role.position:
            _below(actor, role.position, f"role {role.name}")
            _below(actor, position, f"the new position of role {role.name}")


def check_role_assign(actor: Actor, community: Community, target: Member, add: Iterable[int] = (), remove: Iterable[int] = ()) -> None:
    """Giving roles to a member or taking them away: MANAGE_ROLES; the member below the actor
    (or the actor themself); each role below the actor; each role given holds only what the
    actor holds. @everyone is neither given nor taken."""
    require(actor.decision, Capability.MANAGE_ROLES)
    changed = [(_role(community, i), True) for i in add] + [(_role(community, i), False) for i in remove]
    if any(role.id == community.everyone_id for role, _ in changed):
        raise ChatError("bad_request", "every member has @everyone", field="role_id")
    if target.user_id != actor.user_id:
        _outranks(actor, community, target, "change the roles of")
    for role, given in changed:
        _below(actor, role.position, f"role {role.name}")
        if given:
            _holds(actor, role.allow, "grant")


def check_overwrite_edit(
    actor: Actor, community: Community, before: Overwrite | None, after: Overwrite | None, target: Member | None = None
) -> None:
    """Setting, changing or removing (after None) an overwrite on a category or channel; the
    actor must come from actor_at for that place. MANAGE_ROLES there; a role target below the
    actor; a member target (pass it as `target`) below the actor or the actor themself; only
    channel capabilities; every capability it changes, allowed or denied, held by the actor."""
    ow = after or before
    if ow is None or (before and after and before[:2] != after[:2]):
        raise ValueError("an overwrite edit names one target")
    require(actor.decision, Capability.MANAGE_ROLES)
    if after is not None:
        for fname, bits in (("allow", after.allow), ("deny", after.deny)):
            if bits & ~CHANNEL_CAPABILITIES:
                extra = ", ".join(names(bits & ~CHANNEL_CAPABILITIES))
                raise ChatError("bad_request", f"overwrites hold channel capabilities only, not {extra}", field=fname)
    if ow.target is Target.ROLE:
        role = _role(community, ow.target_id)
        _below(actor, role.position, "@everyone" if role.id == community.everyone_id else f"role {role.name}")
    else:
        if target is None or target.user_id != ow.target_id:
            raise ValueError("a member overwrite edit needs its member")
        if target.user_id != actor.user_id:
            _outranks(actor, community, target, "set an overwrite for")
    old_allow, old_deny = (before.allow, before.deny) if before else (0, 0)
    new_allow, new_deny = (after.allow, after.deny) if after else (0, 0)
    _holds(actor, (old_allow ^ new_allow) | (old_deny ^ new_deny), "allow or deny")


def check_member_action(actor: Actor, community: Community, target: Member, capability: Capability) -> None:
    """Kicking (KICK) or timing out (MUTE) a member: the capability in the community, and the
    member strictly below the actor."""
    if capability not in (Capability.KICK, Capability.MUTE):
        raise ValueError(f"not an action on a member: {capability!r}")
    require(actor.decision, capability)
    _outranks(actor, community, target, "kick" if capability == Capability.KICK else "time out")


# --- positions ---------------------------------------------------------------------------------


def _others(community: Community) -> dict[int, int]:
    return {r.id: r.position for r in community.roles.values() if r.id != community.everyone_id}


def positions_after_insert(community: Community, position: int) -> dict[int, int]:
    """The existing roles' positions once a new role takes `position`: those at it and above move up."""
    return {i: p + 1 if p >= position else p for i, p in _others(community).items()}


def positions_after_delete(community: Community, role_id: int) -> dict[int, int]:
    """The other roles' positions once `role_id` is gone: those above it move down."""
    gone = community.roles[role_id].position
    return {i: p - 1 if p > gone else p for i, p in _others(community).items() if i != role_id}


def positions_after_move(community: Community, role_id: int, position: int) -> dict[int, int]:
    """Every role's position once `role_id` moves to `position`: the roles between shift one."""
    old = community.roles[role_id].position
    out = {}
    for i, p in _others(community).items():
        if i == role_id:
            p = position
        elif old < p <= position:
            p -= 1
        elif position <= p < old:
            p += 1
        out[i] = p
    return out


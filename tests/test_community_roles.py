"""chatd.policy.community_roles: the role hierarchy by hand (create, edit, delete, reorder,
assign, overwrites, kick and time-out, the re-rank-then-edit exploit), and a property: no
sequence of operations an actor is allowed gives anyone a capability the actor did not hold,
or touches a role at or above the actor's highest."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatd.errors import ChatError
from chatd.policy.community_perms import ALL, EVERYONE_DEFAULT, NONE, Capability, Category, Channel, Community, Member, Overwrite, Role, Target
from chatd.policy.community_perms import effective_in_community as community_bits
from chatd.policy.community_roles import (
    OWNER_RANK,
    Actor,
    actor_at,
    check_member_action,
    check_overwrite_edit,
    check_reorder,
    check_role_assign,
    check_role_create,
    check_role_delete,
    check_role_edit,
    positions_after_delete,
    positions_after_insert,
    positions_after_move,
    rank,
)

C = Capability
NOW = 1_700_000_000_000
EVERYONE, MUTED, HELPER, MOD, SENIOR, ADMIN, FOUNDER = 100, 101, 102, 103, 104, 105, 106
ROLES = {
    EVERYONE: Role(EVERYONE, "@everyone", 0, EVERYONE_DEFAULT),
    MUTED: Role(MUTED, "Muted", 1, NONE),
    HELPER: Role(HELPER, "Helper", 2, C.MANAGE_MESSAGES | C.MENTION_EVERYONE),
    MOD: Role(MOD, "Mod", 3, C.MANAGE_ROLES | C.MANAGE_MESSAGES | C.KICK | C.MUTE),
    SENIOR: Role(SENIOR, "Senior", 4, C.MANAGE_ROLES | C.KICK | C.MUTE | C.MANAGE_COMMUNITY | C.MANAGE_CHANNELS),
    ADMIN: Role(ADMIN, "Admin", 5, C.ADMINISTRATOR),
    FOUNDER: Role(FOUNDER, "Founder", 6, NONE),
}
OWNER = 1
ROOM = Category(10, "Ops", (Overwrite(Target.ROLE, MOD, deny=C.MANAGE_ROLES),))
COMMUNITY = Community(1, OWNER, EVERYONE, ROLES, {ROOM.id: ROOM})
CHANNEL = Channel(20, "general")
OPS_CHANNEL = Channel(21, "ops", ROOM.id, True)

owner = Member(OWNER, frozenset({MUTED}))
admin = Member(2, frozenset({ADMIN}))
senior = Member(3, frozenset({SENIOR}))
mod = Member(4, frozenset({MOD, MUTED}))
helper = Member(5, frozenset({HELPER}))
plain = Member(6)
timed_mod = Member(7, frozenset({MOD}), timed_out_until=NOW + 60_000)


def act(member: Member, place: Channel | Category | None = None) -> Actor:
    return actor_at(COMMUNITY, member, NOW, place)


def refused(code: str, fn, *args) -> ChatError:  # type: ignore[no-untyped-def]
    with pytest.raises(ChatError) as e:
        fn(*args)
    assert e.value.code == code, e.value.message
    return e.value


def hierarchy_refusal(fn, *args) -> ChatError:  # type: ignore[no-untyped-def]
    e = refused("forbidden", fn, *args)
    assert e.by is not None and e.by.startswith("role hierarchy: your highest role is ")
    return e


# --- rank --------------------------------------------------------------------------------------


def test_rank_is_the_highest_position_and_the_owner_is_above_all() -> None:
    assert rank(COMMUNITY, owner) == OWNER_RANK > 6
    assert rank(COMMUNITY, admin) == 5  # ADMINISTRATOR gives capabilities, not rank
    assert rank(COMMUNITY, mod) == 3
    assert rank(COMMUNITY, plain) == rank(COMMUNITY, Member(9, frozenset({999}))) == 0
    a = act(mod)
    assert (a.rank, a.rank_name, a.is_owner, a.decision.place) == (3, "Mod", False, "the community")
    assert act(owner).rank_name == "owner" and act(owner).is_owner
    assert act(plain).rank_name == "@everyone"
    assert act(mod, CHANNEL).decision.place == "channel #general"
    assert act(mod, ROOM).decision.place == "category Ops"


# --- creating, editing, deleting roles ---------------------------------------------------------


def test_create_below_ones_rank_with_held_bits() -> None:
    check_role_create(act(mod), COMMUNITY, Role(200, "Greeter", 3, C.KICK | C.SEND))  # lands just below Mod
    check_role_create(act(mod), COMMUNITY, Role(200, "Greeter", 1, NONE))
    hierarchy_refusal(check_role_create, act(mod), COMMUNITY, Role(200, "Greeter", 4, NONE))
    e = refused("forbidden", check_role_create, act(mod), COMMUNITY, Role(200, "Greeter", 2, C.KICK | C.MANAGE_COMMUNITY | C.ADMINISTRATOR))
    assert (e.missing, e.by) == ("manage_community", "you do not have manage_community, administrator")
    check_role_create(act(owner), COMMUNITY, Role(200, "Top", 7, ALL))
    check_role_create(act(admin), COMMUNITY, Role(200, "Deputy", 5, ALL))  # admins hold every bit
    hierarchy_refusal(check_role_create, act(admin), COMMUNITY, Role(200, "Deputy", 6, NONE))


def test_create_needs_manage_roles_and_a_position_in_range() -> None:
    e = refused("forbidden", check_role_create, act(helper), COMMUNITY, Role(200, "x", 1, NONE))
    assert (e.missing, e.by) == ("manage_roles", "@everyone and role Helper have no manage_roles")
    e = refused("forbidden", check_role_create, act(timed_mod), COMMUNITY, Role(200, "x", 1, NONE))
    assert e.by == "time-out until 2023-11-14T22:14:20Z"
    for position in (0, -1, 8):
        assert refused("bad_request", check_role_create, act(owner), COMMUNITY, Role(200, "x", position, NONE)).field == "position"


def test_edit_only_roles_below_and_only_held_bits() -> None:
    helper_role = ROLES[HELPER]
    check_role_edit(act(mod), COMMUNITY, helper_role, helper_role._replace(name="Helpers", allow=helper_role.allow | C.KICK))
    # Mod lacks mention_everyone: it can neither add it nor take it away, but may leave it be.
    check_role_edit(act(mod), COMMUNITY, helper_role, helper_role._replace(name="Helpers"))
    e = refused("forbidden", check_role_edit, act(mod), COMMUNITY, helper_role, helper_role._replace(allow=C.MANAGE_MESSAGES))
    assert e.missing == "mention_everyone"
    e = refused("forbidden", check_role_edit, act(mod), COMMUNITY, ROLES[MUTED], ROLES[MUTED]._replace(allow=C.MANAGE_CHANNELS))
    assert e.missing == "manage_channels"
    # Not one's own highest role, nor any above it; administrators neither.
    e = hierarchy_refusal(check_role_edit, act(mod), COMMUNITY, ROLES[MOD], ROLES[MOD]._replace(allow=ROLES[MOD].allow | C.INVITE))
    assert e.message == "role Mod is at position 3, not below your highest role"
    assert e.by == "role hierarchy: your highest role is Mod (position 3)"
    hierarchy_refusal(check_role_edit, act(mod), COMMUNITY, ROLES[SENIOR], ROLES[SENIOR]._replace(name="x"))
    hierarchy_refusal(check_role_edit, act(admin), COMMUNITY, ROLES[FOUNDER], ROLES[FOUNDER]._replace(allow=ALL))
    check_role_edit(act(admin), COMMUNITY, ROLES[SENIOR], ROLES[SENIOR]._replace(allow=ALL))
    check_role_edit(act(owner), COMMUNITY, ROLES[FOUNDER], ROLES[FOUNDER]._replace(allow=ALL))


def test_the_re_rank_then_edit_exploit_fails() -> None:
    # Mod (3) moves Senior (4) below itself, then edits it: both steps are refused, because
    # the role's current position is checked as well as its new one.
    senior_role = ROLES[SENIOR]
    moved = senior_role._replace(position=1)
    e = hierarchy_refusal(check_role_edit, act(mod), COMMUNITY, senior_role, moved)
    assert "role Senior is at position 4" in e.message
    hierarchy_refusal(check_reorder, act(mod), COMMUNITY, {SENIOR: 1, MUTED: 2, HELPER: 3, MOD: 4})
    hierarchy_refusal(check_reorder, act(mod), COMMUNITY, {SENIOR: 2, HELPER: 4})
    hierarchy_refusal(check_role_edit, act(mod), COMMUNITY, senior_role, moved._replace(allow=C.MANAGE_ROLES))
    # The same for an administrator and the role above theirs.
    hierarchy_refusal(check_role_edit, act(admin), COMMUNITY, ROLES[FOUNDER], ROLES[FOUNDER]._replace(position=1, allow=ALL))
    hierarchy_refusal(check_reorder, act(admin), COMMUNITY, {FOUNDER: 4, SENIOR: 5, ADMIN: 6})
    # ... and moving one's own role up over the next one.
    hierarchy_refusal(check_reorder, act(mod), COMMUNITY, {MOD: 4, SENIOR: 3})
    # Moving a role below one's own up to (or past) one's own position is refused as well.
    e = hierarchy_refusal(check_role_edit, act(mod), COMMUNITY, ROLES[HELPER], ROLES[HELPER]._replace(position=3))
    assert "the new position of role Helper is at position 3" in e.message


def test_edit_of_everyone_and_bad_positions() -> None:
    everyone = ROLES[EVERYONE]
    check_role_edit(act(mod), COMMUNITY, everyone, everyone._replace(allow=everyone.allow | C.KICK))
    assert refused("bad_request", check_role_edit, act(owner), COMMUNITY, everyone, everyone._replace(position=1)).field == "position"
    for position in (0, 7):
        refused("bad_request", check_role_edit, act(owner), COMMUNITY, ROLES[MUTED], ROLES[MUTED]._replace(position=position))
    with pytest.raises(ValueError):
        check_role_edit(act(owner), COMMUNITY, ROLES[MUTED], ROLES[HELPER])
    # With MANAGE_ROLES through @everyone alone, a member ranks 0: not above @everyone.
    loose = Community(2, OWNER, EVERYONE, {EVERYONE: Role(EVERYONE, "@everyone", 0, C.MANAGE_ROLES | C.SEND)})
    lone = actor_at(loose, plain, NOW)
    hierarchy_refusal(check_role_edit, lone, loose, loose.everyone, loose.everyone._replace(allow=C.SEND))
    hierarchy_refusal(check_role_create, lone, loose, Role(5, "x", 1, NONE))


def test_delete() -> None:
    check_role_delete(act(mod), COMMUNITY, ROLES[HELPER])
    hierarchy_refusal(check_role_delete, act(mod), COMMUNITY, ROLES[MOD])
    hierarchy_refusal(check_role_delete, act(admin), COMMUNITY, ROLES[FOUNDER])
    refused("bad_request", check_role_delete, act(owner), COMMUNITY, ROLES[EVERYONE])
    refused("forbidden", check_role_delete, act(helper), COMMUNITY, ROLES[MUTED])


def test_reorder() -> None:
    check_reorder(act(mod), COMMUNITY, {MUTED: 2, HELPER: 1})
    check_reorder(act(mod), COMMUNITY, {})
    check_reorder(act(mod), COMMUNITY, {MUTED: 1, SENIOR: 4})  # naming roles without moving them is fine
    check_reorder(act(owner), COMMUNITY, {FOUNDER: 1, MUTED: 6})
    assert refused("bad_request", check_reorder, act(owner), COMMUNITY, {MUTED: 2}).field == "positions"
    refused("bad_request", check_reorder, act(owner), COMMUNITY, {MUTED: 7, FOUNDER: 1})
    refused("bad_request", check_reorder, act(owner), COMMUNITY, {EVERYONE: 0})
    assert refused("not_found", check_reorder, act(owner), COMMUNITY, {999: 1}).field == "role_id"
    refused("forbidden", check_reorder, act(helper), COMMUNITY, {MUTED: 2, HELPER: 1})


# --- assigning roles ---------------------------------------------------------------------------


def test_assign_roles_below_to_members_below() -> None:
    check_role_assign(act(mod), COMMUNITY, plain, [MUTED])
    check_role_assign(act(mod), COMMUNITY, helper, [MUTED], [HELPER])  # taking away needs no bits
    check_role_assign(act(mod), COMMUNITY, mod, [], [MUTED])  # oneself
    hierarchy_refusal(check_role_assign, act(mod), COMMUNITY, plain, [MOD])
    hierarchy_refusal(check_role_assign, act(mod), COMMUNITY, plain, [SENIOR])
    e = hierarchy_refusal(check_role_assign, act(mod), COMMUNITY, senior, [MUTED])
    assert e.message == "you cannot change the roles of member 3 (position 4): they do not rank below you"
    hierarchy_refusal(check_role_assign, act(mod), COMMUNITY, Member(8, frozenset({MOD})), [MUTED])  # an equal
    e = hierarchy_refusal(check_role_assign, act(admin), COMMUNITY, owner, [], [MUTED])
    assert e.message == "you cannot change the roles of the owner: they do not rank below you"
    check_role_assign(act(admin), COMMUNITY, plain, [SENIOR, HELPER])
    check_role_assign(act(owner), COMMUNITY, owner, [FOUNDER])


def test_assign_grants_only_held_bits() -> None:
    # Helper holds mention_everyone, which Mod lacks: Mod can't hand Helper out, to anyone.
    e = refused("forbidden", check_role_assign, act(mod), COMMUNITY, plain, [HELPER])
    assert (e.missing, e.by) == ("mention_everyone", "you do not have mention_everyone")
    refused("forbidden", check_role_assign, act(mod), COMMUNITY, mod, [HELPER])


def test_assign_bad_roles() -> None:
    refused("bad_request", check_role_assign, act(owner), COMMUNITY, plain, [EVERYONE])
    refused("bad_request", check_role_assign, act(owner), COMMUNITY, plain, [], [EVERYONE])
    assert refused("not_found", check_role_assign, act(owner), COMMUNITY, plain, [999]).field == "role_id"
    refused("forbidden", check_role_assign, act(helper), COMMUNITY, plain, [MUTED])


# --- overwrites --------------------------------------------------------------------------------


def test_overwrite_edits_follow_the_hierarchy_and_held_bits() -> None:
    here = act(mod, CHANNEL)
    check_overwrite_edit(here, COMMUNITY, None, Overwrite(Target.ROLE, MUTED, deny=C.SEND))
    check_overwrite_edit(here, COMMUNITY, None, Overwrite(Target.ROLE, EVERYONE, deny=C.VIEW_CHANNEL))
    check_overwrite_edit(here, COMMUNITY, None, Overwrite(Target.MEMBER, plain.user_id, allow=C.MANAGE_MESSAGES), plain)
    check_overwrite_edit(here, COMMUNITY, None, Overwrite(Target.MEMBER, mod.user_id, deny=C.SEND), mod)
    hierarchy_refusal(check_overwrite_edit, here, COMMUNITY, None, Overwrite(Target.ROLE, MOD, deny=C.SEND))
    hierarchy_refusal(check_overwrite_edit, here, COMMUNITY, None, Overwrite(Target.ROLE, SENIOR, deny=C.SEND))
    hierarchy_refusal(check_overwrite_edit, here, COMMUNITY, None, Overwrite(Target.MEMBER, senior.user_id, deny=C.SEND), senior)
    # Not through an overwrite either: allowing or denying a bit one does not hold.
    e = refused("forbidden", check_overwrite_edit, here, COMMUNITY, None, Overwrite(Target.ROLE, HELPER, allow=C.MENTION_EVERYONE))
    assert e.missing == "mention_everyone"
    refused("forbidden", check_overwrite_edit, here, COMMUNITY, None, Overwrite(Target.ROLE, MUTED, deny=C.MANAGE_CHANNELS))
    refused("forbidden", check_overwrite_edit, here, COMMUNITY, None, Overwrite(Target.MEMBER, mod.user_id, allow=C.MENTION_EVERYONE), mod)
    # Only what changes is checked: an existing deny Mod couldn't set stays, or goes only with
    # someone who holds it.
    before = Overwrite(Target.ROLE, MUTED, deny=C.MENTION_EVERYONE)
    check_overwrite_edit(here, COMMUNITY, before, before._replace(deny=C.MENTION_EVERYONE | C.SEND))
    refused("forbidden", check_overwrite_edit, here, COMMUNITY, before, None)
    check_overwrite_edit(act(admin, CHANNEL), COMMUNITY, before, None)


def test_overwrite_edits_need_manage_roles_where_they_are() -> None:
    # Ops denies Mod manage_roles: not on the category, nor on its synced channel.
    for place in (ROOM, OPS_CHANNEL):
        e = refused("forbidden", check_overwrite_edit, act(mod, place), COMMUNITY, None, Overwrite(Target.ROLE, MUTED, deny=C.SEND))
        assert (e.missing, e.by) == ("manage_roles", "overwrite of role Mod on category Ops")
    check_overwrite_edit(act(senior, ROOM), COMMUNITY, None, Overwrite(Target.ROLE, MOD, allow=C.MANAGE_ROLES))


def test_overwrites_hold_channel_capabilities_only() -> None:
    for field, ow in (("allow", Overwrite(Target.ROLE, MUTED, allow=C.KICK)), ("deny", Overwrite(Target.ROLE, MUTED, deny=C.ADMINISTRATOR))):
        e = refused("bad_request", check_overwrite_edit, act(owner, CHANNEL), COMMUNITY, None, ow)
        assert e.field == field
    with pytest.raises(ValueError):
        check_overwrite_edit(act(owner, CHANNEL), COMMUNITY, None, None)
    with pytest.raises(ValueError):
        check_overwrite_edit(act(owner, CHANNEL), COMMUNITY, Overwrite(Target.ROLE, MUTED), Overwrite(Target.ROLE, HELPER))
    with pytest.raises(ValueError):
        check_overwrite_edit(act(owner, CHANNEL), COMMUNITY, None, Overwrite(Target.MEMBER, 6, deny=C.SEND))
    refused("not_found", check_overwrite_edit, act(owner, CHANNEL), COMMUNITY, None, Overwrite(Target.ROLE, 999, deny=C.SEND))


# --- acting on members -------------------------------------------------------------------------


def test_kick_and_time_out_need_the_capability_and_a_member_below() -> None:
    for cap in (C.KICK, C.MUTE):
        check_member_action(act(mod), COMMUNITY, plain, cap)
        check_member_action(act(mod), COMMUNITY, helper, cap)
        hierarchy_refusal(check_member_action, act(mod), COMMUNITY, senior, cap)
        hierarchy_refusal(check_member_action, act(mod), COMMUNITY, Member(8, frozenset({MOD})), cap)
        hierarchy_refusal(check_member_action, act(admin), COMMUNITY, owner, cap)
        check_member_action(act(admin), COMMUNITY, senior, cap)
        check_member_action(act(owner), COMMUNITY, admin, cap)
        assert refused("forbidden", check_member_action, act(helper), COMMUNITY, plain, cap).missing == cap.name.lower()
        refused("forbidden", check_member_action, act(timed_mod), COMMUNITY, plain, cap)
    e = hierarchy_refusal(check_member_action, act(mod), COMMUNITY, senior, C.MUTE)
    assert e.message == "you cannot time out member 3 (position 4): they do not rank below you"
    with pytest.raises(ValueError):
        check_member_action(act(owner), COMMUNITY, plain, C.SEND)


# --- positions ---------------------------------------------------------------------------------


def test_positions_after_insert_delete_move() -> None:
    assert positions_after_insert(COMMUNITY, 3) == {MUTED: 1, HELPER: 2, MOD: 4, SENIOR: 5, ADMIN: 6, FOUNDER: 7}
    assert positions_after_insert(COMMUNITY, 7) == {r: ROLES[r].position for r in ROLES if r != EVERYONE}
    assert positions_after_delete(COMMUNITY, HELPER) == {MUTED: 1, MOD: 2, SENIOR: 3, ADMIN: 4, FOUNDER: 5}
    assert positions_after_move(COMMUNITY, MUTED, 3) == {MUTED: 3, HELPER: 1, MOD: 2, SENIOR: 4, ADMIN: 5, FOUNDER: 6}
    assert positions_after_move(COMMUNITY, SENIOR, 2) == {MUTED: 1, HELPER: 3, MOD: 4, SENIOR: 2, ADMIN: 5, FOUNDER: 6}
    assert positions_after_move(COMMUNITY, MOD, 3) == {r: ROLES[r].position for r in ROLES if r != EVERYONE}


# --- the property: nothing an actor may do escalates -------------------------------------------

ACTOR_ID, OTHERS = 50, (51, 52, 53)
ELEVEN_BITS = st.sampled_from(range(1 << 11))  # every bit but ADMINISTRATOR, drawn uniformly
few_bits = st.tuples(ELEVEN_BITS, ELEVEN_BITS).map(lambda t: t[0] & t[1])  # each on one time in four
index = st.sampled_from(range(10))  # picks a role or a position, uniformly
ops = st.lists(
    st.one_of(
        st.tuples(st.just("create"), index, few_bits),
        st.tuples(st.just("edit"), index, few_bits, index, st.booleans()),
        st.tuples(st.just("delete"), index),
        st.tuples(st.just("swap"), index, index),
        st.tuples(st.just("assign"), st.sampled_from(range(5)), index, st.booleans()),
    ),
    max_size=25,
)


def apply(community: Community, members: dict[int, Member], op: tuple) -> tuple[Community, dict[int, Member]]:  # type: ignore[type-arg]
    """Check one operation as the actor; apply it if allowed. Returns the new state."""
    actor = actor_at(community, members[ACTOR_ID], NOW)
    roles = dict(community.roles)
    ids = sorted(roles)
    kind = op[0]

    def rebuilt(positions: dict[int, int]) -> Community:
        new = {i: roles[i]._replace(position=positions.get(i, roles[i].position)) for i in roles}
        return Community(community.id, community.owner_id, community.everyone_id, new)

    try:
        if kind == "create":
            new_id = max(ids) + 1
            role = Role(new_id, f"N{new_id}", op[1] % (len(roles) + 1) + 1, Capability(op[2]))
            check_role_create(actor, community, role)
            roles[new_id] = role
            return rebuilt({**positions_after_insert(community, role.position), new_id: role.position}), members
        if kind == "edit":
            before = roles[ids[op[1] % len(ids)]]
            position = 0 if before.id == community.everyone_id else op[3] % (len(roles) - 1) + 1
            after = before._replace(allow=before.allow ^ op[2] if op[4] else before.allow, position=position)
            check_role_edit(actor, community, before, after)
            moved = positions_after_move(community, before.id, position) if position else {}
            roles[before.id] = after
            return rebuilt(moved), members
        if kind == "delete":
            role = roles[ids[op[1] % len(ids)]]
            check_role_delete(actor, community, role)
            positions = positions_after_delete(community, role.id)
            del roles[role.id]
            return rebuilt(positions), {u: m._replace(role_ids=m.role_ids - {role.id}) for u, m in members.items()}
        others = ids[1:]  # @everyone is ids[0]
        if kind == "swap":
            a, b = (roles[others[i % len(others)]] for i in op[1:])
            check_reorder(actor, community, {a.id: b.position, b.id: a.position})
            return rebuilt({a.id: b.position, b.id: a.position}), members
        target = members[[ACTOR_ID, *OTHERS, community.owner_id][op[1]]]
        role_id = others[op[2] % len(others)]
        check_role_assign(actor, community, target, [role_id] if op[3] else [], [] if op[3] else [role_id])
        changed = target.role_ids | {role_id} if op[3] else target.role_ids - {role_id}
        return community, {**members, target.user_id: target._replace(role_ids=changed)}
    except ChatError:
        return community, members


@st.composite
def starts(draw: st.DrawFn) -> tuple[Community, dict[int, Member]]:
    n = draw(st.integers(1, 6))
    positions = draw(st.permutations(range(1, n + 1)))
    roles = {1: Role(1, "@everyone", 0, Capability(draw(few_bits)))}
    for i, position in enumerate(positions, 2):
        # Most roles manage roles, so that the actor usually may act; few administer.
        bits = draw(few_bits) | (C.MANAGE_ROLES if draw(st.integers(0, 3)) else 0)
        roles[i] = Role(i, f"R{i}", position, Capability(bits | (C.ADMINISTRATOR if draw(st.integers(0, 9)) == 0 else 0)))
    # The actor's highest role is near the top, so that there is room below it to act in, and
    # holds more than most.
    top_position = max(1, n - draw(st.integers(0, 2)))
    top = next(r.id for r in roles.values() if r.position == top_position)
    roles[top] = roles[top]._replace(allow=roles[top].allow | draw(ELEVEN_BITS))
    community = Community(1, 99, 1, roles)
    any_roles = st.lists(st.sampled_from(sorted(roles)), max_size=2).map(frozenset)
    low_roles = st.lists(st.sampled_from([r.id for r in roles.values() if r.position < top_position]), max_size=2).map(frozenset)
    members = {u: Member(u, draw(low_roles if u in OTHERS[:2] else any_roles)) for u in (*OTHERS, 99)}
    actor_roles = draw(any_roles) | {top}
    members[ACTOR_ID] = Member(ACTOR_ID, actor_roles, draw(st.sampled_from((0, 0, 0, 0, 0, 0, 0, NOW + 1))))
    return community, members


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(starts(), ops)
def test_no_allowed_sequence_escalates(start: tuple[Community, dict[int, Member]], operations: list[tuple]) -> None:  # type: ignore[type-arg]
    community, members = start
    held = {u: int(community_bits(community, m, NOW).bits) for u, m in members.items()}
    actor_rank = rank(community, members[ACTOR_ID])
    protected = [r for r in sorted(community.roles.values(), key=lambda r: r.position) if r.position >= actor_rank]
    superiors = {u for u, m in members.items() if u != ACTOR_ID and rank(community, m) >= actor_rank}
    own_top = community.roles_of(members[ACTOR_ID])[:1]
    for op in operations:
        community, members = apply(community, members, op)
        for u, m in members.items():
            gained = int(community_bits(community, m, NOW).bits) & ~held[u]
            assert not gained & ~held[ACTOR_ID], (u, op, gained)
        assert community.roles_of(members[ACTOR_ID])[:1] == [community.roles[r.id] for r in own_top]  # not lost, not moved up
        now_ranked = sorted(community.roles.values(), key=lambda r: r.position)
        top = now_ranked[len(now_ranked) - len(protected) :]
        assert [(r.id, r.name, r.allow) for r in top] == [(r.id, r.name, r.allow) for r in protected], op
        for u in superiors:  # untouched but for the roles deleted
            assert members[u].role_ids == start[1][u].role_ids & set(community.roles), (u, op)

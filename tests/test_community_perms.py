"""chatd.policy.community_perms: each step of the evaluation order by hand, the words of every
denial, and `effective` against a reference written here another way, over random communities.

The reference decides each capability bit on its own, layer by layer ("the last layer that
says something about this bit wins"), where the module computes whole bitsets step by step
and explains afterwards. The example count is fixed and the generation derandomized, so CI
draws the same communities every time; for a longer run by hand set CHATD_PERMS_EXAMPLES
(default 400 communities, each checked for every member at every channel, category and the
community level) and CHATD_PERMS_SEED=<int> to draw others, e.g.

    CHATD_PERMS_EXAMPLES=20000 pytest -q tests/test_community_perms.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from chatd.errors import ChatError
from chatd.policy.community_perms import (
    ALL,
    CHANNEL_CAPABILITIES,
    EVERYONE_DEFAULT,
    NONE,
    TIMED_OUT_KEEPS,
    WORDS,
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
    from_names,
    name_of,
    names,
    require,
)
from chatd.protocol.envelope import error_body
from chatd.protocol.registry import REGISTRY
from chatd.protocol.wirecheck import check_frame

C = Capability
NOW = 1_700_000_000_000
EXAMPLES = int(os.environ.get("CHATD_PERMS_EXAMPLES", "400"))
SEED = os.environ.get("CHATD_PERMS_SEED")

# --- the example community of docs/community-permissions.md ------------------------------------

EVERYONE, MUTED, HELPER, MOD, ADMIN = 100, 101, 102, 103, 104
OWNER, ADMIN_U, CAROL, DAVE, ERIN, FRANK = 1, 2, 3, 4, 5, 7
OPS = Category(
    10,
    "Ops",
    (
        Overwrite(Target.ROLE, EVERYONE, deny=C.VIEW_CHANNEL),
        Overwrite(Target.ROLE, MOD, allow=C.VIEW_CHANNEL),
        Overwrite(Target.ROLE, MUTED, deny=C.SEND),
    ),
)
ACME = Community(
    1,
    OWNER,
    EVERYONE,
    {
        EVERYONE: Role(EVERYONE, "@everyone", 0, EVERYONE_DEFAULT),
        MUTED: Role(MUTED, "Muted", 1, NONE),
        HELPER: Role(HELPER, "Helper", 2, C.MANAGE_MESSAGES),
        MOD: Role(MOD, "Mod", 3, C.MANAGE_MESSAGES | C.MENTION_EVERYONE | C.KICK | C.MUTE | C.MANAGE_CHANNELS),
        ADMIN: Role(ADMIN, "Admin", 4, C.ADMINISTRATOR),
    },
    {OPS.id: OPS},
)
GENERAL = Channel(20, "general", None, False, (Overwrite(Target.ROLE, MUTED, deny=C.SEND),))
DEPLOYS = Channel(21, "deploys", OPS.id, True, (Overwrite(Target.ROLE, EVERYONE, allow=C.VIEW_CHANNEL),))  # synced: ignored
INCIDENTS = Channel(
    22,
    "incidents",
    OPS.id,
    False,
    (Overwrite(Target.ROLE, HELPER, allow=C.VIEW_CHANNEL), Overwrite(Target.MEMBER, FRANK, deny=C.SEND)),
)

carol = Member(CAROL, frozenset({MOD, MUTED}))
dave = Member(DAVE)
erin = Member(ERIN, frozenset({HELPER}))
frank = Member(FRANK, frozenset({HELPER}))


def refusal(decision: Decision, capability: Capability) -> ChatError:
    with pytest.raises(ChatError) as e:
        require(decision, capability)
    return e.value


def bys(decision: Decision) -> list[str]:
    return [step.by for step in decision.steps]


# --- capabilities ------------------------------------------------------------------------------


def test_capabilities_have_words_and_names() -> None:
    assert set(WORDS) == set(Capability) and len(Capability) == 12
    assert names(ALL) == tuple(c.name.lower() for c in Capability)
    assert from_names(names(ALL)) == ALL and from_names([]) == NONE
    assert name_of(C.VIEW_CHANNEL) == "view_channel"
    with pytest.raises(ValueError, match="'fly'"):
        from_names(["send", "fly"])
    assert EVERYONE_DEFAULT == C.VIEW_CHANNEL | C.SEND | C.READ_HISTORY | C.INVITE
    assert TIMED_OUT_KEEPS <= CHANNEL_CAPABILITIES and not CHANNEL_CAPABILITIES & (C.KICK | C.MUTE | C.ADMINISTRATOR)


def test_bit_values_are_stable() -> None:
    # Stored in the database: renumbering one would change every community's permissions.
    assert [int(c) for c in Capability] == [1 << i for i in range(12)]
    assert int(C.SEND) == 2 and int(C.ADMINISTRATOR) == 2048


def test_community_must_be_well_formed() -> None:
    everyone = Role(5, "@everyone", 0, EVERYONE_DEFAULT)
    Community(1, 1, 5, {5: everyone, 6: Role(6, "a", 1, NONE)})
    bad = [
        {5: everyone._replace(position=1)},
        {6: Role(6, "a", 1, NONE)},
        {5: everyone, 6: Role(6, "a", 2, NONE)},
        {5: everyone, 6: Role(6, "a", 1, NONE), 7: Role(7, "b", 1, NONE)},
        {5: everyone, 7: Role(6, "a", 1, NONE)},
    ]
    for roles in bad:
        with pytest.raises(ValueError):
            Community(1, 1, 5, roles)
    with pytest.raises(TypeError):
        ACME.roles[9] = everyone  # type: ignore[index]


# --- each step of the order --------------------------------------------------------------------


def test_owner_has_everything_whatever_else_applies() -> None:
    owner = Member(OWNER, frozenset({MUTED}), timed_out_until=NOW + 10_000)
    for channel in (GENERAL, DEPLOYS, INCIDENTS):
        d = effective(ACME, owner, channel, NOW)
        assert d.bits == ALL and bys(d) == ["owner"] and d.valid_until_ms is None
    assert effective_in_community(ACME, owner, NOW).bits == ALL


def test_base_is_everyone_and_the_members_roles() -> None:
    d = effective(ACME, dave, GENERAL, NOW)
    assert d.bits == EVERYONE_DEFAULT and bys(d) == ["base: @everyone"]
    d = effective(ACME, erin, GENERAL, NOW)
    assert d.bits == EVERYONE_DEFAULT | C.MANAGE_MESSAGES
    assert bys(d) == ["base: @everyone and role Helper"]
    d = effective_in_community(ACME, carol, NOW)
    assert d.bits == EVERYONE_DEFAULT | ACME.roles[MOD].allow
    assert bys(d) == ["base: @everyone and roles Mod, Muted"]  # highest first


def test_unknown_role_ids_grant_nothing() -> None:
    ghost = Member(DAVE, frozenset({999, EVERYONE}))
    assert effective(ACME, ghost, GENERAL, NOW) == effective(ACME, dave, GENERAL, NOW)


def test_administrator_short_circuits_overwrites_and_time_out() -> None:
    admin = Member(ADMIN_U, frozenset({ADMIN, MUTED}), timed_out_until=NOW + 60_000)
    for channel in (GENERAL, DEPLOYS, INCIDENTS):
        d = effective(ACME, admin, channel, NOW)
        assert d.bits == ALL
        assert bys(d) == ["base: @everyone and roles Admin, Muted", "role Admin has administrator"]
    everyone_admin = Community(2, OWNER, 5, {5: Role(5, "@everyone", 0, C.ADMINISTRATOR)})
    assert bys(effective_in_community(everyone_admin, dave, NOW))[-1] == "@everyone has administrator"


def test_category_overwrites_everyone_then_roles_then_member() -> None:
    # @everyone loses view in Ops; Mod's overwrite gives it back; Muted's denies send.
    assert effective(ACME, dave, DEPLOYS, NOW).bits == NONE
    d = effective(ACME, carol, DEPLOYS, NOW)
    assert d.allows(C.VIEW_CHANNEL | C.READ_HISTORY | C.MANAGE_MESSAGES) and not d.allows(C.SEND)
    assert bys(d) == [
        "base: @everyone and roles Mod, Muted",
        "overwrite of @everyone on category Ops",
        "overwrite of role Muted on category Ops",
        "overwrite of role Mod on category Ops",
    ]
    assert [(s.added, s.removed) for s in d.steps[1:]] == [(NONE, C.VIEW_CHANNEL), (NONE, C.SEND), (C.VIEW_CHANNEL, NONE)]
    # The member's own overwrite comes after the roles', and an allow after every deny.
    own = Category(11, "Own", (Overwrite(Target.MEMBER, CAROL, allow=C.SEND), Overwrite(Target.ROLE, MUTED, deny=C.SEND)))
    community = Community(1, OWNER, EVERYONE, ACME.roles, {11: own})
    assert effective(community, carol, Channel(30, "c", 11), NOW).allows(C.SEND)
    assert not effective(community, erin._replace(role_ids=frozenset({MUTED})), Channel(30, "c", 11), NOW).allows(C.SEND)


@pytest.mark.parametrize("allower", (HELPER, MUTED))
def test_roles_aggregate_allow_beats_deny_whatever_the_positions(allower: int) -> None:
    denier = MUTED if allower == HELPER else HELPER
    channel = Channel(30, "c", None, False, (Overwrite(Target.ROLE, denier, deny=C.SEND), Overwrite(Target.ROLE, allower, allow=C.SEND)))
    both = Member(9, frozenset({HELPER, MUTED}))
    assert effective(ACME, both, channel, NOW).allows(C.SEND)
    # @everyone's overwrite comes first, so any role's overwrite overrides it.
    everyone_allows = Channel(31, "d", None, False, (Overwrite(Target.ROLE, EVERYONE, allow=C.MENTION_EVERYONE), Overwrite(Target.ROLE, denier, deny=C.MENTION_EVERYONE)))
    assert not effective(ACME, both, everyone_allows, NOW).allows(C.MENTION_EVERYONE)


def test_a_denial_by_several_roles_names_the_highest() -> None:
    channel = Channel(30, "c", None, False, (Overwrite(Target.ROLE, MUTED, deny=C.SEND), Overwrite(Target.ROLE, HELPER, deny=C.SEND)))
    e = refusal(effective(ACME, Member(9, frozenset({HELPER, MUTED})), channel, NOW), C.SEND)
    assert e.by == "overwrite of role Helper on channel #c"


def test_channel_overwrites_come_after_the_categorys() -> None:
    # Helper gets view in #incidents although Ops denies it to @everyone; frank's own deny of send.
    d = effective(ACME, erin, INCIDENTS, NOW)
    assert d.allows(C.VIEW_CHANNEL | C.SEND) and bys(d)[-1] == "overwrite of role Helper on channel #incidents"
    d = effective(ACME, frank, INCIDENTS, NOW)
    assert d.allows(C.VIEW_CHANNEL) and not d.allows(C.SEND)
    assert refusal(d, C.SEND).by == "overwrite of member 7 on channel #incidents"
    # A channel's @everyone allow overrides even a member's own deny on the category: the
    # category's layer is done before the channel's begins.
    cat = Category(11, "Quiet", (Overwrite(Target.MEMBER, DAVE, deny=C.SEND),))
    community = Community(1, OWNER, EVERYONE, ACME.roles, {11: cat})
    loud = Channel(30, "loud", 11, False, (Overwrite(Target.ROLE, EVERYONE, allow=C.SEND),))
    assert effective(community, dave, loud, NOW).allows(C.SEND)
    assert not effective(community, dave, loud._replace(synced=True), NOW).allows(C.SEND)


def test_synced_channel_follows_its_category_live() -> None:
    # DEPLOYS lists an @everyone allow of view, ignored because it is synced.
    assert effective(ACME, dave, DEPLOYS, NOW).bits == NONE
    assert effective(ACME, dave, DEPLOYS._replace(synced=False), NOW).allows(C.VIEW_CHANNEL)
    # Changing the category changes the synced channel, with nothing copied.
    opened = OPS._replace(overwrites=OPS.overwrites[1:])
    community = Community(1, OWNER, EVERYONE, ACME.roles, {OPS.id: opened})
    assert effective(community, dave, DEPLOYS, NOW).bits == EVERYONE_DEFAULT
    # A synced channel is evaluated as its category is.
    for member in (carol, dave, erin, frank):
        assert effective(ACME, member, DEPLOYS, NOW).bits == effective_in_category(ACME, member, OPS, NOW).bits


def test_channel_without_category_and_stray_category() -> None:
    assert effective(ACME, erin, GENERAL, NOW).bits == EVERYONE_DEFAULT | C.MANAGE_MESSAGES
    with pytest.raises(ValueError):
        effective(ACME, erin, Channel(30, "x", 99), NOW)


def test_time_out_keeps_view_and_history_until_it_ends() -> None:
    until = NOW + 90_000
    muted = Member(ERIN, frozenset({HELPER}), timed_out_until=until)
    d = effective(ACME, muted, GENERAL, NOW)
    assert d.bits == C.VIEW_CHANNEL | C.READ_HISTORY
    assert d.valid_until_ms == until
    assert bys(d)[-1] == "time-out until 2023-11-14T22:14:50Z"
    e = refusal(d, C.SEND)
    assert (e.code, e.missing, e.by) == ("forbidden", "send", "time-out until 2023-11-14T22:14:50Z")
    assert effective(ACME, muted, GENERAL, until - 1).bits == d.bits
    after = effective(ACME, muted, GENERAL, until)
    assert after.bits == EVERYONE_DEFAULT | C.MANAGE_MESSAGES and after.valid_until_ms is None
    # Community level: a timed-out moderator can't kick, invite or time others out.
    mod = Member(CAROL, frozenset({MOD}), timed_out_until=until)
    d = effective_in_community(ACME, mod, NOW)
    assert d.bits == TIMED_OUT_KEEPS and refusal(d, C.KICK).by.startswith("time-out until")


def test_time_out_does_not_explain_what_was_already_gone() -> None:
    d = effective(ACME, Member(CAROL, frozenset({MOD, MUTED}), timed_out_until=NOW + 1), DEPLOYS, NOW)
    assert refusal(d, C.SEND).by == "overwrite of role Muted on category Ops"
    assert refusal(d, C.KICK).by.startswith("time-out until")


def test_no_view_means_nothing() -> None:
    d = effective(ACME, dave, DEPLOYS, NOW)
    assert d.bits == NONE
    assert refusal(d, C.VIEW_CHANNEL).by == "overwrite of @everyone on category Ops"
    e = refusal(d, C.SEND)
    assert (e.missing, e.by) == ("send", "no view_channel on channel #deploys")
    assert e.message == "you cannot send messages in channel #deploys: no view_channel on channel #deploys"
    assert bys(d)[-1] == "no view_channel on channel #deploys"
    # ... but not at the community level, where overwrites may still grant view per channel.
    hidden = Community(2, OWNER, 5, {5: Role(5, "@everyone", 0, C.SEND | C.INVITE)})
    assert effective_in_community(hidden, dave, NOW).bits == C.SEND | C.INVITE


def test_overwrites_cannot_carry_community_capabilities() -> None:
    channel = Channel(30, "c", None, False, (Overwrite(Target.ROLE, EVERYONE, allow=C.KICK | C.ADMINISTRATOR | C.SEND, deny=C.INVITE),))
    assert effective(ACME, dave, channel, NOW).bits == EVERYONE_DEFAULT


def test_one_overwrite_allowing_and_denying_a_bit_allows_it() -> None:
    channel = Channel(30, "c", None, False, (Overwrite(Target.MEMBER, DAVE, allow=C.MENTION_EVERYONE | C.SEND, deny=C.SEND | C.MENTION_EVERYONE),))
    d = effective(ACME, dave, channel, NOW)
    assert d.allows(C.SEND | C.MENTION_EVERYONE)
    assert bys(d) == ["base: @everyone", "overwrite of member 4 on channel #c"]  # deny and allow: one step


def test_overwrites_for_others_are_ignored() -> None:
    channel = Channel(30, "c", None, False, (Overwrite(Target.MEMBER, ERIN, deny=C.SEND), Overwrite(Target.ROLE, MOD, deny=C.SEND), Overwrite(Target.MEMBER, MOD, deny=C.SEND)))
    assert effective(ACME, Member(CAROL), channel, NOW).bits == EVERYONE_DEFAULT
    assert effective(ACME, dave, channel, NOW).bits == EVERYONE_DEFAULT


# --- denials explain themselves ----------------------------------------------------------------


def test_never_granted_names_the_base() -> None:
    assert refusal(effective(ACME, dave, GENERAL, NOW), C.MENTION_EVERYONE).by == "@everyone has no mention_everyone"
    assert refusal(effective(ACME, erin, GENERAL, NOW), C.KICK).by == "@everyone and role Helper have no kick"
    e = refusal(effective_in_community(ACME, Member(9, frozenset({HELPER, MUTED})), NOW), C.MANAGE_ROLES)
    assert e.by == "@everyone and roles Helper, Muted have no manage_roles"
    assert e.message == "you cannot manage roles and permissions in the community: @everyone and roles Helper, Muted have no manage_roles"


def test_refusal_carries_missing_and_by() -> None:
    d = effective(ACME, carol, GENERAL, NOW)
    e = refusal(d, C.SEND)
    assert (e.code, e.missing, e.by) == ("forbidden", "send", "overwrite of role Muted on channel #general")
    assert e.message == "you cannot send messages in channel #general: overwrite of role Muted on channel #general"
    # Several bits asked for: the first missing one is named.
    assert refusal(d, C.VIEW_CHANNEL | C.SEND | C.ADMINISTRATOR).missing == "send"
    require(d, C.VIEW_CHANNEL | C.KICK)
    assert d.denied_by(C.VIEW_CHANNEL) is None


def test_denial_on_the_wire() -> None:
    cmd = next(c.wire for c in REGISTRY.commands.values() if c.kind == "request" and c.implemented and "forbidden" in c.errors)
    err = refusal(effective(ACME, carol, GENERAL, NOW), C.SEND)
    body = error_body(cmd, "c1", err)
    assert body["error"] == {
        "code": "forbidden",
        "message": "you cannot send messages in channel #general: overwrite of role Muted on channel #general",
        "missing": "send",
        "by": "overwrite of role Muted on channel #general",
    }
    assert check_frame(body) == []
    assert "missing" not in error_body(cmd, "c2", ChatError("forbidden", "no"))["error"]


def test_trace_is_a_chain() -> None:
    for member in (carol, dave, erin, frank, Member(ERIN, frozenset({HELPER}), NOW + 5)):
        for channel in (GENERAL, DEPLOYS, INCIDENTS):
            check_chain(effective(ACME, member, channel, NOW))


def check_chain(d: Decision) -> None:
    bits = NONE
    for step in d.steps:
        assert step.added or step.removed, step
        assert not step.added & bits and step.removed & bits == step.removed
        bits = (bits & ~step.removed) | step.added
        assert bits == step.bits
    assert bits == d.bits


def test_module_imports_neither_trio_nor_sqlite() -> None:
    code = (
        "import sys, chatd.policy.community_perms, chatd.policy.community_roles; "
        "print(sorted(m for m in ('trio', 'sqlite3', '_sqlite3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- against a reference, over random communities ---------------------------------------------

BITS = list(Capability)
ROLE_IDS = range(1001, 1008)
USERS = range(1, 6)
TIMES = (0, 0, 0, 0, NOW - 1, NOW, NOW + 1, NOW + 3_600_000)  # a time-out ended, ends now, runs


def reference(community: Community, member: Member, layers: list[tuple[tuple[Overwrite, ...], str]], place: str, needs_view: bool) -> tuple[int, dict[int, str]]:
    """Bit by bit: whether the member has it, and for each missing bit where it was lost."""
    everyone = community.roles[community.everyone_id]
    mine = [r for r in community.roles.values() if r.id in member.role_ids and r.id != everyone.id]
    if member.user_id == community.owner_id or any(r.allow & C.ADMINISTRATOR for r in [everyone, *mine]):
        return int(ALL), {}
    mine_ids = {r.id for r in mine}

    def groups(overwrites: tuple[Overwrite, ...]) -> list[list[tuple[Overwrite, str]]]:
        def label(ow: Overwrite) -> str:
            if ow.target is Target.MEMBER:
                return f"member {ow.target_id}"
            return "@everyone" if ow.target_id == everyone.id else f"role {community.roles[ow.target_id].name}"

        firsts = [ow for ow in overwrites if ow.target is Target.ROLE and ow.target_id == everyone.id]
        of_roles = [ow for ow in overwrites if ow.target is Target.ROLE and ow.target_id in mine_ids]
        of_roles.sort(key=lambda ow: -community.roles[ow.target_id].position)
        own = [ow for ow in overwrites if ow.target is Target.MEMBER and ow.target_id == member.user_id]
        return [[(ow, label(ow)) for ow in g] for g in (firsts, of_roles, own)]

    has: dict[int, bool] = {}
    why: dict[int, str | None] = {}
    for bit in BITS:
        has[bit] = any(r.allow & bit for r in [everyone, *mine])
        why[bit] = None
        if bit & CHANNEL_CAPABILITIES:
            for overwrites, where in layers:
                for group in groups(overwrites):
                    deniers = [lbl for ow, lbl in group if ow.deny & bit]
                    if any(ow.allow & bit for ow, _ in group):
                        has[bit] = True
                    elif deniers and has[bit]:
                        has[bit], why[bit] = False, f"overwrite of {deniers[0]} on {where}"
        if member.timed_out_until > NOW and not bit & TIMED_OUT_KEEPS and has[bit]:
            has[bit], why[bit] = False, time.strftime("time-out until %Y-%m-%dT%H:%M:%SZ", time.gmtime(member.timed_out_until // 1000))
    if needs_view and not has[C.VIEW_CHANNEL]:
        for bit in BITS:
            if has[bit]:
                has[bit], why[bit] = False, f"no view_channel on {place}"
    bits = sum(int(bit) for bit in BITS if has[bit])
    roles_named = [r.name for r in sorted(mine, key=lambda r: -r.position)]
    base = "@everyone has" if not mine else "@everyone and " + ("role " if len(mine) == 1 else "roles ") + ", ".join(roles_named) + " have"
    return bits, {int(bit): why[bit] or f"{base} no {name_of(bit)}" for bit in BITS if not has[bit]}


# Uniform draws: hypothesis's integers lean to small values, which would leave the high bits off.
TWELVE_BITS = st.sampled_from(range(1 << 12))


def capability_bits(admin_odds: int) -> st.SearchStrategy[Capability]:
    """Random bits without ADMINISTRATOR, then ADMINISTRATOR one time in `admin_odds`."""
    plain = int(ALL & ~C.ADMINISTRATOR)
    return st.tuples(TWELVE_BITS, st.sampled_from(range(admin_odds))).map(
        lambda t: Capability(t[0] & plain | (C.ADMINISTRATOR if t[1] == 7 else 0))
    )


# Bits of an overwrite: each on one time in four, so that overwrites meet on the same bits
# but seldom hold many; community bits too (they must be ignored).
overwrite_bits = st.tuples(TWELVE_BITS, TWELVE_BITS).map(lambda t: Capability(t[0] & t[1]))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Community, list[Member], list[Channel]]:
    n = draw(st.integers(0, len(ROLE_IDS)))
    positions = draw(st.permutations(range(1, n + 1)))
    roles = {1000: Role(1000, "@everyone", 0, draw(capability_bits(40)))}
    for role_id, position in zip(ROLE_IDS, positions):
        roles[role_id] = Role(role_id, f"R{role_id}", position, draw(capability_bits(30)))
    # Whom overwrites are for: @everyone, the roles, a role that is gone (1999); the users,
    # and a role's id as a member target (1001).
    targets = [(Target.ROLE, i) for i in (1000, *roles, 1999)] + [(Target.MEMBER, i) for i in (*USERS, 1001)]
    overwrites = st.lists(
        st.tuples(st.sampled_from(targets), overwrite_bits, overwrite_bits).map(lambda t: Overwrite(*t[0], t[1], t[2])),
        max_size=6,
    ).map(tuple)
    categories = {cid: Category(cid, f"Cat{cid}", draw(overwrites)) for cid in range(50, 50 + draw(st.integers(0, 2)))}
    community = Community(7, draw(st.sampled_from([*USERS, 97, 98, 99])), 1000, roles, categories)
    channels = [
        Channel(cid, f"ch{cid}", draw(st.sampled_from([None, *categories])), draw(st.booleans()), draw(overwrites))
        for cid in range(60, 60 + draw(st.integers(1, 3)))
    ]
    members = [
        Member(uid, frozenset(draw(st.lists(st.sampled_from([*roles, 1999]), max_size=5))), draw(st.sampled_from(TIMES)))
        for uid in USERS
    ]
    return community, members, channels


def check_against_reference(d: Decision, want: tuple[int, dict[int, str]]) -> None:
    bits, why = want
    assert int(d.bits) == bits, (d, names(bits))
    for bit in BITS:
        if bits & bit:
            assert d.denied_by(bit) is None
        else:
            assert d.denied_by(bit) == why[int(bit)], (bit, d)
    check_chain(d)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not SEED, database=None, suppress_health_check=list(HealthCheck))
@given(worlds())
def _effective_matches_reference(world: tuple[Community, list[Member], list[Channel]]) -> None:
    community, members, channels = world
    for member in members:
        d = effective_in_community(community, member, NOW)
        check_against_reference(d, reference(community, member, [], "the community", False))
        for category in community.categories.values():
            place = f"category {category.name}"
            d = effective_in_category(community, member, category, NOW)
            check_against_reference(d, reference(community, member, [(category.overwrites, place)], place, True))
        for channel in channels:
            place = f"channel #{channel.name}"
            layers = []
            if channel.category_id is not None:
                category = community.categories[channel.category_id]
                layers.append((category.overwrites, f"category {category.name}"))
            if not channel.synced:
                layers.append((channel.overwrites, place))
            d = effective(community, member, channel, NOW)
            check_against_reference(d, reference(community, member, layers, place, True))
            assert d.valid_until_ms in (None, member.timed_out_until)


def test_effective_matches_reference() -> None:
    (seed(int(SEED))(_effective_matches_reference) if SEED else _effective_matches_reference)()

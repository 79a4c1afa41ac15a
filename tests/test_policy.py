"""chatd.policy.roles: every (kind, role, capability) against an explicit table, mutes,
server admins, outranking, and properties that hold for any actor."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.errors import ChatError
from chatd.policy import roles
from chatd.policy.roles import DM, GROUP, POLICIES, ROLES, ROOM, Actor, allowed, rank, require, require_outranks

NOW = 1_700_000_000_000
KINDS = ("dm", "group", "room")

# Who has each capability, per kind: m = member, a = admin, o = owner, - = no one.
#                        dm     group  room
TABLE = {
    "read":            ("mao", "mao", "mao"),
    "send":            ("mao", "mao", "mao"),
    "mention_all":     ("---", "-ao", "-ao"),
    "recall_any":      ("---", "-ao", "-ao"),
    "update":          ("---", "-ao", "-ao"),
    "invite":          ("---", "mao", "mao"),
    "invite_direct":   ("---", "-ao", "-ao"),
    "decide_requests": ("---", "-ao", "-ao"),
    "kick":            ("---", "-ao", "-ao"),
    "mute_member":     ("---", "-ao", "-ao"),
    "set_role":        ("---", "--o", "--o"),
    "transfer_owner":  ("---", "--o", "--o"),
    "disband":         ("---", "--o", "--o"),
    "view_requests":   ("---", "-ao", "-ao"),
}  # fmt: skip
# In a DM both users are members (the store gives no other role there); ranks still
# order, so a higher role never has fewer capabilities, in DMs too.


def expected(kind: str, role: str, capability: str) -> bool:
    return TABLE[capability][KINDS.index(kind)][ROLES.index(role)] != "-"


def code_of(policy: roles.Policy, actor: Actor, capability: str, now: int = NOW) -> str | None:
    try:
        require(policy, actor, capability, now)
    except ChatError as e:
        return e.code
    return None


def test_table_covers_every_capability() -> None:
    assert set(TABLE) == set(roles.CAPABILITIES)
    assert set(POLICIES) == set(KINDS)


@pytest.mark.parametrize("capability", sorted(TABLE))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_role_capability(kind: str, role: str, capability: str) -> None:
    policy = POLICIES[kind]
    want = expected(kind, role, capability)
    assert code_of(policy, Actor(1, role), capability) == (None if want else "forbidden")
    assert allowed(policy, Actor(1, role), capability, NOW) is want


@pytest.mark.parametrize("capability", sorted(TABLE))
@pytest.mark.parametrize("kind", KINDS)
def test_non_member_is_not_member(kind: str, capability: str) -> None:
    with pytest.raises(ChatError) as e:
        require(POLICIES[kind], Actor(1, None), capability, NOW)
    assert e.value.code == "not_member"
    assert e.value.message == POLICIES[kind].not_member_message


def test_not_member_names_the_request_field() -> None:
    assert code_of(GROUP, Actor(1, None), "read") == "not_member"
    for policy, field in ((GROUP, "group_id"), (ROOM, "room_id"), (DM, None)):
        with pytest.raises(ChatError) as e:
            require(policy, Actor(1, None), "read", NOW)
        assert e.value.field == field


def test_forbidden_names_capability_and_roles() -> None:
    cases = [
        (GROUP, "member", "kick", "only the group's owner and admins can kick members"),
        (GROUP, "admin", "set_role", "only the group's owner can change members' roles"),
        (GROUP, "member", "update", "only the group's owner and admins can change the group's name, avatar or description"),
        (ROOM, "admin", "disband", "only the room's owner, or a server admin, can disband the room"),
        (ROOM, "member", "mention_all", "only the room's owner and admins, or a server admin, can mention everyone"),
        (DM, "member", "kick", "no one can kick members in this conversation"),
    ]
    for policy, role, capability, message in cases:
        with pytest.raises(ChatError) as e:
            require(policy, Actor(1, role), capability, NOW)
        assert (e.value.code, e.value.message) == ("forbidden", message)


def test_unknown_capability_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        require(GROUP, Actor(1, "owner"), "delete_everything", NOW)
    with pytest.raises(ValueError):
        allowed(GROUP, Actor(1, "owner"), "delete_everything", NOW)


# --- mutes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_muted_member_cannot_send(kind: str) -> None:
    actor = Actor(1, "member", muted_until=NOW + 61_500)
    with pytest.raises(ChatError) as e:
        require(POLICIES[kind], actor, "send", NOW)
    assert e.value.code == "muted"
    assert e.value.retry_after_ms == 61_500
    assert "62 more s" in e.value.message
    assert POLICIES[kind].noun in e.value.message
    assert allowed(POLICIES[kind], actor, "read", NOW)


def test_mute_ends_at_its_time() -> None:
    actor = Actor(1, "member", muted_until=NOW + 1)
    assert code_of(GROUP, actor, "send", NOW) == "muted"
    assert code_of(GROUP, actor, "send", NOW + 1) is None
    assert code_of(GROUP, actor, "send", NOW + 2) is None


def test_mute_holds_for_owners_and_server_admins_but_only_for_send() -> None:
    owner = Actor(1, "owner", server_admin=True, muted_until=NOW + 1000)
    for policy in (GROUP, ROOM):
        assert code_of(policy, owner, "send") == "muted"
        assert code_of(policy, owner, "kick") is None
        assert code_of(policy, owner, "mention_all") is None


def test_not_member_before_muted() -> None:
    assert code_of(GROUP, Actor(1, None, muted_until=NOW + 1000), "send") == "not_member"


# --- server admins -------------------------------------------------------------------------


@pytest.mark.parametrize("capability", sorted(TABLE))
def test_server_admin_in_rooms(capability: str) -> None:
    outsider = Actor(1, None, server_admin=True)
    member = Actor(1, "member", server_admin=True)
    member_level = TABLE[capability][2] == "mao"
    assert code_of(ROOM, outsider, capability) == ("not_member" if member_level else None)
    assert code_of(ROOM, member, capability) is None
    assert rank(ROOM, outsider) == rank(ROOM, member) == roles.SERVER_ADMIN_RANK > rank(ROOM, Actor(2, "owner"))


@pytest.mark.parametrize("capability", sorted(TABLE))
@pytest.mark.parametrize("role", (None, *ROLES))
def test_server_admin_is_ordinary_in_groups_and_dms(role: str | None, capability: str) -> None:
    for policy in (GROUP, DM):
        assert code_of(policy, Actor(1, role, server_admin=True), capability) == code_of(policy, Actor(1, role), capability)
        assert rank(policy, Actor(1, role, server_admin=True)) == rank(policy, Actor(1, role))


# --- outranking ----------------------------------------------------------------------------


@pytest.mark.parametrize("capability", sorted(roles.OUTRANK_VERBS))
@pytest.mark.parametrize("kind", ("group", "room"))
def test_outrank_table(kind: str, capability: str) -> None:
    policy = POLICIES[kind]
    may = {("admin", "member"), ("owner", "member"), ("owner", "admin")}
    for actor_role in (None, *ROLES):
        for target_role in ROLES:
            ok = (actor_role, target_role) in may
            try:
                require_outranks(policy, Actor(1, actor_role), target_role, capability)
                assert ok, (actor_role, target_role)
            except ChatError as e:
                assert not ok, (actor_role, target_role)
                assert e.code == "forbidden"
                assert f"{policy.noun} {target_role}" in e.message
                assert (f"a {policy.noun} {actor_role}" if actor_role else "a non-member") in e.message


def test_outrank_messages() -> None:
    with pytest.raises(ChatError, match="^a group admin cannot kick a group owner$"):
        require_outranks(GROUP, Actor(1, "admin"), "owner", "kick")
    with pytest.raises(ChatError, match="^a room admin cannot mute a room admin$"):
        require_outranks(ROOM, Actor(1, "admin"), "admin", "mute_member")
    with pytest.raises(ChatError, match="^a room owner cannot change the role of a server admin$"):
        require_outranks(ROOM, Actor(1, "owner"), "member", "set_role", target_server_admin=True)


def test_server_admin_outranks_room_owner_not_group_owner() -> None:
    for role in (None, *ROLES):
        require_outranks(ROOM, Actor(1, role, server_admin=True), "owner", "kick")
    with pytest.raises(ChatError) as e:
        require_outranks(GROUP, Actor(1, "admin", server_admin=True), "owner", "kick")
    assert e.value.code == "forbidden"
    # A server admin among a group's members is ranked by the role alone.
    require_outranks(GROUP, Actor(1, "owner"), "member", "kick", target_server_admin=True)
    with pytest.raises(ChatError):
        require_outranks(ROOM, Actor(1, "owner", server_admin=True), "member", "kick", target_server_admin=True)


def test_outrank_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        require_outranks(GROUP, Actor(1, "owner"), "member", "read")
    with pytest.raises(ValueError):
        require_outranks(GROUP, Actor(1, "owner"), "king", "kick")


def test_valid_role() -> None:
    assert ROLES == ("member", "admin", "owner")
    assert all(roles.valid_role(r) for r in ROLES)
    assert not any(roles.valid_role(r) for r in ("", "Owner", "visitor", None, 1))


def test_policies_are_frozen() -> None:
    with pytest.raises(Exception):
        GROUP.kind = "room"  # type: ignore[misc]
    with pytest.raises(TypeError):
        GROUP.needs["kick"] = "member"  # type: ignore[index]
    with pytest.raises(ValueError):
        roles.Policy("x", "x", {"fly": "member"}, False, "no")


# --- properties ----------------------------------------------------------------------------

kinds = st.sampled_from(KINDS)
capabilities = st.sampled_from(sorted(TABLE))
member_roles = st.sampled_from(ROLES)
times = st.integers(min_value=0, max_value=2 * NOW)
actors = st.builds(Actor, st.integers(1, 10), st.one_of(st.none(), member_roles), st.booleans(), st.one_of(st.just(0), times))


def caps(kind: str, role: str | None, server_admin: bool) -> set[str]:
    return {c for c in TABLE if allowed(POLICIES[kind], Actor(1, role, server_admin), c, NOW)}


@given(kinds, st.sampled_from((None, *ROLES)), st.sampled_from((None, *ROLES)), st.booleans())
def test_higher_role_never_has_fewer_capabilities(kind: str, low: str | None, high: str | None, server_admin: bool) -> None:
    order = (None, *ROLES)
    if order.index(low) > order.index(high):
        low, high = high, low
    assert caps(kind, low, server_admin) <= caps(kind, high, server_admin)
    assert caps(kind, low, False) <= caps(kind, low, True)


@given(kinds, actors, capabilities, times)
def test_require_and_allowed_agree(kind: str, actor: Actor, capability: str, now: int) -> None:
    policy = POLICIES[kind]
    code = code_of(policy, actor, capability, now)
    assert code in (None, "not_member", "forbidden", "muted")
    assert allowed(policy, actor, capability, now) is (code is None)


@given(kinds.filter(lambda k: k != "dm"), member_roles, member_roles, st.booleans(), st.booleans(), st.sampled_from(sorted(roles.OUTRANK_VERBS)))
def test_outranking_is_never_mutual(kind: str, role_a: str, role_b: str, admin_a: bool, admin_b: bool, capability: str) -> None:
    policy = POLICIES[kind]

    def outranks(actor: Actor, target: Actor) -> bool:
        try:
            require_outranks(policy, actor, target.role or "", capability, target_server_admin=target.server_admin)
        except ChatError:
            return False
        return True

    a, b = Actor(1, role_a, admin_a), Actor(2, role_b, admin_b)
    assert not (outranks(a, b) and outranks(b, a))
    assert outranks(a, b) is (rank(policy, a) > rank(policy, b))


def test_module_imports_neither_trio_nor_sqlite() -> None:
    code = "import sys, chatd.policy.roles; print(sorted(m for m in ('trio', 'sqlite3', '_sqlite3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_announcements_are_read_by_everyone_and_written_by_server_admins():
    from chatd.policy.roles import BROADCAST, READ, RECALL_ANY, SEND

    someone, admin = Actor(1, "member"), Actor(2, "member", server_admin=True)
    assert allowed(BROADCAST, someone, READ, NOW) and allowed(BROADCAST, admin, READ, NOW)
    for capability in (SEND, RECALL_ANY):
        assert not allowed(BROADCAST, someone, capability, NOW) and allowed(BROADCAST, admin, capability, NOW)

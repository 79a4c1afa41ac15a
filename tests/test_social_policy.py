"""The social rules (chatd.policy.social), as plain functions: blocks, DM privacy, friend
requests, mentions, typing and presence. No server, no database."""

from __future__ import annotations

import itertools

import pytest

from chatd.policy import social as p
from chatd.policy.social import Action, Facts


def test_nothing_set_allows_everything():
    for action in Action:
        assert p.may(action, Facts()).ok


@pytest.mark.parametrize("action", list(Action))
def test_a_block_by_the_target_is_the_neutral_refusal(action):
    got = p.may(action, Facts(target_blocks_actor=True, friends=True, whitelisted=True, engaged=True))
    assert (got.ok, got.code, got.message) == (False, p.NEUTRAL_CODE, p.NEUTRAL_MESSAGE)


def test_a_block_answers_exactly_what_privacy_answers():
    blocked = p.may(Action.DM, Facts(target_blocks_actor=True))
    private = p.may(Action.DM, Facts(policy=p.FRIENDS))
    assert (blocked.code, blocked.message) == (private.code, private.message)
    blocked = p.may(Action.FRIEND_REQUEST, Facts(target_blocks_actor=True))
    closed = p.may(Action.FRIEND_REQUEST, Facts(accepts_friend_requests=False))
    assert blocked == closed
    assert p.may(Action.GROUP_INVITE, Facts(target_blocks_actor=True)) == p.may(Action.GROUP_INVITE, Facts(policy=p.WHITELIST))


def test_the_blocker_is_told_they_blocked():
    for action in (Action.DM, Action.CALL, Action.GROUP_INVITE, Action.FRIEND_REQUEST):
        got = p.may(action, Facts(actor_blocks_target=True))
        assert (got.ok, got.code) == (False, "forbidden")
    # Editing or reacting to old messages in a DM with someone you blocked is yours to do.
    assert p.may(Action.DM_CHANGE, Facts(actor_blocks_target=True)).ok


@pytest.mark.parametrize(
    "policy,facts,ok",
    [
        (p.EVERYONE, Facts(), True),
        (p.FRIENDS, Facts(), False),
        (p.FRIENDS, Facts(friends=True), True),
        (p.FRIENDS, Facts(whitelisted=True), False),
        (p.WHITELIST, Facts(friends=True), False),
        (p.WHITELIST, Facts(whitelisted=True), True),
        (p.DEPARTMENT, Facts(), False),
        (p.DEPARTMENT, Facts(same_department=False), False),
        (p.DEPARTMENT, Facts(same_department=True), True),
        ("nonsense", Facts(friends=True, whitelisted=True), False),
    ],
)
def test_policies(policy, facts, ok):
    facts = facts._replace(policy=policy)
    for action in (Action.DM, Action.CALL, Action.GROUP_INVITE):
        assert p.may(action, facts).ok is ok, action
    # The DM policy governs neither friend requests nor changes to an existing DM.
    assert p.may(Action.FRIEND_REQUEST, facts).ok
    assert p.may(Action.DM_CHANGE, facts).ok


def test_a_dm_the_target_wrote_in_stays_open():
    refused = p.may(Action.DM, Facts(policy=p.FRIENDS))
    assert not refused.ok and refused.needs_engaged
    assert p.may(Action.DM, Facts(policy=p.FRIENDS, engaged=True)).ok
    assert not p.may(Action.CALL, Facts(policy=p.FRIENDS, engaged=True)).ok  # a call is started anew
    assert not p.may(Action.DM, Facts(policy=p.FRIENDS, engaged=True, target_blocks_actor=True)).ok


def test_every_combination_refuses_only_with_the_two_codes():
    fields = ("target_blocks_actor", "actor_blocks_target", "friends", "whitelisted", "engaged", "accepts_friend_requests")
    for policy in p.POLICIES:
        for bits in itertools.product((False, True), repeat=len(fields)):
            facts = Facts(policy=policy, **dict(zip(fields, bits)))
            for action in Action:
                got = p.may(action, facts)
                assert got.ok or got.code in (p.NEUTRAL_CODE, "forbidden")
                if got.code == "forbidden":
                    assert facts.actor_blocks_target  # only the blocker hears of their block
                if facts.target_blocks_actor and not facts.actor_blocks_target:
                    assert got == p.NEUTRAL or (got.code, got.message) == (p.NEUTRAL_CODE, p.NEUTRAL_MESSAGE)


def test_mentions_typing_presence():
    assert p.mention_notifies(False) and not p.mention_notifies(True)
    assert p.hears(False) and not p.hears(True)


def test_settable_policy():
    assert p.settable_policy(p.FRIENDS, has_directory=False) is None
    assert p.settable_policy(p.DEPARTMENT, has_directory=True) is None
    assert "directory" in p.settable_policy(p.DEPARTMENT, has_directory=False)
    assert p.settable_policy("nobody", has_directory=False)

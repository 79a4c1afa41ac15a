"""The social graph's rules: who may reach whom (DMs, calls, group invites, friend requests),
whose mentions notify, who hears whose typing and presence. Pure: no trio, no sqlite3; the
facts are loaded by chatd.store.social and the refusal is raised by chatd.core.social_gate.

A refusal caused by a block is the very refusal the recipient's privacy settings give
(NEUTRAL: one code, one message), so the blocked side cannot tell a block from a setting.
Refusing someone you blocked yourself is not neutral: you know you blocked them.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

# Who may start a DM or a call with a user and add them to a group.
EVERYONE, FRIENDS, WHITELIST, DEPARTMENT = "everyone", "friends", "whitelist", "department"
POLICIES = (EVERYONE, FRIENDS, WHITELIST, DEPARTMENT)
DEFAULT_POLICY = EVERYONE

NEUTRAL_CODE = "privacy_restricted"
NEUTRAL_MESSAGE = "this user does not accept this from you"
YOU_BLOCKED_MESSAGE = "you blocked this user: unblock them first"


class Action(Enum):
    DM = "dm"  # send a DM (the first message starts it)
    DM_CHANGE = "dm_change"  # edit or react in an existing DM: only blocks matter
    CALL = "call"  # start a call
    GROUP_INVITE = "group_invite"  # add to a group (invite or create with)
    FRIEND_REQUEST = "friend_request"


# The actions a user's DM privacy policy governs.
_BY_POLICY = frozenset({Action.DM, Action.CALL, Action.GROUP_INVITE})


class Facts(NamedTuple):
    """What is known about an actor reaching a target (loaded by chatd.store.social.facts)."""

    target_blocks_actor: bool = False
    actor_blocks_target: bool = False
    friends: bool = False
    whitelisted: bool = False  # the actor is on the target's DM whitelist
    policy: str = DEFAULT_POLICY  # the target's
    accepts_friend_requests: bool = True  # the target's
    same_department: bool | None = None  # None: not loaded (only the department policy needs it)
    engaged: bool = False  # the target has written in an existing DM with the actor


class Decision(NamedTuple):
    ok: bool
    code: str = ""
    message: str = ""
    # Would the answer change if the target's engagement in an existing DM were known?
    # (chatd.core.social_gate loads that fact only then: it costs a query.)
    needs_engaged: bool = False


ALLOW = Decision(True)
NEUTRAL = Decision(False, NEUTRAL_CODE, NEUTRAL_MESSAGE)
YOU_BLOCKED = Decision(False, "forbidden", YOU_BLOCKED_MESSAGE)


def policy_allows(policy: str, f: Facts) -> bool:
    """Does the target's DM privacy policy let this actor in?"""
    if policy == EVERYONE:
        return True
    if policy == FRIENDS:
        return f.friends
    if policy == WHITELIST:
        return f.whitelisted
    if policy == DEPARTMENT:
        return bool(f.same_department)
    return False  # an unknown policy lets nobody in


def may(action: Action, f: Facts) -> Decision:
    """May the actor do `action` to the target? Blocks first (either way), then the target's
    settings. A DM the target has written in stays open whatever their policy."""
    if f.actor_blocks_target and action is not Action.DM_CHANGE:
        return YOU_BLOCKED
    if f.target_blocks_actor:
        return NEUTRAL
    if action is Action.FRIEND_REQUEST:
        return ALLOW if f.accepts_friend_requests else NEUTRAL
    if action in _BY_POLICY and not policy_allows(f.policy, f):
        if action is Action.DM:
            return ALLOW if f.engaged else Decision(False, NEUTRAL_CODE, NEUTRAL_MESSAGE, needs_engaged=True)
        return NEUTRAL
    return ALLOW


def mention_notifies(mentioned_blocks_sender: bool) -> bool:
    """A mention notifies (badge, `mentioned`) unless the mentioned user blocked the sender."""
    return not mentioned_blocks_sender


def hears(listener_blocks_speaker: bool) -> bool:
    """Typing and presence of a speaker reach a listener unless the listener blocked them."""
    return not listener_blocks_speaker


def settable_policy(policy: str, has_directory: bool) -> str | None:
    """Why this policy cannot be set, or None."""
    if policy not in POLICIES:
        return f"policy must be one of {', '.join(POLICIES)}"
    if policy == DEPARTMENT and not has_directory:
        return "the department policy needs the enterprise directory, which this server does not have yet"
    return None

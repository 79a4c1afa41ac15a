"""The one gate of the social rules: every path that starts a conversation or reaches a user asks
it (a DM send, through the DM kind's `gate`; DM edits and reactions; group invites and groups
created with members; friend requests; calls once they exist). It loads the facts
(chatd.store.social) and asks the pure rules (chatd.policy.social); a refusal is one ChatError,
the same for a block and for a privacy setting.

Also here: whose mentions notify, and who hears whose typing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..errors import ChatError
from ..policy import social as rules
from ..policy.social import Action
from ..store import directory as directory_store
from ..store import dm as dm_store
from ..store import social as store


def check(conn: sqlite3.Connection, actor: int, target: int, action: Action, conv_id: int | None = None) -> rules.Decision:
    """The decision for actor doing `action` to target; `conv_id`: their DM, if it exists."""
    facts = store.facts(conn, actor, target)
    if facts.policy == rules.DEPARTMENT:  # costs a query: only for the policy that asks
        facts = facts._replace(same_department=directory_store.same_department(conn, actor, target))
    decision = rules.may(action, facts)
    if not decision.ok and decision.needs_engaged and conv_id:
        decision = rules.may(action, facts._replace(engaged=store.engaged(conn, conv_id, target)))
    return decision


def require(conn: sqlite3.Connection, actor: int, target: int, action: Action, field: str, conv_id: int | None = None) -> None:
    decision = check(conn, actor, target, action, conv_id)
    if not decision.ok:
        raise ChatError(decision.code, decision.message, field=field)


def require_all(conn: sqlite3.Connection, actor: int, targets: Iterable[int], action: Action, field: str) -> None:
    """Every target lets the actor do this (a group invite of several users): the first refusal."""
    for target in targets:
        if target != actor:
            require(conn, actor, target, action, field)


def dm_gate(conn: sqlite3.Connection, sender: int, peer: int, conv_id: int | None) -> None:
    """The DM kind's gate, run by every DM send before the message (or the DM) is made."""
    require(conn, sender, peer, Action.DM, "peer", conv_id)


def dm_change_gate(conn: sqlite3.Connection, actor: int, peer: int) -> None:
    """An edit or a reaction in a DM reaches the peer too: not one who blocked the actor."""
    require(conn, actor, peer, Action.DM_CHANGE, "peer")


def quiet_mentions(conn: sqlite3.Connection, sender: int, mentioned: list[int], conv_id: int) -> frozenset[int]:
    """The users whom this message's mentions must not notify (they blocked the sender); with
    @all (0), every member of the conversation who blocked the sender."""
    users = [u for u in mentioned if u not in (0, sender)]
    if 0 in mentioned:
        blockers = store.blockers_in(conn, sender, conv_id)
        users = sorted(set(users) | blockers)
    elif users:
        blockers = store.blockers_among(conn, sender, users)
    else:
        return frozenset()
    return frozenset(u for u in users if not rules.mention_notifies(u in blockers))


def hears_typing(conn: sqlite3.Connection, listener: int, speaker: int) -> bool:
    return rules.hears(store.blocks(conn, listener, speaker))


def call_gate(conn: sqlite3.Connection, caller: int, callee: int) -> None:
    """rtc_call_invite: the callee exists and is not disabled, and lets the caller call them (the
    DM privacy policy and blocks: the same refusal as a first DM)."""
    peer = dm_store.require_peer(conn, caller, callee)
    if peer["disabled"]:
        raise ChatError("forbidden", "this user's account is disabled", field="peer")
    require(conn, caller, callee, Action.CALL, "peer", dm_store.find_conv(conn, caller, callee))

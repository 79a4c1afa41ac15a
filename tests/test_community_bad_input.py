"""Bad input to the community commands (issue 11): unknown ids, ids of another community, a
channel the actor cannot see, a role at or above one's own, a position out of range, a
10,000-character name. Each answers its documented error code (the wire check of
tests/conftest.py fails any code a command does not list under `errors:` in the registry),
and nothing is written: the state read back over the wire is the same before and after.

Categories do not nest (a channel is in one category or none), so there is no category cycle
to make; its nearest cases are moving a channel into another community's category and making
a channel without a category follow one.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from chatd.client import ClientError
from chatd.protocol.registry import REGISTRY

UNKNOWN = 999_999
LONG = "x" * 10_000
MOD = ["view_channel", "send", "read_history", "manage_channels", "manage_roles", "kick", "mute", "invite", "manage_community"]


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    # Reading the state back after every case takes many requests: no budget in the way.
    return {"limits": {"user_write_burst": 1_000_000, "frames_burst": 1_000_000, "send_burst": 1_000_000}}


@dataclass
class World:
    """Community A: alice owns it; bob has Mod (position 2: channels, roles, kick, mute,
    settings), carol has High (3) above him, dave @everyone only, Low (1) below them all;
    #secret has no category and only alice sees it; erin asked to join (join_mode request).
    Community B: alice owns it, erin is in it."""

    clients: dict[str, Any]
    ids: dict[str, int]
    a: int
    cat: int
    ops: int  # an empty second category of A
    general: int
    secret: int
    everyone: int
    low: int
    mod: int
    high: int
    b: int
    b_cat: int
    b_general: int
    b_role: int


async def _role(owner: Any, cid: int, name: str, allow: list[str], position: int) -> int:
    made = await owner.request("community_role_create", {"community_id": cid, "name": name, "allow": allow, "position": position})
    return made["role"]["role_id"]  # type: ignore[no-any-return]


async def build(harness: Any, stack: AsyncExitStack) -> World:
    ids = {n: await harness.add_user(n) for n in ("alice", "bob", "carol", "dave", "erin")}
    c = {n: await stack.enter_async_context(harness.client(n)) for n in ids}
    alice = c["alice"]
    made = await alice.request("community_create", {"name": "A", "public": True, "join_mode": "open"})
    a, cat, general = made["community"]["community_id"], made["category_id"], made["channel_id"]
    for n in ("bob", "carol", "dave"):
        await c[n].request("community_join", {"community_id": a})
    everyone = (await alice.request("community_role_list", {"community_id": a}))["roles"][-1]["role_id"]
    low = await _role(alice, a, "Low", [], 1)
    mod = await _role(alice, a, "Mod", MOD, 2)
    high = await _role(alice, a, "High", [], 3)
    await alice.request("community_role_set", {"community_id": a, "user_id": ids["bob"], "add": [mod]})
    await alice.request("community_role_set", {"community_id": a, "user_id": ids["carol"], "add": [high]})
    ops = (await alice.request("community_category_create", {"community_id": a, "name": "Ops"}))["category"]["category_id"]
    secret = (await alice.request("community_channel_create", {"community_id": a, "name": "secret"}))["channel"]["channel_id"]
    await alice.request("community_overwrite_set", {
        "community_id": a, "place": "channel", "place_id": secret, "target": "role", "target_id": everyone, "deny": ["view_channel"]})
    await alice.request("community_update", {"community_id": a, "join_mode": "request"})
    assert (await c["erin"].request("community_join", {"community_id": a}))["joined"] is False
    made = await alice.request("community_create", {"name": "B", "public": True, "join_mode": "open"})
    b = made["community"]["community_id"]
    await c["erin"].request("community_join", {"community_id": b})
    b_role = await _role(alice, b, "B role", [], 1)
    return World(c, ids, a, cat, ops, general, secret, everyone, low, mod, high, b, made["category_id"], made["channel_id"], b_role)


async def state(w: World) -> list[Any]:
    """Everything the cases could change, read back over the wire by the owner."""
    alice = w.clients["alice"]
    out: list[Any] = []
    for cid in (w.a, w.b):
        for cmd in ("community_role_list", "community_channel_list", "community_members", "community_info", "community_join"):
            out.append(await alice.request(cmd, {"community_id": cid}))
    out.append(await alice.request("community_request_list", {"community_id": w.a}))
    for who in ("bob", "carol", "dave"):
        for channel in (None, w.general, w.secret):
            data = {"community_id": w.a, "user_id": w.ids[who]} | ({} if channel is None else {"channel_id": channel})
            out.append(await alice.request("community_permissions", data))
    out.append(await alice.request("community_conversations", {}))
    out.append(await alice.request("community_discover", {}))
    return out


async def check(w: World, cases: list[tuple[str, str, dict[str, Any], str]]) -> None:
    """Each case (who, command, data, code) answers code and leaves the state as it was."""
    undocumented = [(cmd, code) for _, cmd, _, code in cases if code not in REGISTRY.commands[cmd].errors]
    assert undocumented == [], "codes a command does not list under errors: in the registry"
    wrong = []
    before = await state(w)
    for who, cmd, data, code in cases:
        try:
            await w.clients[who].request(cmd, data)
            got = "ok"
        except ClientError as e:
            got = f"{e.code} ({e})"
        if not got.startswith(code + " ") and got != code:
            wrong.append(f"{who} {cmd} {data}: {got[:200]}, expected {code}")
        after = await state(w)
        if after != before:
            wrong.append(f"{who} {cmd} {data}: wrote something")
            before = after
    assert wrong == []


async def test_unknown_ids(harness):
    async with AsyncExitStack() as stack:
        w = await build(harness, stack)
        a, nf = w.a, "not_found"
        cases = [("alice", cmd, {"community_id": UNKNOWN}, nf) for cmd in (
            "community_members", "community_info", "community_role_list", "community_channel_list", "community_invite_create", "community_request_list",
            "community_disband", "community_leave", "community_join")]
        cases += [("alice", "community_update", {"community_id": UNKNOWN, "name": "n"}, nf),
                  ("alice", "community_permissions", {"community_id": UNKNOWN, "user_id": w.ids["bob"]}, nf),
                  ("erin", "community_join", {"invite_code": "no-such-code"}, nf)]
        cases += [("alice", cmd, {"channel_id": UNKNOWN, **extra}, nf) for cmd, extra in (
            ("community_send", {"content": {"type": "text", "text": "x"}}), ("community_history", {}), ("community_search", {"query": "x"}), ("community_typing", {}),
            ("community_mark_read", {}), ("community_mute_set", {"muted": True}), ("community_pin_set", {"pinned": True}))]
        for field, cmds in (("channel_id", ("community_channel_update", "community_channel_delete")),
                            ("category_id", ("community_category_update", "community_category_delete")),
                            ("role_id", ("community_role_update", "community_role_delete"))):
            cases += [("alice", cmd, {"community_id": a, field: UNKNOWN}, nf) for cmd in cmds]
        cases += [("alice", cmd, {"community_id": a, "user_id": UNKNOWN, **extra}, nf) for cmd, extra in (
            ("community_member_kick", {}), ("community_member_mute_set", {"duration_ms": 1000}), ("community_owner_transfer", {}),
            ("community_role_set", {"add": [w.low]}), ("community_permissions", {}), ("community_request_decide", {"approve": True}))]
        ow = {"community_id": a, "place": "category", "place_id": w.cat, "target": "role", "target_id": w.low, "deny": ["send"]}
        cases += [
            ("alice", "community_channel_create", {"community_id": a, "name": "n", "category_id": UNKNOWN}, nf),
            ("alice", "community_channel_update", {"community_id": a, "channel_id": w.general, "category_id": UNKNOWN}, nf),
            ("alice", "community_role_set", {"community_id": a, "user_id": w.ids["dave"], "add": [UNKNOWN]}, nf),
            ("alice", "community_role_set", {"community_id": a, "user_id": w.ids["dave"], "remove": [UNKNOWN]}, nf),
            ("alice", "community_role_reorder", {"community_id": a, "role_ids": [w.low, w.mod, UNKNOWN]}, nf),
            ("alice", "community_permissions", {"community_id": a, "user_id": w.ids["bob"], "channel_id": UNKNOWN}, nf),
            ("alice", "community_overwrite_set", ow | {"place_id": UNKNOWN}, nf),
            ("alice", "community_overwrite_set", ow | {"place": "channel", "place_id": UNKNOWN}, nf),
            ("alice", "community_overwrite_set", ow | {"target_id": UNKNOWN}, nf),
            ("alice", "community_overwrite_set", ow | {"target": "member", "target_id": UNKNOWN}, nf),
        ]
        await check(w, cases)


async def test_ids_of_another_community(harness):
    async with AsyncExitStack() as stack:
        w = await build(harness, stack)
        a, nf, erin = w.a, "not_found", w.ids["erin"]  # erin is in B, and only asked to join A
        ow = {"community_id": a, "place": "category", "place_id": w.cat, "target": "role", "target_id": w.low, "deny": ["send"]}
        cases = [
            ("alice", "community_channel_update", {"community_id": a, "channel_id": w.b_general, "topic": "t"}, nf),
            ("alice", "community_channel_delete", {"community_id": a, "channel_id": w.b_general}, nf),
            ("alice", "community_channel_create", {"community_id": a, "name": "n", "category_id": w.b_cat}, nf),
            # A channel moved into another community's category (categories do not nest: no cycle to make).
            ("alice", "community_channel_update", {"community_id": a, "channel_id": w.general, "category_id": w.b_cat}, nf),
            ("alice", "community_channel_update", {"community_id": w.b, "channel_id": w.b_general, "category_id": w.cat}, nf),
            ("alice", "community_category_update", {"community_id": a, "category_id": w.b_cat, "name": "n"}, nf),
            ("alice", "community_category_delete", {"community_id": a, "category_id": w.b_cat}, nf),
            ("alice", "community_role_update", {"community_id": a, "role_id": w.b_role, "name": "n"}, nf),
            ("alice", "community_role_delete", {"community_id": a, "role_id": w.b_role}, nf),
            ("alice", "community_role_set", {"community_id": a, "user_id": w.ids["dave"], "add": [w.b_role]}, nf),
            ("alice", "community_role_set", {"community_id": w.b, "user_id": erin, "add": [w.low]}, nf),
            ("alice", "community_role_reorder", {"community_id": a, "role_ids": [w.low, w.mod, w.b_role]}, nf),
            ("alice", "community_overwrite_set", ow | {"place": "channel", "place_id": w.b_general}, nf),
            ("alice", "community_overwrite_set", ow | {"place_id": w.b_cat}, nf),
            ("alice", "community_overwrite_set", ow | {"target_id": w.b_role}, nf),
            ("alice", "community_overwrite_set", ow | {"target": "member", "target_id": erin}, nf),
            ("alice", "community_permissions", {"community_id": a, "user_id": w.ids["bob"], "channel_id": w.b_general}, nf),
            ("alice", "community_permissions", {"community_id": a, "user_id": erin}, nf),
            ("alice", "community_member_kick", {"community_id": a, "user_id": erin}, nf),
            ("alice", "community_member_mute_set", {"community_id": a, "user_id": erin, "duration_ms": 1000}, nf),
            ("alice", "community_owner_transfer", {"community_id": a, "user_id": erin}, nf),
            ("bob", "community_members", {"community_id": w.b}, nf),
            ("bob", "community_info", {"community_id": w.b}, nf),
            ("bob", "community_send", {"channel_id": w.b_general, "content": {"type": "text", "text": "x"}}, nf),
        ]
        await check(w, cases)


async def test_a_channel_one_cannot_see_is_not_found(harness):
    """bob has manage_channels and manage_roles, but #secret is hidden from him: every command
    on it answers as for a channel that does not exist."""
    async with AsyncExitStack() as stack:
        w = await build(harness, stack)
        a, nf, s = w.a, "not_found", w.secret
        cases = [
            ("bob", "community_overwrite_set", {
                "community_id": a, "place": "channel", "place_id": s, "target": "role", "target_id": w.low, "deny": ["send"]}, nf),
            ("bob", "community_channel_update", {"community_id": a, "channel_id": s, "topic": "t"}, nf),
            ("bob", "community_channel_delete", {"community_id": a, "channel_id": s}, nf),
            ("bob", "community_permissions", {"community_id": a, "user_id": w.ids["bob"], "channel_id": s}, nf),
            ("bob", "community_send", {"channel_id": s, "content": {"type": "text", "text": "x"}}, nf),
            ("bob", "community_history", {"channel_id": s}, nf),
            ("bob", "community_search", {"channel_id": s, "query": "x"}, nf),
            ("bob", "community_mark_read", {"channel_id": s}, nf),
            ("bob", "community_pin_set", {"channel_id": s, "pinned": True}, nf),
        ]
        await check(w, cases)


async def test_roles_at_or_above_ones_own(harness):
    """bob's highest role is Mod (position 2); carol's High (3) is above it."""
    async with AsyncExitStack() as stack:
        w = await build(harness, stack)
        a, no = w.a, "forbidden"
        carol, dave = w.ids["carol"], w.ids["dave"]
        ow = {"community_id": a, "place": "category", "place_id": w.cat, "target": "role", "deny": ["send"]}
        cases = [
            ("bob", "community_role_update", {"community_id": a, "role_id": w.high, "name": "n"}, no),
            ("bob", "community_role_update", {"community_id": a, "role_id": w.mod, "name": "n"}, no),
            ("bob", "community_role_update", {"community_id": a, "role_id": w.high, "position": 1}, no),  # re-rank a higher role, then edit it
            ("bob", "community_role_update", {"community_id": a, "role_id": w.low, "position": 2}, no),
            ("bob", "community_role_update", {"community_id": a, "role_id": w.low, "allow": ["administrator"]}, no),
            ("bob", "community_role_delete", {"community_id": a, "role_id": w.high}, no),
            ("bob", "community_role_delete", {"community_id": a, "role_id": w.mod}, no),
            ("bob", "community_role_create", {"community_id": a, "name": "n", "position": 3}, no),
            ("bob", "community_role_create", {"community_id": a, "name": "n", "allow": ["administrator"]}, no),
            ("bob", "community_role_set", {"community_id": a, "user_id": dave, "add": [w.high]}, no),
            ("bob", "community_role_set", {"community_id": a, "user_id": dave, "add": [w.mod]}, no),
            ("bob", "community_role_set", {"community_id": a, "user_id": w.ids["bob"], "add": [w.high]}, no),
            ("bob", "community_role_set", {"community_id": a, "user_id": carol, "add": [w.low]}, no),
            ("bob", "community_role_set", {"community_id": a, "user_id": carol, "remove": [w.high]}, no),
            ("bob", "community_role_reorder", {"community_id": a, "role_ids": [w.low, w.high, w.mod]}, no),
            ("bob", "community_role_reorder", {"community_id": a, "role_ids": [w.mod, w.low, w.high]}, no),
            ("bob", "community_overwrite_set", ow | {"target_id": w.high}, no),
            ("bob", "community_overwrite_set", ow | {"target_id": w.mod}, no),
            ("bob", "community_overwrite_set", ow | {"target": "member", "target_id": carol}, no),
            ("bob", "community_overwrite_set", ow | {"target": "member", "target_id": w.ids["alice"]}, no),
            ("bob", "community_member_kick", {"community_id": a, "user_id": carol}, no),
            ("bob", "community_member_kick", {"community_id": a, "user_id": w.ids["alice"]}, no),
            ("bob", "community_member_mute_set", {"community_id": a, "user_id": carol, "duration_ms": 1000}, no),
            ("bob", "community_owner_transfer", {"community_id": a, "user_id": dave}, no),
            ("bob", "community_disband", {"community_id": a}, no),
        ]
        await check(w, cases)


async def test_positions_out_of_range(harness):
    """A has 4 roles (@everyone 0, 1..3), 2 categories (0..1) and 1 channel in its first."""
    async with AsyncExitStack() as stack:
        w = await build(harness, stack)
        a, bad = w.a, "bad_request"
        cases = [("alice", "community_role_create", {"community_id": a, "name": "n", "position": p}, bad) for p in (0, 5, -1, 2**40)]
        cases += [("alice", "community_role_update", {"community_id": a, "role_id": w.low, "position": p}, bad) for p in (0, 4, -1)]
        cases += [("alice", "community_role_update", {"community_id": a, "role_id": w.everyone, "position": 1}, bad)]
        cases += [("alice", "community_category_create", {"community_id": a, "name": "n", "position": p}, bad) for p in (3, -1)]
        cases += [("alice", "community_category_update", {"community_id": a, "category_id": w.ops, "position": p}, bad) for p in (2, -1)]
        cases += [("alice", "community_channel_create", {"community_id": a, "name": "n", "category_id": w.cat, "position": p}, bad) for p in (2, -1)]
        cases += [("alice", "community_channel_create", {"community_id": a, "name": "n", "position": 2}, bad)]
        cases += [("alice", "community_channel_update", {"community_id": a, "channel_id": w.general, "position": p}, bad) for p in (1, -1)]
        cases += [("alice", "community_channel_update", {"community_id": a, "channel_id": w.general, "category_id": w.ops, "position": 1}, bad)]
        cases += [
            ("alice", "community_role_reorder", {"community_id": a, "role_ids": [w.low, w.mod]}, bad),
            ("alice", "community_role_reorder", {"community_id": a, "role_ids": [w.low, w.mod, w.mod]}, bad),
            ("alice", "community_role_reorder", {"community_id": a, "role_ids": [w.low, w.mod, w.high, w.everyone]}, bad),
            ("alice", "community_channel_update", {"community_id": a, "channel_id": w.secret, "synced": True}, bad),  # no category to follow
            ("alice", "community_category_delete", {"community_id": a, "category_id": w.cat}, "conflict"),  # it holds #general
        ]
        await check(w, cases)


async def test_ten_thousand_characters_and_other_malformed_fields(harness):
    async with AsyncExitStack() as stack:
        w = await build(harness, stack)
        a, bad = w.a, "bad_request"
        cases = [
            ("alice", "community_create", {"name": LONG}, bad),
            ("alice", "community_create", {"name": "n", "description": LONG}, bad),
            ("alice", "community_create", {"name": ""}, bad),
            ("alice", "community_create", {"name": "n", "join_mode": "sometimes"}, bad),
            ("alice", "community_update", {"community_id": a, "name": LONG}, bad),
            ("alice", "community_update", {"community_id": a, "description": LONG}, bad),
            ("alice", "community_update", {"community_id": a, "join_mode": "sometimes"}, bad),
            ("alice", "community_role_create", {"community_id": a, "name": LONG}, bad),
            ("alice", "community_role_create", {"community_id": a, "name": "n", "allow": ["fly"]}, bad),
            ("alice", "community_role_update", {"community_id": a, "role_id": w.low, "name": LONG}, bad),
            ("alice", "community_role_update", {"community_id": a, "role_id": w.everyone, "name": "all"}, bad),
            ("alice", "community_role_delete", {"community_id": a, "role_id": w.everyone}, bad),
            ("alice", "community_role_set", {"community_id": a, "user_id": w.ids["dave"], "add": [w.everyone]}, bad),
            ("alice", "community_role_set", {"community_id": a, "user_id": w.ids["dave"], "add": [w.low], "remove": [w.low]}, bad),
            ("alice", "community_channel_create", {"community_id": a, "name": LONG}, bad),
            ("alice", "community_channel_create", {"community_id": a, "name": "n", "topic": LONG}, bad),
            ("alice", "community_channel_update", {"community_id": a, "channel_id": w.general, "name": LONG}, bad),
            ("alice", "community_channel_update", {"community_id": a, "channel_id": w.general, "topic": LONG}, bad),
            ("alice", "community_category_create", {"community_id": a, "name": LONG}, bad),
            ("alice", "community_category_update", {"community_id": a, "category_id": w.cat, "name": LONG}, bad),
            ("alice", "community_overwrite_set", {
                "community_id": a, "place": "shelf", "place_id": w.cat, "target": "role", "target_id": w.low, "deny": ["send"]}, bad),
            ("alice", "community_overwrite_set", {
                "community_id": a, "place": "category", "place_id": w.cat, "target": "role", "target_id": w.low, "deny": ["kick"]}, bad),
            ("alice", "community_overwrite_set", {
                "community_id": a, "place": "category", "place_id": w.cat, "target": "role", "target_id": w.low, "deny": ["fly"]}, bad),
            ("erin", "community_join", {"community_id": a, "message": LONG}, bad),
            ("erin", "community_join", {}, bad),
            ("alice", "community_discover", {"query": LONG}, bad),
            ("alice", "community_send", {"channel_id": w.general, "content": {"type": "text", "text": "x"}, "client_msg_id": LONG}, bad),
        ]
        await check(w, cases)

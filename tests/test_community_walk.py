"""The permission walk of issue 11: every community request of the registry, run by each of six
actors (the owner, an administrator, a member holding the capability through a role, a member
without it, a timed-out member holding it through a role, a non-member), each answer compared
with the policy table "Who may run each command" of docs/community-permissions.md, which this
module parses. Zero mismatches. The holder's role holds the one capability the row's `needs`
names and nothing else, so a command that asked for more would show.

Every actor gets its own object where a command consumes one (a victim to kick, a request to
decide, a role, channel or category to delete), so the answers do not depend on the order.
The commands that end the actors' place in the community (leave, owner transfer, disband) run
each in a world of their own, the owner last.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chatd.client import ClientError
from chatd.protocol import content as ct
from chatd.protocol.registry import REGISTRY
from chatd.store import messages

DOC = Path(__file__).resolve().parent.parent / "docs" / "community-permissions.md"
SECTION = "## Who may run each command"
# The table's columns of answers, and the actors of the walk in that order.
COLUMNS = ("owner", "admin", "holder", "without", "timed out", "non-member")
ACTORS = ("owner", "admin", "holder", "without", "timed_out", "outsider")
# Every capability but administrator: the role of the holder and the timed-out member where a
# row needs no capability (anyone, any member, owner only).
STAFF = ["view_channel", "send", "read_history", "mention_everyone", "manage_messages", "manage_channels", "manage_roles",
         "kick", "mute", "invite", "manage_community"]
# Commands that end the actors' place in the community: a world each, the owner acting last.
TERMINAL = ("community_leave", "community_owner_transfer", "community_disband")


@dataclass(frozen=True)
class Row:
    needs: tuple[str, ...]  # the capabilities the `needs` cell names (either of them, if several)
    expect: dict[str, str]  # actor -> "ok" or an error code


def _cells(line: str) -> list[str]:
    return [c.strip().strip("`") for c in line.strip().strip("|").split("|")]


def policy_table() -> dict[str, Row]:
    """command -> its row of the docs table: what it needs, and each actor's expected answer."""
    text = DOC.read_text(encoding="utf-8")
    assert SECTION in text, f"{DOC.name} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = _cells(lines[0])
    assert header[:2] == ["command", "needs"] and tuple(header[2:8]) == COLUMNS, header
    table: dict[str, Row] = {}
    for line in lines[2:]:
        cells = _cells(line)
        assert cells[0] not in table, f"two rows for {cells[0]}"
        needs = tuple(re.findall(r"`(\w+)`", line.split("|")[2]))
        assert set(needs) <= set(STAFF), f"{cells[0]} needs {needs}: not capabilities"
        table[cells[0]] = Row(needs, dict(zip(ACTORS, cells[2:8], strict=True)))
    return table


def community_requests() -> set[str]:
    return {c.wire for c in REGISTRY.commands.values() if c.kind == "request" and c.wire.startswith("community_")}


def performers(row: Row) -> list[tuple[str, str]]:
    """(actor, user) for each call of a row: the holder and the timed-out member are h_<cap> and
    to_<cap>, whose one role holds exactly that capability (one of each per capability a row
    names as alternatives), or h_staff and to_staff where the row needs none."""
    out = []
    for actor in ACTORS:
        if actor in ("holder", "timed_out"):
            prefix = "h" if actor == "holder" else "to"
            out += [(actor, f"{prefix}_{cap}") for cap in row.needs or ("staff",)]
        else:
            out.append((actor, actor))
    return out


def text(t: str) -> dict[str, str]:
    return {"type": "text", "text": t}


@dataclass
class World:
    """A community where each actor has its place: the owner; admin with role Admin
    (administrator, the highest); h_<cap> and to_<cap> with role "Has <cap>" holding that
    capability alone (to_<cap> timed out for an hour), h_staff and to_staff with role Staff
    (every capability but administrator); `without` with @everyone only, which holds
    view_channel only; the outsider in none of it. #hidden (no category) is seen only by Staff
    and "Has view_channel"; Low and Lower are the lowest roles, with nothing in them."""

    owner: Any
    cid: int
    cat: int
    general: int
    hidden: int = 0
    low: int = 0
    target: int = 0  # a member with @everyone only, acted on (time-out, roles, permissions, new owner)
    victims: dict[str, int] = field(default_factory=dict)  # acting user -> a member to kick
    requesters: dict[str, int] = field(default_factory=dict)  # acting user -> a user whose request to decide
    made: int = 0
    harness: Any = None
    ids: dict[str, int] = field(default_factory=dict)

    def fresh(self, what: str) -> str:
        self.made += 1
        return f"{what} {self.made}"


async def build_world(harness: Any, clients: dict[str, Any], ids: dict[str, int], caps: set[str], victims: list[str], requesters: list[str]) -> World:
    """The community of the walk, with a "Has <cap>" role for each of `caps`, a member k_<user>
    for each of `victims` and a pending request of r_<user> for each of `requesters`."""
    owner = clients["owner"]
    made = await owner.request("community_create", {"name": "walk", "public": True, "join_mode": "open"})
    w = World(owner, made["community"]["community_id"], made["category_id"], made["channel_id"], harness=harness, ids=ids)
    cid = w.cid
    holders = {cap: (f"h_{cap}", f"to_{cap}") for cap in [*sorted(caps), "staff"]}
    joining = ["admin", "without", "t", *(u for pair in holders.values() for u in pair), *(f"k_{v}" for v in victims)]
    for name in joining:
        await clients[name].request("community_join", {"community_id": cid})
    everyone = (await owner.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]
    await owner.request("community_role_update", {"community_id": cid, "role_id": everyone, "allow": ["view_channel"]})

    async def role(name: str, allow: list[str], position: int) -> int:
        made = await owner.request("community_role_create", {"community_id": cid, "name": name, "allow": allow, "position": position})
        return made["role"]["role_id"]  # type: ignore[no-any-return]

    w.low = await role("Low", [], 1)
    await role("Lower", [], 1)
    roles = {cap: await role("Staff" if cap == "staff" else f"Has {cap}", STAFF if cap == "staff" else [cap], 3 + i) for i, cap in enumerate(holders)}
    roles["administrator"] = await role("Admin", ["administrator"], 3 + len(holders))
    for cap, users in [*holders.items(), ("administrator", ("admin",))]:
        for name in users:
            await owner.request("community_role_set", {"community_id": cid, "user_id": ids[name], "add": [roles[cap]]})
    w.hidden = (await owner.request("community_channel_create", {"community_id": cid, "name": "hidden"}))["channel"]["channel_id"]
    seeing = [(everyone, "deny")] + [(roles[cap], "allow") for cap in ("staff", "view_channel") if cap in roles]
    for target_id, key in seeing:
        await owner.request("community_overwrite_set", {
            "community_id": cid, "place": "channel", "place_id": w.hidden, "target": "role", "target_id": target_id, key: ["view_channel"]})
    for _, timed in holders.values():
        await owner.request("community_member_mute_set", {"community_id": cid, "user_id": ids[timed], "duration_ms": 3600_000})
    w.target = ids["t"]
    w.victims = {v: ids[f"k_{v}"] for v in victims}
    if requesters:
        await owner.request("community_update", {"community_id": cid, "join_mode": "request"})
        for r in requesters:
            assert (await clients[f"r_{r}"].request("community_join", {"community_id": cid}))["joined"] is False
            w.requesters[r] = ids[f"r_{r}"]
    return w


Data = Callable[[World, str], Awaitable[dict[str, Any]]]


def plain(make: Callable[[World, str], dict[str, Any]]) -> Data:
    async def data(w: World, actor: str) -> dict[str, Any]:
        return make(w, actor)

    return data


async def _fresh_channel(w: World, actor: str) -> dict[str, Any]:
    made = await w.owner.request("community_channel_create", {"community_id": w.cid, "name": w.fresh("doomed"), "category_id": w.cat})
    return {"community_id": w.cid, "channel_id": made["channel"]["channel_id"]}


async def _fresh_category(w: World, actor: str) -> dict[str, Any]:
    made = await w.owner.request("community_category_create", {"community_id": w.cid, "name": w.fresh("doomed")})
    return {"community_id": w.cid, "category_id": made["category"]["category_id"]}


async def _fresh_role(w: World, actor: str) -> dict[str, Any]:
    made = await w.owner.request("community_role_create", {"community_id": w.cid, "name": w.fresh("doomed")})
    return {"community_id": w.cid, "role_id": made["role"]["role_id"]}


async def _swap_lowest_roles(w: World, actor: str) -> dict[str, Any]:
    roles = (await w.owner.request("community_role_list", {"community_id": w.cid}))["roles"]
    lowest_first = [r["role_id"] for r in reversed(roles[:-1])]  # @everyone left out
    lowest_first[0], lowest_first[1] = lowest_first[1], lowest_first[0]
    return {"community_id": w.cid, "role_ids": lowest_first}


async def _owners_message(w: World, channel_id: int) -> int:
    sent = await w.owner.request("community_send", {"channel_id": channel_id, "content": text(w.fresh("message"))})
    return sent["id"]  # type: ignore[no-any-return]


async def _own_message(w: World, actor: str) -> dict[str, Any]:
    """A message of the actor's own in #hidden, stored directly (most actors may not send there)."""
    body = ct.dumps(ct.Text(text=w.fresh("mine")))
    new = messages.NewMessage(w.ids[actor], "text", body, "mine", None, None, [])
    msg = await w.harness.server.writer.submit(lambda ctx: messages.insert(ctx, w.hidden, new))
    return {"channel_id": w.hidden, "msg_id": msg["id"], "content": text("edited")}


async def _recall_owners(w: World, actor: str) -> dict[str, Any]:
    return {"channel_id": w.general, "msg_id": await _owners_message(w, w.general)}


async def _recall_owners_batch(w: World, actor: str) -> dict[str, Any]:
    return {"channel_id": w.general, "msg_ids": [await _owners_message(w, w.general) for _ in range(2)]}


async def _react_hidden(w: World, actor: str) -> dict[str, Any]:
    return {"channel_id": w.hidden, "msg_id": await _owners_message(w, w.hidden), "emoji": "👍"}


async def _delete_hidden(w: World, actor: str) -> dict[str, Any]:
    return {"channel_id": w.hidden, "msg_ids": [await _owners_message(w, w.hidden)]}


# command -> the request data an actor sends (making, through the owner, what it consumes).
COMMANDS: dict[str, Data] = {
    "community_create": plain(lambda w, a: {"name": w.fresh("made by " + a)}),
    "community_discover": plain(lambda w, a: {"query": "walk"}),
    "community_join": plain(lambda w, a: {"community_id": w.cid}),
    "community_conversations": plain(lambda w, a: {}),
    "community_leave": plain(lambda w, a: {"community_id": w.cid}),
    "community_members": plain(lambda w, a: {"community_id": w.cid}),
    "community_info": plain(lambda w, a: {"community_id": w.cid}),
    "community_role_list": plain(lambda w, a: {"community_id": w.cid}),
    "community_channel_list": plain(lambda w, a: {"community_id": w.cid}),
    "community_permissions": plain(lambda w, a: {"community_id": w.cid, "user_id": w.target, "channel_id": w.general}),
    "community_update": plain(lambda w, a: {"community_id": w.cid, "description": w.fresh("by " + a)}),
    "community_disband": plain(lambda w, a: {"community_id": w.cid}),
    "community_owner_transfer": plain(lambda w, a: {"community_id": w.cid, "user_id": w.target}),
    "community_member_kick": plain(lambda w, a: {"community_id": w.cid, "user_id": w.victims[a]}),
    "community_member_mute_set": plain(lambda w, a: {"community_id": w.cid, "user_id": w.target, "duration_ms": 60_000}),
    "community_invite_create": plain(lambda w, a: {"community_id": w.cid}),
    "community_request_list": plain(lambda w, a: {"community_id": w.cid}),
    "community_request_decide": plain(lambda w, a: {"community_id": w.cid, "user_id": w.requesters[a], "approve": a != "owner"}),
    "community_role_create": plain(lambda w, a: {"community_id": w.cid, "name": w.fresh("made by " + a)}),
    "community_role_update": plain(lambda w, a: {"community_id": w.cid, "role_id": w.low, "name": w.fresh("renamed by " + a)}),
    "community_role_delete": _fresh_role,
    "community_role_reorder": _swap_lowest_roles,
    "community_role_set": plain(lambda w, a: {"community_id": w.cid, "user_id": w.target, "add": [w.low]}),
    "community_overwrite_set": plain(lambda w, a: {
        "community_id": w.cid, "place": "category", "place_id": w.cat, "target": "role", "target_id": w.low, "deny": ["view_channel"]}),
    "community_channel_create": plain(lambda w, a: {"community_id": w.cid, "name": w.fresh("by " + a), "category_id": w.cat}),
    "community_channel_update": plain(lambda w, a: {"community_id": w.cid, "channel_id": w.general, "topic": w.fresh("by " + a)}),
    "community_channel_delete": _fresh_channel,
    "community_category_create": plain(lambda w, a: {"community_id": w.cid, "name": w.fresh("by " + a)}),
    "community_category_update": plain(lambda w, a: {"community_id": w.cid, "category_id": w.cat, "name": w.fresh("by " + a)}),
    "community_category_delete": _fresh_category,
    "community_send": plain(lambda w, a: {"channel_id": w.general, "content": text("from " + a)}),
    "community_typing": plain(lambda w, a: {"channel_id": w.general}),
    "community_control": plain(lambda w, a: {"channel_id": w.general, "name": "x"}),
    "community_history": plain(lambda w, a: {"channel_id": w.general}),
    "community_search": plain(lambda w, a: {"channel_id": w.general, "query": "from"}),
    "community_mark_read": plain(lambda w, a: {"channel_id": w.hidden}),
    "community_mute_set": plain(lambda w, a: {"channel_id": w.hidden, "muted": True}),
    "community_pin_set": plain(lambda w, a: {"channel_id": w.hidden, "pinned": True}),
    "community_edit": _own_message,
    "community_react": _react_hidden,
    "community_delete": _delete_hidden,
    "community_recall": _recall_owners,
    "community_recall_batch": _recall_owners_batch,
}


def test_the_policy_table_names_every_community_request():
    table = policy_table()
    registry = community_requests()
    assert sorted(registry - set(table)) == [], "community requests of the registry without a row"
    assert sorted(set(table) - registry) == [], "rows naming no community request of the registry"
    assert sorted(registry ^ set(COMMANDS)) == [], "the walk must know how to run every command"
    # Every expected error is one the command documents under `errors:` in the registry.
    undocumented = [(cmd, actor, got) for cmd, row in table.items() for actor, got in row.expect.items()
                    if got != "ok" and got not in REGISTRY.commands[cmd].errors]
    assert undocumented == []


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    # The owner sets up four worlds at once: no write budget in the way.
    return {"limits": {"user_write_burst": 1_000_000, "frames_burst": 1_000_000, "send_burst": 1_000_000}}


async def _answer(client: Any, cmd: str, data: dict[str, Any]) -> tuple[str, str]:
    try:
        await client.request(cmd, data)
    except ClientError as e:
        return e.code, str(e)
    return "ok", ""


async def test_every_community_command_for_every_kind_of_actor(harness):
    table = policy_table()
    main = sorted(set(COMMANDS) - set(TERMINAL))
    caps = {cap for cmd in main for cap in table[cmd].needs}
    kickers = [user for _, user in performers(table["community_member_kick"])]
    deciders = [user for _, user in performers(table["community_request_decide"])]
    names = {"owner", "admin", "without", "outsider", "t"} | {f"{p}_{cap}" for cap in [*caps, "staff"] for p in ("h", "to")}
    names |= {f"k_{u}" for u in kickers} | {f"r_{u}" for u in deciders}
    ids = {name: await harness.add_user(name) for name in sorted(names)}
    mismatches = []
    async with AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(harness.client(name)) for name in sorted(names)}

        async def walk(w: World, cmd: str, calls: list[tuple[str, str]]) -> None:
            for actor, user in calls:
                expected = table[cmd].expect[actor]
                got, why = await _answer(clients[user], cmd, await COMMANDS[cmd](w, user))
                if got != expected:
                    mismatches.append(f"{cmd} by {actor} ({user}): {got}, expected {expected} {why}")

        world = await build_world(harness, clients, ids, caps, kickers, deciders)
        for cmd in main:
            await walk(world, cmd, performers(table[cmd]))
        for cmd in TERMINAL:
            calls = performers(table[cmd])
            world = await build_world(harness, clients, ids, set(table[cmd].needs), [], [])
            await walk(world, cmd, [c for c in calls if c[0] != "owner"] + [c for c in calls if c[0] == "owner"])
    assert mismatches == []


# The capabilities an overwrite can carry (docs/community-permissions.md, Capabilities).
CHANNEL_CAPS = ("view_channel", "send", "read_history", "mention_everyone", "manage_messages", "manage_channels", "manage_roles")


def _in_place(row_needs_cell: str) -> bool:
    return re.search(r"in the (channel|category)", row_needs_cell) is not None


def needs_cells() -> dict[str, str]:
    section = DOC.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    return {_cells(line)[0]: line.split("|")[2] for line in section.splitlines()[2:] if line.startswith("| `")}


async def test_where_the_capability_is_held(harness):
    """The `needs` column's where: for every row needing a capability an overwrite can carry,
    a member given it only by an overwrite of their own (on the category the walk acts in, or
    #hidden) gets what the holder gets if the row checks it in the channel or category, and
    what a member without it gets if it is checked in the community; a member holding it
    through a role but denied it by such an overwrite, the other way round."""
    table, cells = policy_table(), needs_cells()
    rows = {cmd: row for cmd, row in table.items() if cmd not in TERMINAL and len(row.needs) == 1 and row.needs[0] in CHANNEL_CAPS}
    caps = {row.needs[0] for row in rows.values()}
    names = {"owner", "admin", "without", "t"} | {f"{p}_{cap}" for cap in [*caps, "staff"] for p in ("h", "to", "ow", "dn")}
    ids = {name: await harness.add_user(name) for name in sorted(names)}
    mismatches = []
    async with AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(harness.client(name)) for name in sorted(names)}
        w = await build_world(harness, clients, ids, caps, [], [])
        cid, owner = w.cid, w.owner
        # ow_<cap>: a role with nothing in it above Low (to rank above the roles acted on), and
        # <cap> allowed to them alone; dn_<cap>: "Has <cap>", and <cap> denied to them alone.
        plain = (await owner.request("community_role_create", {"community_id": cid, "name": "Plain", "position": 3}))["role"]["role_id"]
        roles = {r["name"]: r["role_id"] for r in (await owner.request("community_role_list", {"community_id": cid}))["roles"]}

        async def overwrite(place: str, place_id: int, user: str, key: str, cap: str) -> None:
            await owner.request("community_overwrite_set", {
                "community_id": cid, "place": place, "place_id": place_id, "target": "member", "target_id": ids[user], key: [cap]})

        for cap in caps:
            await clients[f"ow_{cap}"].request("community_join", {"community_id": cid})
            await clients[f"dn_{cap}"].request("community_join", {"community_id": cid})
            await owner.request("community_role_set", {"community_id": cid, "user_id": ids[f"ow_{cap}"], "add": [plain]})
            await owner.request("community_role_set", {"community_id": cid, "user_id": ids[f"dn_{cap}"], "add": [roles[f"Has {cap}"]]})
            for place, place_id in (("category", w.cat), ("channel", w.hidden)):
                await overwrite(place, place_id, f"ow_{cap}", "allow", cap)
                await overwrite(place, place_id, f"dn_{cap}", "deny", cap)
        for cmd, row in sorted(rows.items()):
            cap, there = row.needs[0], _in_place(cells[cmd])
            for user, expected in ((f"ow_{cap}", row.expect["holder" if there else "without"]),
                                   (f"dn_{cap}", row.expect["without" if there else "holder"])):
                data = await COMMANDS[cmd](w, user)
                if cmd == "community_category_delete":  # a fresh category: the overwrite goes on it
                    await overwrite("category", data["category_id"], user, "allow" if user.startswith("ow") else "deny", cap)
                got, why = await _answer(clients[user], cmd, data)
                if got != expected:
                    mismatches.append(f"{cmd} by {user}: {got}, expected {expected} {why}")
    assert len(rows) >= 15 and mismatches == []

"""K: a community of 10,000 members, 50 channels in 10 categories and 20 roles (issue 11).

Two figures: deliveries/s to one channel that every member sees, with 1,000 of the members
connected (one of them sending at F's rate, so the offer is F's), and the latency of
`community_channel_list`, the tree of channels one member sees, for many different members:
warm (the community's snapshot and the member's answers are cached), the first list after a
change that bumps the community's version (`community_role_update`: the snapshot is loaded
again) and another member's first list in that new version (the snapshot is loaded, the
member's answers are not).

The community is written into the database before the server starts, with chatd's own store
functions (chatd.store.community, community_roles), as the commands write it: members with a
read pointer in every channel, roles with positions, overwrites on categories and channels.
So a run against a running server (--url) skips K. What is community-specific on the wire is
the two adapters below, community_send_request and channel_list_request.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec

from .. import wire
from ..stats import summary_ms
from .base import Context, Result, scenario
from .fanout import Fanout
from .goals import Goal, at_least, count, number, samples
from .groups import DELIVERIES_GOAL, fanout_figures
from .send import text_pool

COMMUNITY_CMDS = ("community_send", "community_channel_list", "community_role_update")
MEMBERS = 10_000  # the community the goals were set for
TREE_GOAL_MS = 5.0  # p95 of one member's channel tree
TREE_SAMPLES = 100  # a p95 of fewer samples is not taken
PUSH = "community.message"
_encode = msgspec.json.Encoder().encode

# -- the community: 20 roles (lowest first), 10 categories of 5 channels, their overwrites ------

# (name, capabilities, share of the members that have it)
ROLES = [
    ("Muted", [], 0.01), ("Newcomer", [], 0.10), ("Verified", [], 0.30), ("lang-zh", [], 0.06), ("lang-ja", [], 0.04),
    ("lang-es", [], 0.04), ("lang-de", [], 0.03), ("Gamer", [], 0.12), ("Artist", [], 0.05), ("Writer", [], 0.04),
    ("Events", [], 0.05), ("Beta", [], 0.03), ("Supporter", [], 0.04), ("Dev", [], 0.01), ("Design", [], 0.005),
    ("Ops", [], 0.003), ("Helper", ["manage_messages"], 0.005), ("Staff", ["manage_messages", "mention_everyone"], 0.003),
    ("Mod", ["manage_messages", "mention_everyone", "kick", "mute", "manage_channels"], 0.002), ("Admin", ["administrator"], 0.0005),
]
# (category, its channels, its overwrites); an overwrite is (role name or "@everyone", allow, deny)
HIDE = ("@everyone", [], ["view_channel"])
CATEGORIES: list[tuple[str, list[str], list[tuple[str, list[str], list[str]]]]] = [
    ("Text Channels", ["general", "introductions", "off-topic", "help", "links"], [("Muted", [], ["send"])]),
    ("Announcements", ["news", "releases", "rules", "roadmap", "polls"], [("@everyone", [], ["send"]), ("Staff", ["send"], []), ("Mod", ["send"], [])]),
    ("Languages", ["zh", "ja", "es", "de", "other-languages"], []),
    ("Games", ["game-chat", "lfg", "screenshots", "mods", "speedruns"], [("Newcomer", [], ["send"])]),
    ("Art and Writing", ["art", "writing", "critique", "commissions", "showcase"], [("Artist", ["mention_everyone"], []), ("Writer", ["mention_everyone"], [])]),
    ("Events", ["event-news", "event-chat", "contests", "submissions", "results"], [HIDE, ("Events", ["view_channel"], []), ("Supporter", ["view_channel"], [])]),
    ("Beta", ["beta-news", "beta-feedback", "beta-bugs", "beta-ideas", "beta-chat"], [HIDE, ("Beta", ["view_channel"], []), ("Dev", ["view_channel"], [])]),
    ("Development", ["dev-chat", "design", "code-review", "builds", "ops-alerts"], [HIDE, ("Dev", ["view_channel"], []), ("Design", ["view_channel"], []), ("Ops", ["view_channel"], [])]),
    ("Staff", ["staff-chat", "reports", "appeals", "mod-log", "staff-notes"], [HIDE, ("Helper", ["view_channel"], []), ("Staff", ["view_channel"], []), ("Mod", ["view_channel"], [])]),
    ("Supporters", ["supporter-chat", "supporter-news", "perks", "feedback", "lounge"], [HIDE, ("Supporter", ["view_channel"], [])]),
]
# Channels with overwrites of their own (no longer following their category)
CHANNEL_OVERWRITES: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "zh": [HIDE, ("lang-zh", ["view_channel"], [])],
    "ja": [HIDE, ("lang-ja", ["view_channel"], [])],
    "es": [HIDE, ("lang-es", ["view_channel"], [])],
    "de": [HIDE, ("lang-de", ["view_channel"], [])],
    "ops-alerts": [HIDE, ("Ops", ["view_channel"], []), ("Dev", [], ["send"])],
    "mod-log": [HIDE, ("Mod", ["view_channel"], [])],
    "rules": [("@everyone", [], ["send"])],
}
FANOUT_CHANNEL = "general"  # every member sees it
EVERYONE_ROLE_SHARE = sum(share for _, _, share in ROLES)  # about 1 role per member


def seed_community(path: Any, members: int, rng_seed: int = 11) -> dict[str, Any]:
    """Write the community into the database at `path`: bench1 its owner, bench2..bench{members}
    members with roles drawn at random (each role its share of the members). Returns the ids
    the scenario needs and what was written."""
    from chatd.policy.community_perms import from_names
    from chatd.store import community as store
    from chatd.store import community_roles as roles_store
    from chatd.store.db import IdGen, connect, now_ms
    from chatd.store.writer import WriteCtx

    rng = random.Random(rng_seed)
    conn = connect(path)
    try:
        ids = dict(conn.execute("SELECT name, id FROM users WHERE name LIKE 'bench%'"))
        users = [ids[f"bench{k}"] for k in range(1, members + 1)]
        ctx = WriteCtx(conn, IdGen(0))
        ctx.now = now_ms()
        conn.execute("BEGIN")
        cid = store.create(ctx, users[0], "bench community", "", "", True, "open")
        for uid in users[1:]:
            store.add_member(ctx, cid, uid)
        role_ids: dict[str, int] = {"@everyone": conn.execute("SELECT everyone_role_id FROM communities WHERE id = ?", (cid,)).fetchone()[0]}
        for position, (name, allow, _) in enumerate(ROLES, start=1):
            role_ids[name] = roles_store.insert(ctx, cid, name, position, int(from_names(allow)), {})  # lowest first: nothing moves
        channels: dict[str, int] = {}
        categories: dict[str, int] = {}
        for cpos, (cat, names, overwrites) in enumerate(CATEGORIES):
            cat_id = categories[cat] = store.create_category(ctx, cid, cat, cpos)
            for pos, name in enumerate(names):
                channels[name] = store.create_channel(ctx, cid, name, cat_id, pos)
            for who, allow, deny in overwrites:
                store.set_overwrite(conn, cid, "category", cat_id, "role", role_ids[who], int(from_names(allow)), int(from_names(deny)))
        for name, overwrites in CHANNEL_OVERWRITES.items():
            for who, allow, deny in overwrites:
                store.set_overwrite(conn, cid, "channel", channels[name], "role", role_ids[who], int(from_names(allow)), int(from_names(deny)))
        given: dict[int, list[int]] = {}
        for uid in users[1:]:
            mine = [role_ids[name] for name, _, share in ROLES if rng.random() < share]
            if mine:
                given[uid] = mine
        conn.executemany(
            "INSERT INTO community_member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)",
            [(cid, uid, rid) for uid, rids in given.items() for rid in rids],
        )
        # Five members get an overwrite of their own: they see the Staff category.
        for uid in users[1:6]:
            store.set_overwrite(conn, cid, "category", categories["Staff"], "member", uid, int(from_names(["view_channel"])), 0)
        store.bump(conn, cid)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {
        "community_id": cid,
        "channel_id": channels[FANOUT_CHANNEL],
        "role_id": role_ids["Events"],  # the role the changes edit
        "roles": len(ROLES),
        "categories": len(CATEGORIES),
        "channels": len(channels),
        "members_with_roles": len(given),
        "role_assignments": sum(len(r) for r in given.values()),
        "no_role_members": [f"bench{k}" for k in range(2, members + 1) if users[k - 1] not in given],
    }


# -- the wire adapters --------------------------------------------------------------------------


def community_send_request(rid: str, channel_id: int, cmid: str, text: str) -> bytes:
    return _encode({"cmd": "community_send", "id": rid, "data": {"channel_id": channel_id, "client_msg_id": cmid, "content": {"type": "text", "text": text}}})


def channel_list_request(rid: str, community_id: int) -> bytes:
    return _encode({"cmd": "community_channel_list", "id": rid, "data": {"community_id": community_id}})


# -- the channel tree ---------------------------------------------------------------------------


def _ask(loop: wire.Loop, conn: wire.Conn, payload_of: Any, timeout: float = 30.0) -> tuple[wire.Envelope, float]:
    """One request on conn, waited for: (response, seconds from its send to its response)."""
    box: list[Any] = []

    def on_reply(c: wire.Conn, env: wire.Envelope, t: float, t_sent: float) -> None:
        box.append((env, t - t_sent))

    conn.next_id += 1
    rid = str(conn.next_id)
    conn.request_raw(rid, payload_of(rid), on_reply)
    if not loop.run(lambda: bool(box), wire.now() + timeout):
        raise wire.WireError(f"no response within {timeout} s")
    env, dt = box[0]
    if not env.ok:
        raise wire.WireError(f"{env.error}")
    return env, dt


def measure_trees(target: Any, owner_login: dict[str, Any], member_logins: list[dict[str, Any]], community_id: int, role_id: int,
                  passes: int, changes: int, fresh_per_change: int) -> dict[str, Any]:
    """Channel-tree latencies: warm (each member's second and later lists in one version), cold
    (the first list after a version bump) and fresh (other members' first lists after it). The
    lists after a change are asked once the asking member has heard it (community.role_changed,
    which goes to every member), as a client refetching its tree would."""
    loop = wire.Loop()
    heard: dict[int, int] = {}  # connection -> community.role_changed pushes it got

    def on_push(c: wire.Conn, env: wire.Envelope, t: float) -> None:
        if env.cmd == "community.role_changed":
            heard[id(c)] = heard.get(id(c), 0) + 1

    try:
        conns = wire.open_many(loop, target.url, [owner_login, *member_logins], on_push=on_push, timeout=300)
        owner, members = conns[0], conns[1:]

        def tree(rid: str) -> bytes:
            return channel_list_request(rid, community_id)

        first, warm, cold, fresh, change = [], [], [], [], []
        sizes: list[int] = []
        for c in members:  # every member's first list in this version
            env, dt = _ask(loop, c, tree)
            first.append(dt)
            d = wire.decode_data(env)
            sizes.append(sum(len(cat["channels"]) for cat in d["categories"]) + len(d["channels"]))
        for _ in range(passes):
            for c in members:
                warm.append(_ask(loop, c, tree)[1])
        at = 0
        for k in range(changes):
            caps = ["mention_everyone"] if k % 2 == 0 else []

            def update(rid: str, caps: list[str] = caps) -> bytes:
                return _encode({"cmd": "community_role_update", "id": rid, "data": {"community_id": community_id, "role_id": role_id, "allow": caps}})

            change.append(_ask(loop, owner, update)[1])
            for j in range(1 + fresh_per_change):
                c = members[at % len(members)]
                # A client refetches its tree when it hears the change: ask once this one has.
                if not loop.run(lambda c=c, k=k: heard.get(id(c), 0) > k, wire.now() + 30):
                    raise wire.WireError("a member did not hear community.role_changed within 30 s")
                dt = _ask(loop, c, tree)[1]
                at += 1
                (cold if j == 0 else fresh).append(dt)
    finally:
        loop.close()
    return {
        "first_ms": summary_ms(first), "warm_ms": summary_ms(warm), "cold_ms": summary_ms(cold), "fresh_ms": summary_ms(fresh),
        "change_ack_ms": summary_ms(change), "members_asking": len(member_logins),
        "visible_channels": {"min": min(sizes), "max": max(sizes), "distinct": len(set(sizes))} if sizes else {},
        "latencies": {"warm": warm, "cold": cold, "fresh": fresh},
    }


# -- the scenario -------------------------------------------------------------------------------


def plan_k(ctx: Context) -> dict[str, Any]:
    members = ctx.scale(MEMBERS, 200)
    connected = min(members, ctx.args.f_members or ctx.scale(1000, 50))
    rate = ctx.args.f_rate or ctx.scale(105.0, 20.0)
    procs = ctx.args.procs if ctx.args.procs is not None else ctx.scale(1, 0)
    return {
        "members": members, "channels": sum(len(c[1]) for c in CATEGORIES), "roles": len(ROLES), "connected": connected,
        "receivers": connected - 1, "rate_per_s": rate, "offered_deliveries_per_s": rate * (connected - 1),
        "duration_s": ctx.args.duration or ctx.scale(10.0, 1.0), "generator_processes": procs + 1,
        "tree_members": ctx.scale(500, 40), "tree_passes": ctx.scale(4, 2), "tree_changes": ctx.scale(300, 20), "tree_fresh_per_change": 3,
    }


K_SCALE = at_least("members", MEMBERS, "{} members")
K_OFFER = at_least("offered_deliveries_per_s", DELIVERIES_GOAL, "offered {} deliveries/s")


def _title(p: dict[str, Any]) -> str:
    return (
        f"one community of {count(p['members'], 'member')} ({number(p['channels'])} channels, {number(p['roles'])} roles), "
        f"{count(p['connected'], 'connected member')}: one sends to a channel all see at {number(p['rate_per_s'])} msgs/s "
        f"({number(p['offered_deliveries_per_s'])} deliveries/s offered), {number(p['duration_s'])} s; "
        f"the channel tree of {count(p['tree_members'], 'member')}, warm and after {count(p['tree_changes'], 'role change')}"
    )


@scenario(
    "K",
    _title,
    "deliveries/s to one channel, send→receive p50/p99; channel tree p50/p95/p99 warm, after a change (cold) and fresh",
    plan=plan_k,
    goals=(
        Goal("deliveries_per_s", ">=", DELIVERIES_GOAL, "≥ 100,000 deliveries/s (F's goal)", needs=(K_SCALE, K_OFFER)),
        Goal("tree_warm_p95_ms", "<=", TREE_GOAL_MS, "channel tree p95 ≤ 5 ms (warm)", needs=(K_SCALE, samples("tree.warm_ms", TREE_SAMPLES, "trees"))),
        Goal("tree_cold_p95_ms", "<=", TREE_GOAL_MS, "channel tree p95 ≤ 5 ms (right after a change)", needs=(K_SCALE, samples("tree.cold_ms", TREE_SAMPLES, "trees"))),
    ),
    needs=COMMUNITY_CMDS,
    needs_note="needs communities: community_send, community_channel_list and community_role_update are not implemented by this server",
)
def scenario_k(ctx: Context, res: Result) -> None:
    p = res.params
    seeded: dict[str, Any] = {}

    def seed(srv: Any) -> None:
        seeded.update(seed_community(srv.data_dir / "chatd.sqlite3", p["members"]))

    texts = text_pool()
    with ctx.server(p["members"], seed=seed) as target:
        cid, ch = seeded["community_id"], seeded["channel_id"]
        names = [f"bench{k}" for k in range(2, p["members"] + 1)]
        asking = random.Random(5).sample(names, min(p["tree_members"], len(names)))
        trees = measure_trees(target, target.logins(["bench1"], device="owner")[0], target.logins(asking, device="tree"), cid, seeded["role_id"],
                              p["tree_passes"], p["tree_changes"], p["tree_fresh_per_change"])
        # The sender is a member with no role; the receivers the first members after it.
        sender = seeded["no_role_members"][0]
        receivers = [n for n in ["bench1", *names] if n != sender][: p["receivers"]]
        fan = Fanout(target, target.logins([sender])[0], target.logins(receivers), procs=p["generator_processes"] - 1, push_cmd=PUSH)
        try:

            def build(rid: str, cmid: str) -> bytes:
                return community_send_request(rid, ch, cmid, texts[len(cmid) % len(texts)])

            r = fan.round("k", p["rate_per_s"], p["duration_s"], build, drain=ctx.scale(5.0, 1.0))
        finally:
            fan.close()
    fanout_figures(res, r)
    for kind in ("warm", "cold", "fresh"):
        s = trees[f"{kind}_ms"]
        for pct in ("p50", "p95", "p99"):
            if pct != "p99" or s.get("n", 0) >= 1000:  # a p99 of fewer samples is not taken
                res.fig(f"tree_{kind}_{pct}_ms", s.get(pct), "ms")
    seeded.pop("no_role_members")
    res.detail = {"fanout": {k: v for k, v in r.items() if k not in ("latencies", "timeline", "acks_timeline")},
                  "tree": {k: v for k, v in trees.items() if k != "latencies"}, "community": seeded}
    res.samples = {"delivery": [x * 1000 for x in r["latencies"]], **{f"tree {k}": [x * 1000 for x in v] for k, v in trees["latencies"].items()}}
    res.timelines = {"deliveries": r["timeline"]}
    res.generator = r["generator"]
    res.server = r["server"]
    notes = []
    if r["errors"]:
        notes.append(f"errors: {r['errors']}")
    if r["losses"] or r["duplicates"]:
        notes.append(f"{r['losses']} lost, {r['duplicates']} duplicated")
    res.note = "; ".join(notes)

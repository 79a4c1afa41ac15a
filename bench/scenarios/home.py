"""Q: the home screen's list, `chat_conversations`, for a user with 1,000 conversations of every kind (issue 13).

One user (bench1) is in 1,000 [100] conversations: half DMs, 30 % groups, 10 % rooms and
10 % channels of a few communities (plus one channel per community hidden from the user by an
overwrite: it takes a place in the rows and is left out of the page). Each has 3 to 6
messages, sent at times spread over 30 days and interleaved across conversations; most are
read, some have 1 to 5 unread messages, a few mention the user (or everyone), a few of the
newest messages the user deleted for themselves, 10 are pinned and about 20 have a sort order of
the user's own. It is written into the database before the server starts with chatd's own
store functions (chatd.store.dm, membership, group, room, community, messages), as the
commands write it; so a run against a running server (--url) skips Q.

The user then asks pages of 50 one request at a time, three kinds in turn: the first page
(offset 0), a deeper one (offset 500 [50]) and the first page of `unread_only`. Latency is
from the request's send to its response, on one connection.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec

from .. import wire
from ..stats import Meter, ServerMeter, others_cores, summary_ms
from .base import Context, Result, scenario
from .goals import Goal, at_least, count, number, samples

CONVERSATIONS = 1000  # the user the goal was set for
PAGE_GOAL_MS = 5.0  # p99 of the first page
SHARES = (("dm", 0.5), ("group", 0.3), ("room", 0.1), ("channel", 0.1))
DAY_MS = 86_400_000
VARIANTS = ("first", "deep", "unread")


def layout(conversations: int) -> dict[str, int]:
    """How many conversations of each kind, and how many communities hold the channels."""
    out = {kind: int(conversations * share) for kind, share in SHARES}
    out["dm"] += conversations - sum(out.values())
    out["communities"] = max(1, min(4, out["channel"] // 5))
    return out


def seed_home(path: Any, conversations: int, users: int, rng_seed: int = 13) -> dict[str, Any]:
    """Write bench1's conversations into the database at `path` (users bench1..bench{users} exist).
    Returns what was written."""
    from chatd.core.validate import new_message
    from chatd.config import LimitsConfig
    from chatd.policy.community_perms import from_names
    from chatd.protocol.content import Text
    from chatd.store import community, group, messages, room, search
    from chatd.store import conversations as conv_store
    from chatd.store import dm as dm_store
    from chatd.store import membership as rows
    from chatd.store.db import IdGen, connect, now_ms
    from chatd.store.writer import WriteCtx

    rng = random.Random(rng_seed)
    lay = layout(conversations)
    limits = LimitsConfig()
    conn = connect(path)
    try:
        ids = dict(conn.execute("SELECT name, id FROM users WHERE name LIKE 'bench%'"))
        me = ids["bench1"]
        others = [ids[f"bench{k}"] for k in range(2, users + 1)]
        ctx = WriteCtx(conn, IdGen(0))
        end = now_ms() - 60_000
        ctx.now = end - 31 * DAY_MS
        conn.execute("BEGIN")
        convs: list[tuple[str, int, list[int]]] = []  # (kind, conv_id, the other members)
        for peer in others[: lay["dm"]]:
            convs.append(("dm", dm_store.create_conv(ctx, me, peer), [peer]))
        for kind, store, n in (("group", group, lay["group"]), ("room", room, lay["room"])):
            for i in range(n):
                conv_id = rows.create_conversation(ctx, kind, f"{kind} {i}")
                mates = rng.sample(others, rng.randint(2, 8) if kind == "group" else rng.randint(5, 20))
                owner = me if i % 3 == 0 else mates[0]
                cols = {"avatar": "", "description": "", "owner_id": owner, "created_by": owner, "member_count": 0, "join_by_id": False, "approval": False}
                store.insert_row(conn, conv_id, cols)
                rows.add(ctx, store.TABLE, conv_id, [owner], role="owner")
                rows.add(ctx, store.TABLE, conv_id, [u for u in [me, *mates] if u != owner])
                convs.append((kind, conv_id, mates))
        hidden: list[int] = []
        per = [lay["channel"] // lay["communities"] + (1 if c < lay["channel"] % lay["communities"] else 0) for c in range(lay["communities"])]
        for c, n in enumerate(per):
            owner, *mates = rng.sample(others, 10)
            cid = community.create(ctx, owner, f"community {c}", "", "", True, "open")
            for uid in [me, *mates]:
                community.add_member(ctx, cid, uid)
            cat = community.create_category(ctx, cid, "Text Channels", 0)
            for pos in range(n):
                convs.append(("channel", community.create_channel(ctx, cid, f"channel-{c}-{pos}", cat, pos), mates))
            secret = community.create_channel(ctx, cid, f"staff-{c}", cat, n)
            community.set_overwrite(conn, cid, "channel", secret, "member", me, 0, int(from_names(["view_channel"])))
            convs.append(("channel", secret, mates))
            hidden.append(secret)
        # The messages: 3 to 6 per conversation, interleaved, at increasing times over 30 days.
        sends: list[int] = [i for i, _ in enumerate(convs) for _ in range(rng.randint(3, 6))]
        rng.shuffle(sends)
        step = 30 * DAY_MS // max(1, len(sends))
        final = {i: k for k, i in enumerate(sends)}  # each conversation's newest message
        last: dict[int, dict[str, Any]] = {}
        mention = {i for i in range(len(convs)) if rng.random() < 0.05}  # its newest message mentions the user, unread
        everyone = {i for i, c in enumerate(convs) if c[0] in ("group", "room") and i not in mention and rng.random() < 0.03}  # @all, unread
        for k, i in enumerate(sends):
            kind, conv_id, mates = convs[i]
            ctx.now = end - 30 * DAY_MS + k * step
            tagged: list[int] = []
            if final[i] == k and i in mention | everyone:
                sender, tagged = rng.choice(mates), [me] if i in mention else [0]
            else:
                sender = me if rng.random() < 0.25 else rng.choice(mates)
            text = ("@bench1 " if tagged == [me] else "@all " if tagged else "") + f"message {k} in {kind} {conv_id}"
            last[conv_id] = messages.insert(ctx, conv_id, new_message(limits, sender, Text(text=text), client_msg_id=f"q{k}", mentions=tagged))
        # Unread counts (most read, some 1 to 5 behind), the user's own deletions, pins and order.
        unread = deleted = 0
        for n, (kind, conv_id, _) in enumerate(convs):
            top = last[conv_id]["seq"] if conv_id in last else 0
            behind = 0 if rng.random() < 0.6 and n not in mention | everyone else rng.randint(1, 5)
            rows.set_read(conn, conv_id, [me], max(0, top - behind))
            unread += bool(behind and top)
            acc = conv_store.Access(conv_id, me, None, 0, 0)
            if conv_id in last and n % 50 == 11:  # the user deleted its newest message for themselves
                messages.hide(ctx, conv_id, me, [last[conv_id]["id"]])
                deleted += 1
            if n % (len(convs) // 10 or 1) == 5 and kind != "channel" or n == 7:  # 10 pinned among the DMs, groups and rooms
                conv_store.set_flag(conn, acc, "pinned", True)
            if n % (len(convs) // 20 or 1) == 3:  # about 20 with an order of the user's own
                conv_store.set_sort_order(conn, acc, rng.randint(1, 100))
        while not search.op_index_pending(ctx, 2048)[1]:  # as the writer does a little after storing
            pass
        conn.execute("COMMIT")
        pinned, ordered, mentioned = conn.execute(
            "SELECT SUM(pinned), SUM(sort_order != 0), SUM(mention_seq > last_read_seq) FROM members WHERE user_id = ?", (me,)
        ).fetchone()
        (all_at,) = conn.execute(
            "SELECT COUNT(*) FROM members m JOIN conversations c ON c.id = m.conv_id WHERE m.user_id = ? AND c.all_mention_seq > m.last_read_seq", (me,)
        ).fetchone()
    finally:
        conn.close()
    kinds = {kind: sum(1 for c in convs if c[0] == kind) for kind, _ in SHARES}
    kinds["channel"] -= len(hidden)
    return {
        "conversations": len(convs) - len(hidden), "by_kind": kinds, "communities": lay["communities"], "hidden_channels": len(hidden),
        "messages": len(sends), "with_unread": unread, "unread_mentions": mentioned, "unread_all_mentions": all_at,
        "pinned": pinned, "with_sort_order": ordered, "newest_deleted_by_user": deleted,
    }


def measure(target: Any, login: dict[str, Any], requests: dict[str, dict[str, Any]], rounds: int, warm_up: int) -> dict[str, Any]:
    """Each request in turn, `rounds` times, one at a time on one connection (after `warm_up` unmeasured rounds)."""
    loop = wire.Loop()
    lat: dict[str, list[float]] = {name: [] for name in requests}
    pages: dict[str, Any] = {}
    try:
        (conn,) = wire.open_many(loop, target.url, [login])
        for name, data in requests.items():
            pages[name] = wire.check_ok(wire.call(loop, conn, "chat_conversations", data)[0])
        for _ in range(warm_up):
            for data in requests.values():
                wire.check_ok(wire.call(loop, conn, "chat_conversations", data)[0])
        meter, srv = Meter(), ServerMeter(target)
        srv.start()
        meter.start()
        for _ in range(rounds):
            for name, data in requests.items():
                env, dt = wire.call(loop, conn, "chat_conversations", data)
                if not env.ok:
                    raise wire.WireError(f"chat_conversations: {env.error}")
                lat[name].append(dt)
        meter.stop()
        srv.stop()
    finally:
        loop.close()
    return {"latencies": lat, "pages": pages, "meter": meter, "server": srv}


def _shape(page: dict[str, Any]) -> dict[str, Any]:
    """What a page held: entries by kind, and how many were pinned, unread, mentioned, ordered."""
    convs = page["conversations"]
    kinds: dict[str, int] = {}
    for e in convs:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    return {
        "entries": len(convs), "by_kind": kinds, "pinned": sum(e["pinned"] for e in convs), "unread": sum(1 for e in convs if e["unread"]),
        "mentioned": sum(1 for e in convs if e["at"]), "with_sort_order": sum(1 for e in convs if e["sort_order"]),
        "has_more": page["has_more"], "next_offset": page["next_offset"], "json_bytes": len(msgspec.json.encode(convs)),
    }


def plan_q(ctx: Context) -> dict[str, Any]:
    n = ctx.scale(CONVERSATIONS, 100)
    lay = layout(n)
    return {
        "conversations": n, **{f"{k}s": v for k, v in lay.items() if k != "communities"}, "communities": lay["communities"],
        "page_size": 50, "deep_offset": n // 2, "rounds": ctx.scale(1500, 100), "warm_up_rounds": ctx.scale(20, 5),
    }


def _title(p: dict[str, Any]) -> str:
    return (
        f"home screen: pages of {p['page_size']} of one user's {count(p['conversations'], 'conversation')} "
        f"({number(p['dms'])} DMs, {number(p['groups'])} groups, {number(p['rooms'])} rooms, {number(p['channels'])} channels in "
        f"{count(p['communities'], 'community', 'communities')}): the first page, the page at {number(p['deep_offset'])} and the first unread-only page, "
        f"{count(p['rounds'], 'time')} each"
    )


@scenario(
    "Q",
    _title,
    "page latency p50/p95/p99: first page, a deeper page, unread only; server CPU per page",
    plan=plan_q,
    goals=(
        Goal("first_p99_ms", "<=", PAGE_GOAL_MS, "p99 ≤ 5 ms (the first page, 1,000 conversations)",
             needs=(at_least("conversations", CONVERSATIONS, "{} conversations"), samples("first_ms", what="pages"))),
    ),
    needs=("chat_conversations",),
    needs_note="needs the home screen's list: chat_conversations is not implemented by this server",
)
def scenario_q(ctx: Context, res: Result) -> None:
    p = res.params
    users = p["dms"] + 1
    seeded: dict[str, Any] = {}

    def seed(srv: Any) -> None:
        seeded.update(seed_home(srv.data_dir / "chatd.sqlite3", p["conversations"], users))

    size = p["page_size"]
    requests = {"first": {"limit": size}, "deep": {"limit": size, "offset": p["deep_offset"]}, "unread": {"limit": size, "unread_only": True}}
    with ctx.server(users, seed=seed) as target:
        out = measure(target, target.logins(["bench1"], device="home")[0], requests, p["rounds"], p["warm_up_rounds"])
    p["conversations"] = seeded["conversations"]
    total = 0
    for name in VARIANTS:
        s = summary_ms(out["latencies"][name])
        total += s["n"]
        res.detail[f"{name}_ms"] = s
        for pct in ("p50", "p95", "p99"):
            res.fig(f"{name}_{pct}_ms", s.get(pct), "ms")
        res.samples[name] = [x * 1000 for x in out["latencies"][name]]
    cpu = out["server"].cpu
    res.fig("server_cpu_ms_per_page", None if cpu is None or not total else round(cpu / total * 1000, 3), "ms")
    res.detail["pages"] = {name: _shape(page) for name, page in out["pages"].items()}
    res.detail["seeded"] = seeded
    m = out["meter"]
    share = m.cpu / m.wall if m.wall else 0.0
    res.generator = {**m.to_json(), "cores_used": round(share, 3), "max_process_core_share": round(share, 3), "saturated": share >= 0.9}
    res.server = out["server"].to_json()
    res.server["others_cores"] = others_cores(res.server, res.generator)
    first = res.detail["pages"]["first"]
    if first["entries"] != min(size, seeded["conversations"]):
        res.note = f"the first page held {first['entries']} entries"

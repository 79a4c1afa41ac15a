"""H (history pages) and S (search): request, wait for the response, repeat; one connection each."""

from __future__ import annotations

import random
from typing import Any

import msgspec

from .. import corpus, wire
from ..stats import Meter, ServerMeter, others_cores, summary_ms
from .base import Context, Result, scenario
from .goals import Goal, at_least, count, number, samples
from .send import text_pool

_encode = msgspec.json.Encoder().encode
H_SMALL = 2000  # messages of the DM H's first goal was set for
CORPUS_GOAL = 1_000_000  # messages of the database the goals of H, S and T were set for
CORPUS_SCALE = at_least("corpus_messages", CORPUS_GOAL, "a {}-message corpus")


def database(messages: int | None) -> str:
    """The corpus as a title names it."""
    return f"a {number(messages)}-message database" if messages is not None else "the server's database (size not known)"


class _Seq(msgspec.Struct):
    seq: int


class _Page(msgspec.Struct):
    messages: list[_Seq] = []
    has_more: bool = False
    last_seq: int = 0


class _Results(msgspec.Struct):
    results: list[Any] = []
    has_more: bool = False


class _Conv(msgspec.Struct):
    peer: dict[str, Any] | None = None
    last_seq: int = 0


class _Convs(msgspec.Struct):
    conversations: list[_Conv] = []


def fill(loop: wire.Loop, conn: wire.Conn, peer: int, n: int, window: int = 32, timeout: float = 120) -> None:
    """Send n messages to peer, `window` in flight at a time."""
    texts = text_pool()
    state = {"sent": 0, "done": 0, "errors": 0}

    def on_ack(c: wire.Conn, env: wire.Envelope, t: float, t_sent: float) -> None:
        state["done"] += 1
        if not env.ok:
            state["errors"] += 1
        send_next()

    def send_next() -> None:
        if state["sent"] < n:
            i = state["sent"]
            state["sent"] += 1
            conn.request("chat_dm_send", {"peer": peer, "content": {"type": "text", "text": texts[i % len(texts)]}}, on_ack)

    for _ in range(min(window, n)):
        send_next()
    if not loop.run(lambda: state["done"] >= n, wire.now() + timeout):
        raise wire.WireError(f"filling the conversation timed out ({state['done']} of {n})")
    if state["errors"]:
        raise wire.WireError(f"{state['errors']} of {n} sends failed while filling the conversation")


def sweep(loop: wire.Loop, conn: wire.Conn, peer: int, pages: int, limit: int = 20) -> list[float]:
    """Page back from the newest message, `limit` at a time, for up to `pages` pages. Returns latencies (s)."""
    lat = []
    before: int | None = None
    for _ in range(pages):
        data: dict[str, Any] = {"peer": peer, "limit": limit}
        if before is not None:
            data["before_seq"] = before
        env, dt = wire.call(loop, conn, "chat_dm_history", data)
        page = wire.decode_ok(env, _Page)
        lat.append(dt)
        if not page.messages or not page.has_more:
            break
        before = page.messages[0].seq
    return lat


def random_pages(loop: wire.Loop, conn: wire.Conn, n: int, rng: random.Random, limit: int = 20) -> list[float]:
    """n pages at random places in random conversations of the connection's user."""
    env, _ = wire.call(loop, conn, "chat_dm_conversations", {"limit": 500})
    convs = [c for c in wire.decode_ok(env, _Convs).conversations if c.peer and c.last_seq > 1]
    lat = []
    for _ in range(n if convs else 0):
        c = rng.choice(convs)
        env, dt = wire.call(loop, conn, "chat_dm_history", {"peer": c.peer["id"], "limit": limit, "before_seq": rng.randint(2, c.last_seq + 1)})  # type: ignore[index]
        wire.check_ok(env)
        lat.append(dt)
    return lat


def plan_h(ctx: Context) -> dict[str, Any]:
    return {
        "page_size": 20,
        "small_messages": ctx.args.h_messages or ctx.scale(H_SMALL, 400),
        "small_sweeps": ctx.scale(10, 2),
        "corpus_messages": ctx.args.corpus,
        "deep_pages": ctx.scale(1000, 20),
        "random_pages": ctx.scale(1000, 50),
    }


@scenario(
    "H",
    lambda p: f"history: pages of {p['page_size']} back through {count(p['small_messages'], 'message')}, and through {database(p['corpus_messages'])}",
    "page latency p50/p99",
    plan=plan_h,
    goals=(
        Goal("small_p99_ms", "<=", 2.0, "p99 ≤ 2 ms", needs=(at_least("small_messages", H_SMALL, "{} messages"), samples("small_ms", what="pages"))),
        Goal("big_p99_ms", "<=", 2.0, "p99 ≤ 2 ms on 1,000,000 messages", needs=(CORPUS_SCALE, samples("big_ms", what="pages"))),
    ),
)
def scenario_h(ctx: Context, res: Result) -> None:
    p = res.params
    n_small, sweeps, deep_pages, n_random = p["small_messages"], p["small_sweeps"], p["deep_pages"], p["random_pages"]
    meter = Meter()
    # 1. A fresh DM of n_small messages, paged back from the newest to the first, `sweeps` times.
    with ctx.server(2) as target:
        loop = wire.Loop()
        try:
            a, b = wire.open_many(loop, target.url, target.logins(["bench1", "bench2"]))
            fill(loop, a, b.user["id"], n_small)  # type: ignore[index]
            sweep(loop, a, b.user["id"], 3)  # type: ignore[index]  # warm-up
            srv_small = ServerMeter(target)
            srv_small.start()
            meter.start()
            small = [x for _ in range(sweeps) for x in sweep(loop, a, b.user["id"], n_small // 20)]  # type: ignore[index]
            meter.stop()
            srv_small.stop()
        finally:
            loop.close()
    # 2. The corpus: the deep DM paged back from the newest, then pages at random places
    #    in the conversations of the busy user and of a typical user.
    meta = ctx.corpus_meta() or {}
    target = ctx.corpus_server()
    rng = random.Random(8)
    loop = wire.Loop()
    try:
        typical = (meta.get("typical_user") or {}).get("user", 3)
        busy, other = wire.open_many(loop, target.url, target.logins(["bench1", f"bench{typical}"]))
        deep_peer = (meta.get("deep") or {}).get("peer", 2)
        sweep(loop, busy, deep_peer, 3)  # warm-up
        meter2 = Meter()
        srv_big = ServerMeter(target)
        srv_big.start()
        meter2.start()
        deep = sweep(loop, busy, deep_peer, deep_pages)
        rand = random_pages(loop, busy, n_random // 2, rng) + random_pages(loop, other, n_random // 2, rng)
        meter2.stop()
        srv_big.stop()
    finally:
        loop.close()
    big = deep + rand
    s_small, s_big = summary_ms(small), summary_ms(big)
    p["corpus_messages"] = meta.get("messages")
    res.fig("small_p50_ms", s_small.get("p50"), "ms")
    res.fig("small_p99_ms", s_small.get("p99"), "ms")
    res.fig("big_p50_ms", s_big.get("p50"), "ms")
    res.fig("big_p99_ms", s_big.get("p99"), "ms")
    res.detail = {"small_ms": s_small, "big_ms": s_big, "big_deep_ms": summary_ms(deep), "big_random_ms": summary_ms(rand), "corpus": meta}
    res.samples = {f"{n_small:,} msgs": [x * 1000 for x in small], f"{number(meta['messages'])}-message corpus" if meta.get("messages") else "corpus": [x * 1000 for x in big]}
    gen = {"cpu_s": round(meter.cpu + meter2.cpu, 3), "wall_s": round(meter.wall + meter2.wall, 3)}
    gen["max_process_core_share"] = round(gen["cpu_s"] / gen["wall_s"], 3) if gen["wall_s"] else 0
    gen["saturated"] = gen["max_process_core_share"] >= 0.9
    res.generator = gen
    res.server = {"small": srv_small.to_json(), "big": srv_big.to_json()}
    for part, m in (("small", meter), ("big", meter2)):
        res.server[part]["others_cores"] = others_cores(res.server[part], {"cores_used": m.cpu / m.wall if m.wall else 0.0})


@scenario(
    "S",
    lambda p: f"search over {database(p['corpus_messages'])} with English and Chinese text, {count(p['repeats'], 'pass', 'passes')}",
    "query latency p50/p95/p99, hits",
    plan=lambda ctx: {"repeats": ctx.args.s_repeats or ctx.scale(10, 2), "limit": 20, "queries": corpus.QUERIES, "corpus_messages": ctx.args.corpus, "warm_up_passes": 1},
    goals=(
        Goal("en_p95_ms", "<=", 20.0, "p95 ≤ 20 ms (English)", needs=(CORPUS_SCALE,)),
        Goal("zh1_p95_ms", "<=", 20.0, "p95 ≤ 20 ms (1-char Chinese)", needs=(CORPUS_SCALE,)),
        Goal("zh2_p95_ms", "<=", 20.0, "p95 ≤ 20 ms (2-char Chinese)", needs=(CORPUS_SCALE,)),
    ),
)
def scenario_s(ctx: Context, res: Result) -> None:
    repeats = res.params["repeats"]
    meta = ctx.corpus_meta() or {}
    target = ctx.corpus_server()
    typical = (meta.get("typical_user") or {}).get("user", 3)
    users = {"busy": "bench1", "typical": f"bench{typical}"}
    loop = wire.Loop()
    per_query: dict[str, dict[str, Any]] = {}
    by_class: dict[str, list[float]] = {c: [] for c in corpus.QUERIES}
    meter = Meter()
    srv = ServerMeter(target)
    try:
        conns = dict(zip(users, wire.open_many(loop, target.url, target.logins(list(users.values())))))
        for role, conn in conns.items():
            for cls, queries in corpus.QUERIES.items():
                for q in queries:  # warm-up: one unmeasured pass
                    wire.check_ok(wire.call(loop, conn, "chat_dm_search", {"query": q, "limit": 20})[0])
        srv.start()
        meter.start()
        for _ in range(repeats):
            for role, conn in conns.items():
                for cls, queries in corpus.QUERIES.items():
                    for q in queries:
                        env, dt = wire.call(loop, conn, "chat_dm_search", {"query": q, "limit": 20})
                        found = wire.decode_ok(env, _Results)
                        entry = per_query.setdefault(q, {"class": cls, "lat": [], "hits": {}, "has_more": {}})
                        entry["lat"].append(dt)
                        entry["hits"][role] = len(found.results)
                        entry["has_more"][role] = found.has_more
                        by_class[cls].append(dt)
        meter.stop()
        srv.stop()
    finally:
        loop.close()
    db = None if ctx.url else ctx.corpus()[0]
    detail = {}
    for q, e in per_query.items():
        s = summary_ms(e["lat"])
        detail[q] = {
            "class": e["class"],
            "p50_ms": s.get("p50"),
            "p95_ms": s.get("p95"),
            "max_ms": s.get("max"),
            "hits_first_page": e["hits"],
            "has_more": e["has_more"],
            "corpus_matches": corpus.corpus_count(db, q) if db is not None else None,
        }
        res.samples.setdefault(e["class"], []).extend(x * 1000 for x in e["lat"])
    res.params.update(users=users, corpus_messages=meta.get("messages"))
    for cls, lat in by_class.items():
        s = summary_ms(lat)
        res.fig(f"{cls}_p50_ms", s.get("p50"), "ms")
        res.fig(f"{cls}_p95_ms", s.get("p95"), "ms")
        res.fig(f"{cls}_p99_ms", s.get("p99"), "ms")
        hits = [h for q, d in detail.items() if d["class"] == cls for h in d["hits_first_page"].values()]
        res.fig(f"{cls}_hits", round(sum(hits) / len(hits), 1) if hits else None, "per query (first page, ≤ 20)")
    res.detail = {"queries": detail, "corpus": meta}
    share = meter.cpu / meter.wall if meter.wall else 0
    res.generator = {**meter.to_json(), "cores_used": round(share, 3), "max_process_core_share": round(share, 3), "saturated": share >= 0.9}
    res.server = srv.to_json()
    res.server["others_cores"] = others_cores(res.server, res.generator)

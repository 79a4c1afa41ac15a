"""M (memory per idle connection) and T (start-up to the first accepted login)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from .. import wire
from ..target import SpawnedServer, raise_fd_limit
from .base import Context, Result, Skip, scenario
from .goals import Goal, at_least, count
from .reads import CORPUS_SCALE, database

KIB_PER_MB = 1e6 / 1024  # figures in MB are 10^6 bytes
M_CONNECTIONS = 10_000  # the idle connections M's per-connection goal was set for


def plan_m(ctx: Context) -> dict[str, Any]:
    levels = sorted(int(x) for x in (ctx.args.m_levels or ctx.scale("1000,5000,10000", "100,300")).split(","))
    return {"levels": levels, "connections": levels[-1], "settle_s": ctx.scale(2.0, 0.5), "fresh_start": not ctx.url}


def fresh_start(res: Result) -> str | None:
    """M's idle goal is for a server just started, which an attached one (--url) is not."""
    return None if res.params.get("fresh_start") else "an attached server: its RSS when M started, not after a fresh start"


@scenario(
    "M",
    lambda p: f"memory: RSS idle after start, and per idle authenticated connection (up to {count(p['connections'], 'connection')})",
    "MB, KiB per connection",
    plan=plan_m,
    goals=(
        Goal("idle_rss_mb", "<=", 32.0, "≤ 32 MB idle", needs=(fresh_start,)),
        Goal("kib_per_conn", "<=", 8.0, "≤ 8 KiB per idle connection", needs=(at_least("connections", M_CONNECTIONS, "{} connections"),)),
    ),
)
def scenario_m(ctx: Context, res: Result) -> None:
    levels, settle = res.params["levels"], res.params["settle_s"]
    soft, hard = raise_fd_limit()
    notes = []
    if soft < levels[-1] + 64:
        notes.append(f"the generator's fd limit ({soft}) caps the connections at {soft - 64}")
        levels = [n for n in levels if n <= soft - 64] or [soft - 64]
    n_max = levels[-1]
    users = n_max if not ctx.url else min(n_max, ctx.args.url_users)
    with ctx.server(users) as target:
        if target.pid is None:
            raise Skip("needs the server's pid to read its memory (--server-pid)")
        time.sleep(settle)
        idle_kib = target.rss_kib()
        idle_mem = target.memory_kib()
        names = [f"bench{i % users + 1}" for i in range(n_max)]
        logins = target.logins(sorted(set(names), key=lambda n: int(n[5:])))
        by_name = {x["name"]: x for x in logins}
        loop = wire.Loop()
        conns: list[wire.Conn] = []
        rows = []
        t_open = 0.0
        try:

            def keepalive() -> None:  # an idle client still sends its heartbeat
                for c in conns:
                    c.request("heartbeat", {}, lambda *a: None)
                loop.call_at(wire.now() + 20, keepalive)

            loop.call_at(wire.now() + 20, keepalive)
            for level in levels:
                t = time.perf_counter()
                conns += wire.open_many(loop, target.url, [by_name[n] for n in names[len(conns) : level]], batch=250, timeout=600)
                t_open += time.perf_counter() - t
                loop.sleep(settle)
                alive = sum(1 for c in conns if c.state == "open")
                rss = target.rss_kib()
                mem = target.memory_kib()
                rows.append(
                    {
                        "connections": level,
                        "open": alive,
                        "rss_kib": rss,
                        "rss_mb": round(rss / KIB_PER_MB, 1) if rss else None,
                        "kib_per_conn": round((rss - idle_kib) / level, 2) if rss and idle_kib else None,
                        "pss_kib": mem.get("Pss"),
                        "private_kib": mem.get("Private"),
                    }
                )
                ctx.log(f"  {level:,} connections: RSS {rows[-1]['rss_mb']} MB, {rows[-1]['kib_per_conn']} KiB each")
        finally:
            loop.close()
        server_fd = target.fd_limit()
    res.params.update(levels=levels, connections=n_max, distinct_users=users, generator_fd_limit=[soft, hard], server_fd_limit=list(server_fd) if server_fd else None)
    res.fig("idle_rss_mb", round(idle_kib / KIB_PER_MB, 1) if idle_kib else None, "MB")
    for row in rows:
        res.fig(f"rss_mb_{row['connections']}", row["rss_mb"], "MB")
    res.fig("kib_per_conn", rows[-1]["kib_per_conn"] if rows else None, f"KiB (at {levels[-1]:,})")
    res.detail = {"levels": rows, "idle_rss_kib": idle_kib, "idle_pss_kib": idle_mem.get("Pss"), "idle_private_kib": idle_mem.get("Private"), "open_seconds": round(t_open, 2), "logins_per_s": round(n_max / t_open, 1) if t_open else None}
    if ctx.url:
        notes.append("attached server: 'idle' is its RSS when M started, not after a fresh start")
    closed = [r for r in rows if r["open"] < r["connections"]]
    if closed:
        notes.append(f"only {closed[-1]['open']} of {closed[-1]['connections']} connections stayed open")
    res.note = "; ".join(notes)


def _start_to_login(srv: SpawnedServer) -> tuple[float, float]:
    """Start the server; returns (seconds to the printed URL, seconds to the first accepted login)."""
    t0 = time.perf_counter()
    printed = srv.start()
    loop = wire.Loop()
    try:
        wire.open_many(loop, srv.url, srv.logins(["bench1"]), timeout=30)
        total = time.perf_counter() - t0
    finally:
        loop.close()
    return printed, total


@scenario(
    "T",
    lambda p: f"start-up to first accepted login, on an empty database and on {database(p['corpus_messages'])}, {count(p['repeats'], 'start')} each",
    "seconds",
    plan=lambda ctx: {"repeats": ctx.args.t_repeats or ctx.scale(5, 1), "corpus_messages": ctx.args.corpus, "command": "chatd serve (a new process each time; the database file is in the page cache)"},
    goals=(
        Goal("empty_s", "<=", 1.0, "≤ 1 s"),
        Goal("big_s", "<=", 1.0, "≤ 1 s on 1,000,000 messages", needs=(CORPUS_SCALE,)),
        Goal("growth_s", "<=", 0.1, "not growing with the database (≤ 0.1 s more)", needs=(CORPUS_SCALE,)),
    ),
)
def scenario_t(ctx: Context, res: Result) -> None:
    if ctx.url:
        raise Skip("needs a server it starts itself (not --url)")
    repeats = res.params["repeats"]
    path, meta = ctx.corpus()
    runs: dict[str, list[tuple[float, float]]] = {}
    for label, source in (("empty", None), ("big", path)):
        srv = ctx.spawn(1, db_source=source)
        try:
            srv.prepare()
            runs[label] = []
            for _ in range(repeats):
                runs[label].append(_start_to_login(srv))
                srv.stop()
        finally:
            srv.cleanup()
    med = {k: statistics.median(t for _, t in v) for k, v in runs.items()}
    res.params["corpus_messages"] = meta["messages"]
    res.fig("empty_s", round(med["empty"], 3), "s")
    res.fig("big_s", round(med["big"], 3), "s")
    res.fig("growth_s", round(med["big"] - med["empty"], 3), "s")
    res.detail = {
        k: {"to_login_s": [round(t, 3) for _, t in v], "to_printed_url_s": [round(p, 3) for p, _ in v]} for k, v in runs.items()
    }
    res.samples = {k: [t * 1000 for _, t in v] for k, v in runs.items()}


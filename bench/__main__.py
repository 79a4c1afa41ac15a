"""python -m bench: run the benchmark scenarios against a real chatd and report every figure.

    .venv/bin/python -m bench                         # every scenario, full scale
    .venv/bin/python -m bench --quick --json out.json # every scenario, small scale (CI)
    .venv/bin/python -m bench --scenarios A,C --plot docs/img
    .venv/bin/python -m bench --url ws://127.0.0.1:8080/ws --password ...   # a running server

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import sqlite3
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

from . import corpus, report
from .stats import MachineMeter, machine_busy
from .scenarios import ALIASES, ORDER, REGISTRY, Context, Result, Skip
from .target import chatd_default_durability


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description="Benchmark chatd over real WebSocket connections.")
    p.add_argument("--scenarios", default=",".join(ORDER), help=f"comma-separated ids (default: all): {', '.join(ORDER)}; B = B-dm,B-group")
    p.add_argument("--quick", action="store_true", help="every scenario at a small scale (well under a minute)")
    p.add_argument("--json", metavar="FILE", help="write every figure to this JSON file")
    p.add_argument("--plot", metavar="DIR", help="write PNG charts here (needs matplotlib)")
    p.add_argument("--profile", metavar="DIR", help="sample each spawned server with py-spy while it runs; write stacks and a summary here")
    target = p.add_argument_group("the server")
    target.add_argument("--url", help="benchmark a running server at this ws:// URL instead of starting one")
    target.add_argument("--durability", choices=("normal", "full"), help="storage.durability of the spawned servers (default: chatd's own default); with --url, what the running server uses, recorded only (default: unknown)")
    target.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite", help="where the spawned servers keep their data: SQLite (chatd's default), or a private PostgreSQL cluster with PostgreSQL's default durability, started per server, the prepared database copied into it (docs/scaling.md); its processes count in the server's CPU")
    target.add_argument("--nodes", type=int, default=1, metavar="N", help="start N chatd nodes per spawned server, on one PostgreSQL database (needs --database postgresql); each scenario spreads its clients over them (bench/README.md)")
    target.add_argument("--password", default=corpus.PASSWORD, help="password of the users bench1..benchN on a running server")
    target.add_argument("--url-users", type=int, default=400, help="how many users bench1..benchN exist on the running server (default 400)")
    target.add_argument("--server-pid", type=int, help="pid of the running server, for its CPU and memory (default: found from the port)")
    target.add_argument("--workdir", help="where temporary data directories go (default: the system's temp dir)")
    target.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS", help="before each scenario, wait up to this long for other processes to leave the machine idle (a shared machine)")
    target.add_argument("--retry-busy", type=int, default=0, metavar="N", help="run a scenario up to N more times when other processes used the CPU during its measurement; keep the least disturbed run")
    target.add_argument("--keep", action="store_true", help="keep the temporary data directories (and server logs)")
    data = p.add_argument_group("the corpus (H, S, T)")
    data.add_argument("--corpus", type=int, help="messages in the corpus database (default 1,000,000; --quick 20,000)")
    data.add_argument("--cache", help="directory of cached corpus databases (default bench/cache)")
    data.add_argument("--prepare-data", metavar="DIR", help="write a data directory holding the corpus (users bench1..benchN, password as --password default) and exit; serve it for --url runs")
    scale = p.add_argument_group("scale (defaults depend on --quick)")
    scale.add_argument("--duration", type=float, help="measured seconds of A, B, F and K")
    scale.add_argument("--procs", type=int, help="generator processes for B-dm, B-group, and F and K receivers (0 = in the runner's own process)")
    scale.add_argument("--b-pairs", type=int, help="B-dm: sender/peer pairs (default 200)")
    scale.add_argument("--bgroup-members", type=int, help="B-group: members, all sending (default 20)")
    scale.add_argument("--c-rates", help="C: send rates per second (default 20,500)")
    scale.add_argument("--c-receivers", type=int, help="C: receivers (default 10)")
    scale.add_argument("--c-duration", type=float, help="C: seconds per rate (default 15)")
    scale.add_argument("--f-members", type=int, help="F: group members; K: connected members (default 1,000)")
    scale.add_argument("--f-rate", type=float, help="F and K: messages per second (default 105: 104,895 deliveries/s to 999 receivers)")
    scale.add_argument("--h-messages", type=int, help="H: messages of the small DM (default 2,000)")
    scale.add_argument("--s-repeats", type=int, help="S: measured passes over the queries (default 10)")
    scale.add_argument("--m-levels", help="M: connection counts (default 1000,5000,10000)")
    scale.add_argument("--t-repeats", type=int, help="T: starts per database (default 5)")
    scale.add_argument("--u-upload-rate", type=int, help="U: the server's files.upload_bytes_per_s, bytes per second, 0 for none (default: chatd's default)")
    return p


def selected(spec: str) -> list[str]:
    wanted: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        ids = ALIASES.get(item, [item])
        for sid in ids:
            if sid not in REGISTRY:
                raise SystemExit(f"bench: unknown scenario {sid!r} (known: {', '.join(ORDER)})")
            if sid not in wanted:
                wanted.append(sid)
    return [s for s in ORDER if s in wanted]


def wait_quiet(limit: float, log: Any, threshold: float = 0.3) -> float:
    """Wait (at most `limit` seconds) until the machine is busy less than `threshold` cores over a second."""
    t0 = time.perf_counter()
    while True:
        busy = machine_busy(1.0)
        waited = time.perf_counter() - t0
        if busy is None or busy < threshold or waited >= limit:
            if waited > 1.5:
                log(f"  waited {waited:.0f} s for a quiet machine (now {busy} cores busy)")
            return round(waited, 1)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = None
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kib / 1e6, 1) if mem_kib else None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "libraries": {d: version(d) for d in ("trio", "websockets", "msgspec", "trio-websocket")},
    }


BUSY_CORES = 0.25  # other processes using more than this during a measured window disturb it


def interference(res: Result) -> float | None:
    """The most cores other processes used during any measured window of the result (None: unknown)."""
    srv = res.server or {}
    windows = [srv] if "cores_used" in srv else [w for w in srv.values() if isinstance(w, dict)]
    vals = [w["others_cores"] for w in windows if w.get("others_cores") is not None]
    return max(vals) if vals else None


def where(params: dict[str, Any]) -> str:
    """Where a scenario ran when it ran on several nodes: "on 3 nodes sharing PostgreSQL"."""
    return f"on {params['nodes']} nodes sharing PostgreSQL"


def titled(title: str, params: dict[str, Any]) -> str:
    """A scenario's title, with the nodes it ran on when there were several."""
    return f"{title}, {where(params)}" if params.get("nodes", 1) > 1 else title


def check_nodes(args: argparse.Namespace) -> None:
    """--nodes N needs servers the run starts on PostgreSQL: several nodes share one PostgreSQL database."""
    if args.nodes < 1 or args.nodes > 16:
        raise SystemExit(f"bench: --nodes {args.nodes}: from 1 to 16 (storage.node is 0 to 15)")
    if args.nodes > 1 and args.url:
        raise SystemExit("bench: --nodes starts its own servers; it cannot be used with --url")
    if args.nodes > 1 and args.database != "postgresql":
        raise SystemExit(f"bench: --nodes {args.nodes} needs --database postgresql: several chatd nodes share one PostgreSQL database (docs/scaling.md); on SQLite chatd runs as one node")


def run_one(ctx: Context, sid: str, log: Any) -> Result:
    args = ctx.args
    sc = REGISTRY[sid]
    res = Result(sid, sid)
    ctx.current = sid
    machine_load = MachineMeter()
    machine_load.start()
    t = time.perf_counter()
    try:
        res.params = {**sc.plan(ctx), "durability": ctx.durability, "database": ctx.database, "nodes": ctx.nodes}
        res.title = titled(sc.title(res.params), res.params)
        missing = ctx.missing_commands(sc.needs)
        if missing:
            raise Skip(sc.needs_note or f"needs {', '.join(missing)}")
        if args.wait_quiet > 0:
            res.machine_load["waited_for_quiet_s"] = wait_quiet(args.wait_quiet, log)
        log(f"[{sid}] {res.title}")
        sc.run(ctx, res)
        res.title = titled(sc.title(res.params), res.params)  # the run may have scaled down (M's connections) or found the corpus's size
    except Skip as exc:
        res.status, res.note = "skipped", str(exc)
        log(f"[{sid}] skipped: {exc}")
    except Exception as exc:  # noqa: BLE001 - one scenario failing must not lose the others
        res.status, res.note = "failed", f"{type(exc).__name__}: {exc}"
        log(f"[{sid}] FAILED: {res.note}")
        traceback.print_exc(file=sys.stderr)
    finally:
        ctx.end_scenario()
    res.seconds = time.perf_counter() - t
    res.machine_load.update(machine_load.stop())
    res.goals = [g.verdict(res) for g in sc.goals]
    if ctx.nodes > 1:  # a verdict says what it judged
        for g in res.goals:
            g["goal"] += f" ({where(res.params)})"
    return res


def target_info(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    """The server under test: how it ran, its durability, and the sync latency where its data lived."""
    sync = ctx.sync_probe()
    return {
        "mode": "attached" if args.url else "spawned",
        "url": args.url,
        "durability": ctx.durability,
        "database": ctx.database,
        "nodes": ctx.nodes,
        "chatd_default_durability": chatd_default_durability(),
        "fdatasync_p50_ms": sync["fdatasync_p50_ms"] if sync else None,
        "fdatasync_p99_ms": sync["fdatasync_p99_ms"] if sync else None,
        "fdatasync": sync,
    }


def run(args: argparse.Namespace, log: Any = print) -> dict[str, Any]:
    if args.corpus is None:
        args.corpus = 20_000 if args.quick else 1_000_000
    ids = selected(args.scenarios)
    args.durability = args.durability or ("unknown" if args.url else chatd_default_durability())
    ctx = Context(args, args.durability, log=log)
    started = time.perf_counter()
    results: dict[str, Result] = {}
    sync = ctx.sync_probe()
    if sync:
        log(f"fdatasync of 4 KiB in {sync['dir']} ({sync['filesystem']}): p50 {sync['fdatasync_p50_ms']} ms, p99 {sync['fdatasync_p99_ms']} ms")
    try:
        for sid in ids:
            res = run_one(ctx, sid, log)
            for attempt in range(2, args.retry_busy + 2):
                busy = interference(res)
                if res.status != "ok" or busy is None or busy <= BUSY_CORES:
                    break
                log(f"[{sid}] other processes used {busy} cores during the least disturbed measurement so far: running it again (attempt {attempt})")
                again = run_one(ctx, sid, log)
                again.machine_load["attempt"] = attempt
                if again.status == "ok" and (interference(again) or 0) < busy:
                    res = again
            results[sid] = res
    finally:
        ctx.close()
    version = None
    if args.url:
        version = ctx.attached().version()
    if version is None:
        import chatd

        version = chatd.__version__
    params = {k: v for k, v in vars(args).items() if k not in ("json", "plot", "profile", "password", "prepare_data")}
    doc = {
        "bench": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "chatd_version": version,
        "machine": machine(),
        "target": target_info(args, ctx),
        "params": params,
        "seconds": round(time.perf_counter() - started, 1),
        "generator_saturated_in": [sid for sid, r in results.items() if r.generator.get("saturated")],
        "goals_missed": [f"{sid}: {g['goal']}" for sid, r in results.items() for g in r.goals if g["status"] == "missed"],
        "goals_not_tested": [f"{sid}: {g['goal']} ({g['why']})" for sid, r in results.items() for g in r.goals if g["status"] == "not tested"],
        "scenarios": {sid: r.to_json() for sid, r in results.items()},
    }
    doc["_results"] = results  # for --plot; removed before writing
    return doc


def prepare_data(args: argparse.Namespace) -> int:
    import shutil

    n = args.corpus if args.corpus is not None else 1_000_000
    path, meta = corpus.ensure(n, Path(args.cache) if args.cache else corpus.CACHE_DIR)
    out = Path(args.prepare_data)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "chatd.sqlite3").exists():
        raise SystemExit(f"bench: {out / 'chatd.sqlite3'} exists; choose an empty directory")
    shutil.copyfile(path, out / "chatd.sqlite3")
    print(f"{out / 'chatd.sqlite3'}: {meta['messages']:,} messages, users bench1..bench{meta['users']} (password {meta['password']!r})")
    print("serve it with the send rate limit raised, e.g.:")
    print(f"  CHATD_LIMITS_SEND_RATE_PER_S=1000000 CHATD_LIMITS_SEND_BURST=1000000 chatd serve --data {out} --listen 127.0.0.1:8080")
    print(f"then: python -m bench --url ws://127.0.0.1:8080/ws --url-users {meta['users']}")
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    # SIGTERM, and SIGINT even when started in the background, end the run through the
    # normal clean-up, which stops every server it started.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = build_parser().parse_args(argv)
    if args.prepare_data:
        return prepare_data(args)
    check_nodes(args)
    doc = run(args)
    results = doc.pop("_results")
    print()
    print(report.header(doc))
    print(report.text_table(doc))
    if doc["generator_saturated_in"]:
        print(f"\nthe load generator was saturated in: {', '.join(doc['generator_saturated_in'])} (the figures there may be the generator's limit)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")
    if args.plot:
        from . import plot

        written = plot.write(results, Path(args.plot))
        if written:
            print(f"wrote {len(written)} charts to {args.plot}")
    failed = [sid for sid, s in doc["scenarios"].items() if s["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""python -m bench.pg_probe: the facts chatd's PostgreSQL design rests on, measured on this machine.

    .venv/bin/python -m bench.pg_probe                      # everything (about 5 minutes)
    .venv/bin/python -m bench.pg_probe --only notify,seq --json out.json
    .venv/bin/python -m bench.pg_probe --quick              # small and short (a smoke run)

It starts a private PostgreSQL 15 cluster (tests/postgres.py's `Cluster`) with PostgreSQL's
default durability (fsync on, synchronous_commit on, full_page_writes on: nothing of the
tests' fast settings), on 127.0.0.1, and measures:

- commit: one single-row write per transaction, PostgreSQL (synchronous_commit on and off)
  beside chatd's own SQLite writer (chatd.store.writer.Writer, durability normal and full);
- notify: LISTEN/NOTIFY under trio (bench/pg_probe_notify.py): latency from the sender's commit
  to receipt with 1 and 3 listener connections (one process each, as nodes), and the ceiling of
  notifications a sender can push, one per transaction or 32 per transaction;
- seq: per-conversation seq allocation and idempotent sends from 3 writer processes
  (bench/pg_probe_seq.py): exactness, msgs/s, transaction latency, also with a NOTIFY of the
  new ids in each transaction;
- search: CJK search on PostgreSQL against chatd's SQLite FTS5 answer (bench/pg_probe_search.py):
  recall, latency, index size, insert cost.

`--from-json FILE [--markdown]` prints a saved run's tables again.

Each table and the JSON record the load average before each measurement (the machine may be
shared). docs/scaling.md has the results and what the design takes from them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

SECTIONS = ("commit", "notify", "seq", "search")
# Nothing of the tests' speed settings: PostgreSQL's defaults decide durability.
DURABLE_SETTINGS: dict[str, str] = {}


def load() -> float:
    """The 1-minute load average, noted before every measurement."""
    return round(os.getloadavg()[0], 2)


def uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def wait_quiet(limit_s: float, below: float = 1.0) -> float:
    """Wait up to limit_s for the 1-minute load average to fall below `below`; the load then."""
    end = time.monotonic() + limit_s
    while load() >= below and time.monotonic() < end:
        time.sleep(2)
    return load()


def table(title: str, columns: list[str], rows: list[dict[str, Any]], markdown: bool = False) -> str:
    """A plain text (or Markdown) table of `rows` (dicts) under `columns`."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    body = [[cell(r.get(c)) for c in columns] for r in rows]
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        return "\n".join(lines + ["| " + " | ".join(b) + " |" for b in body])
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(b, widths))) for b in body]
    return "\n".join(lines)


def server_facts(dsn: str) -> dict[str, str]:
    import psycopg

    names = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers", "max_connections", "lc_ctype")
    with psycopg.connect(dsn) as conn:
        return {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}


def machine() -> dict[str, Any]:
    """The benchmark suite's description of the machine, with psycopg's version."""
    from importlib import metadata

    from .__main__ import machine as bench_machine

    return {**bench_machine(), "psycopg": metadata.version("psycopg")}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.pg_probe", description="Measure PostgreSQL facts for chatd's several-node design.")
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections (default all): {', '.join(SECTIONS)}")
    p.add_argument("--json", metavar="FILE", help="write every figure to this JSON file")
    p.add_argument("--quick", action="store_true", help="small and short: a smoke run, not a measurement")
    p.add_argument("--duration", type=float, help="seconds per throughput measurement (default 3; --quick 0.5)")
    p.add_argument("--messages", type=int, help="search corpus size (default 100,000; --quick 3,000)")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    p.add_argument("--from-json", metavar="FILE", help="measure nothing: print the tables of a saved run")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS", help="before each section, wait up to this long for the load average to fall below 1")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        print(f"run of {saved['started']}; server: {saved.get('server')}")
        for name, section in saved["sections"].items():
            print(f"\n== {name}")
            for t in section["tables"]:
                print("\n" + table(t["title"], t["columns"], t["rows"], args.markdown))
            for note in section.get("notes", []):
                print("  " + note)
        return 0
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"pg_probe: unknown section(s) {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
    duration = args.duration or (0.5 if args.quick else 3.0)
    messages = args.messages or (3_000 if args.quick else 100_000)

    from tests.postgres import Cluster

    out: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "cluster_settings": "PostgreSQL defaults (Cluster(settings={}): nothing of the tests' fsync=off set)",
        "sections": {},
    }
    print(f"pg_probe: {out['started']}, {out['machine']['cores']} cores, {out['machine']['cpu']}")
    with Cluster(settings=DURABLE_SETTINGS) as cluster:
        facts = server_facts(cluster.dsn())
        out["server"] = facts
        print("cluster: " + ", ".join(f"{k}={v}" for k, v in facts.items()) + f" (data in {cluster.root})")
        for name in wanted:
            if args.wait_quiet:
                wait_quiet(args.wait_quiet)
            print(f"\n== {name}  ({uptime()})", flush=True)
            dsn = cluster.create_database(f"probe_{name}")
            started = time.monotonic()
            if name == "commit":
                from . import pg_probe_seq

                section = pg_probe_seq.run_commit(dsn, cluster.root, n=200 if args.quick else 2000)
            elif name == "notify":
                from . import pg_probe_notify

                section = pg_probe_notify.run(dsn, duration=duration, latency_n=200 if args.quick else 2000)
            elif name == "seq":
                from . import pg_probe_seq

                section = pg_probe_seq.run(dsn, duration=duration)
            else:
                from . import pg_probe_search

                section = pg_probe_search.run(dsn, messages=messages, passes=2 if args.quick else 7)
            section["seconds"] = round(time.monotonic() - started, 1)
            out["sections"][name] = section
            for t in section["tables"]:
                print("\n" + table(t["title"], t["columns"], t["rows"], args.markdown), flush=True)
            for note in section.get("notes", []):
                print("  " + note)
    out["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, ensure_ascii=False))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

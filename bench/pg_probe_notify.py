"""LISTEN/NOTIFY under trio, as chatd nodes would use it (python -m bench.pg_probe --only notify).

Each listener is a process of its own (a node), with one connection that has run LISTEN; it
waits under trio with `trio.lowlevel.wait_readable(conn.fileno())`, then reads with
`conn.pgconn.consume_input()` and `conn.pgconn.notifies()`, and notes when each notification
arrived (time.perf_counter: CLOCK_MONOTONIC, the same clock in every process).

The sender, in the runner's process, sends payloads "conv_id:seq" (ids only, about 17 bytes)
through `pg_notify`, in autocommit: one notification per transaction, or 32 per transaction
(`SELECT pg_notify(chan, p) FROM unnest(payloads)`: one commit, as a group-commit writer would
notify a batch). Latency: from the moment the sender's commit returned to the receipt (it can be
a little negative: a listener may read the notification before the sender has read its own
commit's answer), and from the moment the sender sent its autocommitted statement ("from send"). Ceiling: the sender pushes as fast as it can for a while; each listener counts
what it received, and how long after the sender's last commit its last notification arrived.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from array import array
from typing import Any

from .stats import summary_ms

CHANNEL = "chatd_probe"
CONV_BASE = 4_000_000_000  # conversation ids of ten digits: a payload like "4000001234:123456"
BATCH = 32
LATENCY_RATE = 500  # notifications per second in the latency runs (paced)


def _listener(dsn: str, pipe: Any) -> None:
    """A node's listener: LISTEN, then under trio wait on the socket and read notifications
    until "stop"; send back (seqs, receipt times)."""
    import psycopg
    import trio

    seqs = array("q")
    times = array("d")

    async def listen() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            pipe.send("ready")
            pg, fd = conn.pgconn, conn.fileno()
            while True:
                await trio.lowlevel.wait_readable(fd)
                pg.consume_input()
                now = time.perf_counter()
                while (n := pg.notifies()) is not None:
                    payload = n.extra
                    if payload == b"stop":
                        return
                    seqs.append(int(payload.rsplit(b":", 1)[1]))
                    times.append(now)

    trio.run(listen)
    pipe.send((seqs.tobytes(), times.tobytes()))


def _start_listeners(dsn: str, n: int) -> list[tuple[Any, Any]]:
    ctx = mp.get_context("spawn")
    out = []
    for _ in range(n):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_listener, args=(dsn, child), daemon=True)
        proc.start()
        out.append((proc, parent))
    for proc, parent in out:
        if not parent.poll(60) or parent.recv() != "ready":
            raise RuntimeError("a listener did not start")
    return out


def _collect(listeners: list[tuple[Any, Any]]) -> list[tuple[array, array]]:
    got = []
    for proc, parent in listeners:
        if not parent.poll(120):
            raise RuntimeError("a listener did not finish")
        raw_seqs, raw_times = parent.recv()
        seqs, times = array("q"), array("d")
        seqs.frombytes(raw_seqs)
        times.frombytes(raw_times)
        got.append((seqs, times))
        proc.join(10)
    return got


def _payload(seq: int) -> str:
    return f"{CONV_BASE + seq % 5000}:{seq}"


def _send(dsn: str, *, batch: int, sync: str, duration: float | None = None, count: int | None = None, rate: float | None = None) -> dict[str, Any]:
    """Send notifications; the commit-returned time of each seq, and the sender's figures."""
    import psycopg

    started = array("d")
    committed = array("d")
    rtt: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET synchronous_commit = {sync}")
        seq = 0
        start = time.perf_counter()
        while True:
            now = time.perf_counter()
            if (count is not None and seq >= count) or (duration is not None and now - start >= duration):
                break
            if rate is not None:
                slot = start + seq / rate
                if slot > now:
                    time.sleep(slot - now)
            t0 = time.perf_counter()
            if batch == 1:
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, _payload(seq)))
            else:
                payloads = [_payload(s) for s in range(seq, seq + batch)]
                conn.execute("SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (CHANNEL, payloads))
            t1 = time.perf_counter()
            rtt.append(t1 - t0)
            started.extend([t0] * batch)
            committed.extend([t1] * batch)
            seq += batch
        elapsed = time.perf_counter() - start
        conn.execute("SELECT pg_notify(%s, 'stop')", (CHANNEL,))
    return {"sent": seq, "elapsed": elapsed, "started": started, "committed": committed, "commit": summary_ms(rtt)}


def _one_run(dsn: str, listeners: int, **send: Any) -> dict[str, Any]:
    from .pg_probe import load

    before = load()
    procs = _start_listeners(dsn, listeners)
    sent = _send(dsn, **send)
    got = _collect(procs)
    committed, started = sent["committed"], sent["started"]
    last_commit = committed[-1] if len(committed) else 0.0
    per = []
    lat: list[float] = []
    from_start: list[float] = []
    for seqs, times in got:
        lat += [t - committed[s] for s, t in zip(seqs, times)]
        from_start += [t - started[s] for s, t in zip(seqs, times)]
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        per.append(
            {
                "received": len(seqs),
                "distinct": len(set(seqs)),
                "in_order": all(a < b for a, b in zip(seqs, seqs[1:])),
                "rate": round(len(seqs) / span) if span else None,
                "last_after_sender_ms": round((times[-1] - last_commit) * 1000, 2) if len(times) else None,
            }
        )
    return {"load1_before": before, "sent": sent["sent"], "elapsed": sent["elapsed"], "sender_commit": sent["commit"], "latency": summary_ms(lat), "from_start": summary_ms(from_start), "listeners": per}


def run(dsn: str, *, duration: float, latency_n: int) -> dict[str, Any]:
    lat_rows, ceil_rows, raw = [], [], []
    for listeners in (1, 3):
        r = _one_run(dsn, listeners, batch=1, sync="on", count=latency_n, rate=LATENCY_RATE)
        raw.append({"kind": "latency", "listeners": listeners, **r})
        lat_rows.append(
            {
                "listeners": listeners,
                "notifies": r["sent"],
                "rate/s": LATENCY_RATE,
                "commit p50 ms": r["sender_commit"].get("p50"),
                "from send p50": r["from_start"].get("p50"),
                "from send p99": r["from_start"].get("p99"),
                "recv p50 ms": r["latency"].get("p50"),
                "recv p99 ms": r["latency"].get("p99"),
                "recv max ms": r["latency"].get("max"),
                "lost": sum(r["sent"] - p["distinct"] for p in r["listeners"]),
                "load1": r["load1_before"],
            }
        )
    for listeners in (1, 3):
        for batch, sync in ((1, "on"), (1, "off"), (BATCH, "on"), (BATCH, "off")):
            r = _one_run(dsn, listeners, batch=batch, sync=sync, duration=duration)
            raw.append({"kind": "ceiling", "listeners": listeners, "batch": batch, "synchronous_commit": sync, **r})
            rates = [p["rate"] for p in r["listeners"] if p["rate"]]
            ceil_rows.append(
                {
                    "listeners": listeners,
                    "per tx": batch,
                    "sync commit": sync,
                    "sent/s": round(r["sent"] / r["elapsed"]),
                    "tx p50 ms": r["sender_commit"].get("p50"),
                    "recv/s min": min(rates) if rates else None,
                    "all received": all(p["distinct"] == r["sent"] for p in r["listeners"]),
                    "in order": all(p["in_order"] for p in r["listeners"]),
                    "drain ms": max((p["last_after_sender_ms"] or 0) for p in r["listeners"]),
                    "recv p50 ms": r["latency"].get("p50"),
                    "recv p99 ms": r["latency"].get("p99"),
                    "load1": r["load1_before"],
                }
            )
    return {
        "tables": [
            {
                "title": f"NOTIFY latency: one sender at {LATENCY_RATE}/s, one notification per transaction (synchronous_commit on); from the sender's commit returning to receipt",
                "columns": list(lat_rows[0]),
                "rows": lat_rows,
            },
            {
                "title": f"NOTIFY ceiling: one sender as fast as it can for {duration:g} s; each listener a process of its own under trio",
                "columns": list(ceil_rows[0]),
                "rows": ceil_rows,
            },
        ],
        "notes": [
            "recv p50/p99 ms: from the sender's commit returning to receipt; from send: from the sender sending its (autocommitted) statement.",
            "drain ms: from the sender's last commit to the slowest listener's last receipt (a listener behind the sender catches up from PostgreSQL's queue).",
            "recv/s min: the slowest listener's rate between its first and last receipt.",
        ],
        "runs": raw,
    }

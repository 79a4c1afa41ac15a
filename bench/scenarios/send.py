"""A and B: senders that each send, wait for the ack, and send again (closed loop).

A: one sender into a DM whose peer is connected. Before its measured window it
times sequential pings on its connection; with the latency of one fdatasync
(bench/syncprobe.py) that gives the sync limit, the most a sequential sender can
do when every ack waits for a sync (durability "full").
B-dm: many senders, each into its own DM with a connected peer. The pairs can be
spread over several generator processes (--procs), which start together at one
monotonic instant; the figures count only what happens between the end of the
warm-up and the end of the run.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from collections import Counter
from typing import Any

import msgspec

from .. import corpus, wire
from ..stats import Meter, ServerMeter, Timeline, generator_report, others_cores, summary_ms
from ..target import raise_fd_limit
from .base import Context, Result, scenario
from .goals import Goal, at_least, count, durability, number

_encode = msgspec.json.Encoder().encode
BUCKET_S = 0.1
PINGS = 300  # A's sequential pings before its measured window
SYNC_LIMIT_FACTOR = 1.3  # A's goal under durability "full": within 1.3x of the sync limit
SYNC_LIMIT_BASE_S = 3.0  # [quick: 1 s] A's measured seconds on the server with durability "normal", for the sync limit


def _dm_request(rid: str, target_id: int, cmid: str, text: str) -> bytes:
    return _encode({"cmd": "chat_dm_send", "id": rid, "data": {"peer": target_id, "client_msg_id": cmid, "content": {"type": "text", "text": text}}})


def _group_request(rid: str, target_id: int, cmid: str, text: str) -> bytes:
    from .groups import group_send_request

    return group_send_request(rid, target_id, cmid, text)


# How a sender addresses its message, by layout ("dm": pairs of sender and peer; "group": members of one group).
BUILDERS = {"dm": _dm_request, "group": _group_request}


def text_pool(n: int = 512, seed: int = 7) -> list[str]:
    gen = corpus.TextGen(random.Random(seed))
    return [gen.line() for _ in range(n)]


class SendLoop:
    """Closed-loop senders: each (conn, target id) sends a message, waits for the ack, sends again."""

    def __init__(self, senders: list[tuple[wire.Conn, int]], receivers: list[wire.Conn], *, t0: float, measure_from: float, stop_at: float, prefix: str, kind: str = "dm", push_cmd: str = "chat_message"):
        self.senders = senders
        self.texts = text_pool()
        self.measure_from = measure_from
        self.stop_at = stop_at
        self.prefix = prefix
        self.build = BUILDERS[kind]
        self.push_cmd = push_cmd
        self.latencies: list[float] = []
        self.acked = 0  # acks received inside the window
        self.delivered = 0  # pushes of the message received inside the window
        self.frames = 0  # every frame received inside the window
        self.sent = 0
        self.outstanding = 0
        self.errors: Counter[str] = Counter()
        self.acks = Timeline(t0, BUCKET_S)
        self.deliveries = Timeline(t0, BUCKET_S)
        self.raw_prefix = b'{"cmd":"' + push_cmd.encode() + b'",'
        for conn in receivers:
            conn.on_push = self._on_push
            conn.raw_push = self._on_raw
        for conn, target_id in senders:
            conn.tag = [target_id, 0]
            conn.on_push = self._on_push
            conn.raw_push = self._on_raw

    def start(self) -> None:
        for conn, _ in self.senders:
            self._send(conn)

    def _send(self, conn: wire.Conn) -> None:
        state = conn.tag
        i = state[1]
        state[1] = i + 1
        conn.next_id += 1
        rid = str(conn.next_id)
        texts = self.texts
        payload = self.build(rid, state[0], f"{self.prefix}{conn.fd}-{i}", texts[i % len(texts)])
        self.sent += 1
        self.outstanding += 1
        conn.request_raw(rid, payload, self._on_ack)

    def _on_ack(self, conn: wire.Conn, env: wire.Envelope, t: float, t_sent: float) -> None:
        self.outstanding -= 1
        if not env.ok:
            self.errors[(env.error or {}).get("code", "?")] += 1
        elif self.measure_from <= t <= self.stop_at:
            self.acked += 1
            self.frames += 1
            self.acks.add(t)
            if t_sent >= self.measure_from:
                self.latencies.append(t - t_sent)
        if t < self.stop_at and conn.state == "open":
            self._send(conn)

    def _on_raw(self, conn: wire.Conn, payload: bytes, t: float) -> bool:
        """Count a delivery from the frame's first bytes, without decoding it (pushes have no id)."""
        if not payload.startswith(self.raw_prefix):
            return False
        if self.measure_from <= t <= self.stop_at:
            self.frames += 1
            self.delivered += 1
            self.deliveries.add(t)
        return True

    def _on_push(self, conn: wire.Conn, env: wire.Envelope, t: float) -> None:
        if self.measure_from <= t <= self.stop_at:
            self.frames += 1
            if env.cmd == self.push_cmd:
                self.delivered += 1
                self.deliveries.add(t)

    def report(self) -> dict[str, Any]:
        return {
            "latencies": self.latencies,
            "acked": self.acked,
            "delivered": self.delivered,
            "frames": self.frames,
            "sent": self.sent,
            "errors": dict(self.errors),
            "acks": self.acks.to_json(),
            "deliveries": self.deliveries.to_json(),
        }


def _run_load(loop: wire.Loop, url: str, logins: list[dict[str, Any]], kind: str, target_id: int | None, warmup: float, duration: float, prefix: str, ready: Any, pings: int = 0) -> dict[str, Any]:
    """Open the connections, time `pings` sequential pings on the first sender's, wait for ready() to give the start time t0, run the closed loop."""
    conns = wire.open_many(loop, url, logins, timeout=120)
    if kind == "dm":  # logins are sender, peer, sender, peer, ...
        senders = [(conns[i], conns[i + 1].user["id"]) for i in range(0, len(conns), 2)]  # type: ignore[index]
        receivers = conns[1::2]
    else:  # every member sends into the group and receives from it
        assert target_id is not None
        senders = [(c, target_id) for c in conns]
        receivers = conns
    ping_latencies = [wire.call(loop, senders[0][0], "ping", {})[1] for _ in range(pings)]
    t0 = ready()
    measure_from, stop_at = t0 + warmup, t0 + warmup + duration
    sl = SendLoop(senders, receivers, t0=t0, measure_from=measure_from, stop_at=stop_at, prefix=prefix, kind=kind)
    meter = Meter()
    loop.sleep_until(t0)
    loop.call_at(measure_from, meter.start)
    loop.call_at(stop_at, meter.stop)
    sl.start()
    loop.sleep_until(stop_at)
    loop.run(lambda: sl.outstanding == 0, wire.now() + 10)
    out = sl.report()
    out["meter"] = meter.to_json()
    out["closed"] = sum(1 for c in conns if c.state == "closed")
    out["ping_latencies"] = ping_latencies
    return out


def _worker(pipe: Any, url: str, logins: list[Any], kind: str, target_id: int | None, warmup: float, duration: float, prefix: str, pings: int) -> None:
    raise_fd_limit()
    loop = wire.Loop()
    try:

        def ready() -> float:
            pipe.send(("ready", len(logins)))
            if not pipe.poll(180):
                raise RuntimeError("no start signal")
            msg = pipe.recv()
            return float(msg[1])

        pipe.send(("result", _run_load(loop, url, logins, kind, target_id, warmup, duration, prefix, ready, pings)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        pipe.send(("error", repr(exc)))
    finally:
        loop.close()
        pipe.close()


def run_send_load(target: Any, logins: list[Any], *, kind: str = "dm", target_id: int | None = None, procs: int, warmup: float, duration: float, prefix: str, pings: int = 0) -> dict[str, Any]:
    """Closed-loop load over `procs` processes (0: in this process). Returns merged figures.

    kind "dm": logins are sender, peer, sender, peer, ...; kind "group": members of group target_id.
    pings: sequential pings each process times on its first sender's connection before the load."""
    server = ServerMeter(target)
    parts: list[dict[str, Any]] = []
    if procs <= 0:
        loop = wire.Loop()
        try:

            def ready() -> float:
                t0 = wire.now() + 0.2
                loop.call_at(t0 + warmup, server.start)
                loop.call_at(t0 + warmup + duration, server.stop)
                return t0

            parts.append(_run_load(loop, target.url, logins, kind, target_id, warmup, duration, prefix, ready, pings))
        finally:
            loop.close()
    else:
        mpctx = mp.get_context("spawn")
        if kind == "dm":  # keep each sender with its peer
            pairs = [logins[i : i + 2] for i in range(0, len(logins), 2)]
            chunks = [[x for pair in pairs[i::procs] for x in pair] for i in range(procs)]
        else:
            chunks = [logins[i::procs] for i in range(procs)]
        chunks = [c for c in chunks if c]
        pipes, workers = [], []
        for chunk in chunks:
            parent, child = mpctx.Pipe()
            p = mpctx.Process(target=_worker, args=(child, target.url, chunk, kind, target_id, warmup, duration, prefix, pings), daemon=True)
            p.start()
            child.close()
            pipes.append(parent)
            workers.append(p)
        try:
            for pipe in pipes:
                if not pipe.poll(180):
                    raise RuntimeError("a generator process did not get ready in time")
                kind, payload = pipe.recv()
                if kind != "ready":
                    raise RuntimeError(f"a generator process failed: {payload}")
            t0 = wire.now() + 0.3
            for pipe in pipes:
                pipe.send(("go", t0))
            time.sleep(max(0.0, t0 + warmup - wire.now()))
            server.start()
            time.sleep(max(0.0, t0 + warmup + duration - wire.now()))
            server.stop()
            for pipe in pipes:
                if not pipe.poll(60):
                    raise RuntimeError("a generator process did not report in time")
                kind, payload = pipe.recv()
                if kind != "result":
                    raise RuntimeError(f"a generator process failed: {payload}")
                parts.append(payload)
        finally:
            for p in workers:
                p.join(10)
                if p.is_alive():
                    p.terminate()
                    p.join(5)
    lat: list[float] = []
    acks = Timeline(0.0, BUCKET_S)
    deliveries = Timeline(0.0, BUCKET_S)
    errors: Counter[str] = Counter()
    for part in parts:
        lat += part["latencies"]
        acks.merge(part["acks"])
        deliveries.merge(part["deliveries"])
        errors.update(part["errors"])
    acked = sum(p["acked"] for p in parts)
    return {
        "latencies": lat,
        "ping_latencies": [x for p in parts for x in p["ping_latencies"]],
        "acked": acked,
        "delivered": sum(p["delivered"] for p in parts),
        "frames": sum(p["frames"] for p in parts),
        "sent": sum(p["sent"] for p in parts),
        "closed": sum(p["closed"] for p in parts),
        "errors": dict(errors),
        "acks_timeline": acks.to_json(),
        "deliveries_timeline": deliveries.to_json(),
        "generator": generator_report([p["meter"] for p in parts]),
        "server": server.to_json(),
        "warmup_s": warmup,
        "duration_s": duration,
    }


def fill_result(res: Result, out: dict[str, Any], *, deliveries: bool) -> None:
    d = out["duration_s"]
    ack = summary_ms(out["latencies"])
    res.fig("acked_msgs_per_s" if deliveries else "msgs_per_s", round(out["acked"] / d, 1), "msgs/s")
    if deliveries:
        res.fig("deliveries_per_s", round(out["delivered"] / d, 1), "deliveries/s")
    res.fig("ack_p50_ms", ack.get("p50"), "ms")
    res.fig("ack_p99_ms", ack.get("p99"), "ms")
    cpu = out["server"]["cpu_s"]
    res.fig("server_cpu_s_per_1000_msgs", None if cpu is None or not out["acked"] else round(cpu / out["acked"] * 1000, 4), "CPU-s")
    res.detail.update(
        ack_ms=ack,
        acked=out["acked"],
        delivered=out["delivered"],
        frames_received=out["frames"],
        frames_per_s=round(out["frames"] / d, 1),
        sent=out["sent"],
        errors=out["errors"],
        connections_closed=out["closed"],
    )
    res.generator = out["generator"]
    res.server = out["server"]
    res.server["others_cores"] = others_cores(res.server, res.generator)
    node_events_figures(res, res.server)
    res.timelines = {"acks": out["acks_timeline"], "deliveries": out["deliveries_timeline"]}
    res.samples = {"ack": [x * 1000 for x in out["latencies"]]}
    if out["errors"]:
        res.note = f"errors: {out['errors']}" + (" (the server's send rate limit is on; see bench/README.md)" if "rate_limited" in out["errors"] else "")
    if out["closed"]:
        res.note = (res.note + "; " if res.note else "") + f"{out['closed']} connections were closed by the server"


def node_events_figures(res: Result, server: dict[str, Any]) -> None:
    """On several nodes: the events the nodes wrote for each other in the window, per second (each
    one read and applied by every other node)."""
    if (res.params.get("nodes") or 1) > 1 and server.get("node_events_per_s") is not None:
        res.fig("node_events_per_s", server["node_events_per_s"], "events/s written (each applied by every other node)")


def closed_loop_plan(ctx: Context, senders: int, procs: int) -> dict[str, Any]:
    """The scale of A and the B scenarios: senders, warm-up and measured seconds, generator processes."""
    return {"senders": senders, "warmup_s": ctx.scale(1.0, 0.3), "duration_s": ctx.args.duration or ctx.scale(10.0, 1.0), "generator_processes": procs}


def b_pairs(ctx: Context) -> int:
    return ctx.args.b_pairs or ctx.scale(200, 20)


def b_procs(ctx: Context) -> int:
    return ctx.args.procs if ctx.args.procs is not None else ctx.scale(2, 1)


def sync_limit_measured(res: Result) -> str | None:
    """The sync-limit goal needs the fdatasync latency, measured only where spawned servers keep their data."""
    if res.figures.get("sync_limit_msgs_per_s") is not None:
        return None
    if res.params.get("database") == "postgresql":
        return "no sync limit: the data is in PostgreSQL, which syncs its own log"
    return "no sync limit (fdatasync is measured for spawned servers only)"


def sync_limit_target(res: Result) -> float | None:
    """A's target under durability "full": the sync limit divided by SYNC_LIMIT_FACTOR."""
    limit = res.figures.get("sync_limit_msgs_per_s")
    return None if limit is None else limit / SYNC_LIMIT_FACTOR


@scenario(
    "A",
    lambda p: f"one sender, sequential sends with acks (DM, peer connected), {number(p['duration_s'])} s measured",
    "msgs/s, ack latency p50/p99, ping p50; under full: the same sends under normal, fdatasync p50, sync limit",
    plan=lambda ctx: {**closed_loop_plan(ctx, 1, 1), "pings": PINGS, "sync_limit_base_s": ctx.scale(SYNC_LIMIT_BASE_S, 1.0)},
    goals=(
        Goal("msgs_per_s", ">=", 3000, "≥ 3,000 msgs/s under normal", needs=(durability("normal"),)),
        Goal("msgs_per_s", ">=", sync_limit_target, f"within {SYNC_LIMIT_FACTOR:g}× of the sync limit", needs=(durability("full"), sync_limit_measured)),
        Goal("ack_p50_ms", "<=", 0.5, "p50 ≤ 0.5 ms under normal", needs=(durability("normal"),)),
    ),
)
def scenario_a(ctx: Context, res: Result) -> None:
    p = res.params
    with ctx.server(2) as target:
        logins = target.logins(["bench1", "bench2"])
        out = run_send_load(target, logins, procs=0, warmup=p["warmup_s"], duration=p["duration_s"], prefix="a", pings=p["pings"])
    fill_result(res, out, deliveries=False)
    ping = summary_ms(out["ping_latencies"])
    res.fig("ping_p50_ms", ping.get("p50"), "ms")
    res.detail.update(ping_ms=ping)
    sync = ctx.sync_probe()
    if p.get("durability") != "full" or sync is None or p.get("database") == "postgresql":
        return  # (PostgreSQL syncs its own log: chatd's durability does not decide it)
    # The sync limit: under "full" each ack waits for the work of a send (the same sends on a
    # server with durability "normal", measured now) plus one fdatasync; no sequential sender can
    # do better than one such round per message.
    with ctx.server(2, durability="normal") as target:
        logins = target.logins(["bench1", "bench2"])
        base = run_send_load(target, logins, procs=0, warmup=p["warmup_s"], duration=p["sync_limit_base_s"], prefix="a0")
    base_p50 = summary_ms(base["latencies"]).get("p50")
    sync_p50 = sync["fdatasync_p50_ms"]
    res.fig("normal_ack_p50_ms", base_p50, "ms (the same sends, durability normal)")
    res.fig("fdatasync_p50_ms", sync_p50, "ms")
    limit = None if sync_p50 is None or base_p50 is None else round(1000 / (base_p50 + sync_p50), 1)
    res.fig("sync_limit_msgs_per_s", limit, "msgs/s")
    res.detail.update(fdatasync=sync, normal_msgs_per_s=round(base["acked"] / base["duration_s"], 1))


@scenario(
    "B-dm",
    lambda p: f"{count(p['senders'], 'sender')}, each into its own DM with a connected peer, {number(p['duration_s'])} s measured",
    "acked msgs/s, deliveries/s, ack latency p50/p99, server CPU-seconds per 1,000 messages",
    plan=lambda ctx: {**closed_loop_plan(ctx, b_pairs(ctx), b_procs(ctx)), "peers": b_pairs(ctx)},
    goals=(Goal("acked_msgs_per_s", ">=", 10000, "≥ 10,000 msgs/s", needs=(at_least("senders", 200, "{} senders"),)),),
)
def scenario_b_dm(ctx: Context, res: Result) -> None:
    p = res.params
    pairs = p["senders"]
    with ctx.server(2 * pairs) as target:
        logins = target.logins([f"bench{k}" for k in range(1, 2 * pairs + 1)])
        out = run_send_load(target, logins, procs=p["generator_processes"], warmup=p["warmup_s"], duration=p["duration_s"], prefix="b")
    fill_result(res, out, deliveries=True)

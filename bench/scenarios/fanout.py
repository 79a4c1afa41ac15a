"""C (and F, once groups exist): one sender at a fixed rate, many receivers; send→receive latency.

The sender sends on a fixed schedule (open loop: a late ack never delays the
next send). Each message's client_msg_id carries its send time
(time.perf_counter(), CLOCK_MONOTONIC, comparable between processes), so any
receiver, in this process or in a generator worker process, computes the
latency of each delivery alone. Receivers count duplicates (the same message
twice on one connection) and losses (acked messages a receiver never got).

On several nodes (--nodes) a receiver connected to another node than the
sender's gets its deliveries through the other node (node_events and NOTIFY):
those latencies are also kept apart ("other nodes") from those of receivers on
the sender's node ("same node").
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec

from .. import wire
from ..stats import Meter, ServerMeter, Timeline, generator_report, others_cores, summary_ms
from ..target import raise_fd_limit
from .base import Context, Result, scenario
from .goals import Goal, at_least, count, number, samples, several_nodes
from .send import text_pool

_encode = msgspec.json.Encoder().encode
BUCKET_S = 0.1
C_RECEIVERS = 10  # the receivers C's goals were set for
CROSS_NODE_FACTOR = 2.0  # on several nodes: a delivery through another node within 2x of one node's p50
BASE_RATE = 20.0  # the rate C measures again on one node, for the comparison


class _Msg(msgspec.Struct):
    client_msg_id: str | None = None


class _Push(msgspec.Struct):
    message: _Msg | None = None


_decode_push = msgspec.json.Decoder(_Push).decode


class ReceiverSet:
    """Collects one push command on a set of connections; message i of a round is recognised by its client_msg_id."""

    def __init__(self, conns: list[wire.Conn], push_cmd: str = "chat_message", remote: list[bool] | None = None):
        self.conns = conns
        self.push_cmd = push_cmd
        self.remote = remote or [False] * len(conns)  # connected to another node than the sender's
        self.raw_prefix = b'{"cmd":"' + push_cmd.encode() + b'",'
        for i, c in enumerate(conns):
            c.tag = i
            c.on_push = self._on_push
            c.raw_push = self._on_raw
        self.reset("", 0.0)

    def reset(self, prefix: str, t0: float) -> None:
        self.prefix = prefix
        self.prefix_b = prefix.encode()
        self.latencies: list[float] = []
        self.remote_latencies: list[float] = []  # of receivers on another node than the sender's (also in latencies)
        self.same_latencies: list[float] = []  # of receivers on the sender's node (also in latencies)
        self.seen: list[set[bytes]] = [set() for _ in self.conns]
        self.duplicates = 0
        self.received = 0
        self.timeline = Timeline(t0, BUCKET_S)
        self.meter = Meter()

    def _on_raw(self, conn: wire.Conn, payload: bytes, t: float) -> bool:
        """The fast path: find the message's client_msg_id in the frame's bytes without decoding it.

        The push is {"cmd":"chat_message","data":{...,"message":{...,"client_msg_id":"..."}}}; inside a
        JSON string a quote is escaped, so the first unescaped `"client_msg_id":"` is the message's own."""
        if not payload.startswith(self.raw_prefix):
            return False
        if not self.prefix_b:
            return True
        i = payload.find(b'"client_msg_id":"')
        if i < 0:
            return True
        i += 17
        cmid = payload[i : payload.find(b'"', i)]
        if not cmid.startswith(self.prefix_b):
            return True
        _, n, sent = cmid.split(b"~")
        seen = self.seen[conn.tag]
        if n in seen:
            self.duplicates += 1
            return True
        seen.add(n)
        self.received += 1
        self.latencies.append(t - float(sent))
        (self.remote_latencies if self.remote[conn.tag] else self.same_latencies).append(t - float(sent))
        self.timeline.add(t)
        return True

    def _on_push(self, conn: wire.Conn, env: wire.Envelope, t: float) -> None:
        if env.cmd != self.push_cmd or not self.prefix:
            return
        msg = _decode_push(env.data).message
        cmid = msg.client_msg_id if msg is not None else None
        if not cmid or not cmid.startswith(self.prefix):
            return
        _, i_s, sent = cmid.split("~")
        i = i_s.encode()
        seen = self.seen[conn.tag]
        if i in seen:
            self.duplicates += 1
            return
        seen.add(i)
        self.received += 1
        self.latencies.append(t - float(sent))
        (self.remote_latencies if self.remote[conn.tag] else self.same_latencies).append(t - float(sent))
        self.timeline.add(t)

    def report(self) -> dict[str, Any]:
        return {
            "latencies": self.latencies,
            "remote_latencies": self.remote_latencies,
            "same_latencies": self.same_latencies,
            "received": self.received,
            "per_receiver": [len(s) for s in self.seen],
            "duplicates": self.duplicates,
            "timeline": self.timeline.to_json(),
            "meter": self.meter.to_json(),
            "closed": sum(1 for c in self.conns if c.state == "closed"),
        }


def remote_flags(sender: dict[str, Any], receivers: list[dict[str, Any]]) -> list[bool]:
    """Which receivers are on another node than the sender (their logins name other URLs)."""
    return [r.get("url") != sender.get("url") for r in receivers]


def _receiver_worker(pipe: Any, url: str, logins: list[dict[str, Any]], push_cmd: str, remote: list[bool]) -> None:
    """A generator process holding some of the receivers; driven by ("start", prefix, t0) / ("stop",) / ("exit",)."""
    raise_fd_limit()
    loop = wire.Loop()
    try:
        conns = wire.open_many(loop, url, logins, timeout=300)
        rs = ReceiverSet(conns, push_cmd, remote)
        inbox: list[Any] = []

        def on_pipe() -> None:
            while pipe.poll():
                inbox.append(pipe.recv())

        loop.watch(pipe.fileno(), on_pipe)
        pipe.send(("ready", len(conns)))
        while True:
            if not loop.run(lambda: bool(inbox), wire.now() + 600):
                return
            cmd = inbox.pop(0)
            if cmd[0] == "start":
                rs.reset(cmd[1], cmd[2])
                rs.meter.start()
            elif cmd[0] == "stop":
                rs.meter.stop()
                pipe.send(("result", rs.report()))
            else:
                return
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        pipe.send(("error", repr(exc)))
    finally:
        loop.close()
        pipe.close()


class Fanout:
    """One sender and its receivers (in this process, or spread over `procs` worker processes)."""

    def __init__(self, target: Any, sender_login: dict[str, Any], receiver_logins: list[dict[str, Any]], *, procs: int = 0, push_cmd: str = "chat_message"):
        self.target = target
        self.loop = wire.Loop()
        self.procs = procs
        self.push_cmd = push_cmd
        self.n_receivers = len(receiver_logins)
        self.local: ReceiverSet | None = None
        self.pipes: list[Any] = []
        self.workers: list[Any] = []
        remote = remote_flags(sender_login, receiver_logins)
        self.remote_receivers = sum(remote)
        if procs <= 0:
            conns = wire.open_many(self.loop, target.url, [sender_login, *receiver_logins], timeout=300)
            self.sender = conns[0]
            self.local = ReceiverSet(conns[1:], push_cmd, remote)
        else:
            mpctx = mp.get_context("spawn")
            for i in range(procs):
                chunk = receiver_logins[i::procs]
                if not chunk:
                    continue
                parent, child = mpctx.Pipe()
                p = mpctx.Process(target=_receiver_worker, args=(child, target.url, chunk, push_cmd, remote[i::procs]), daemon=True)
                p.start()
                child.close()
                self.pipes.append(parent)
                self.workers.append(p)
            for pipe in self.pipes:
                self._expect(pipe, "ready", 300)
            (self.sender,) = wire.open_many(self.loop, target.url, [sender_login])
        self.sender.on_push = None

    @staticmethod
    def _expect(pipe: Any, kind: str, timeout: float) -> Any:
        if not pipe.poll(timeout):
            raise RuntimeError(f"a generator process did not answer ({kind}) in time")
        got, payload = pipe.recv()
        if got != kind:
            raise RuntimeError(f"a generator process failed: {payload}")
        return payload

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("exit",))
            except OSError:
                pass
        for p in self.workers:
            p.join(10)
            if p.is_alive():
                p.terminate()
                p.join(5)
        self.loop.close()

    def round(self, prefix: str, rate: float, duration: float, build: Callable[[str, str], bytes], drain: float = 1.0) -> dict[str, Any]:
        """Send rate*duration messages on a fixed schedule; build(request id, client_msg_id) makes each request."""
        loop, sender = self.loop, self.sender
        count = max(1, int(rate * duration))
        t0 = wire.now() + 0.2
        for pipe in self.pipes:
            pipe.send(("start", prefix, t0))
        if self.local is not None:
            self.local.reset(prefix, t0)
        server = ServerMeter(self.target)
        meter = Meter()
        ack_lat: list[float] = []
        errors: Counter[str] = Counter()
        state = {"k": 0, "acked": 0, "answered": 0}
        acks = Timeline(t0, BUCKET_S)

        def on_ack(conn: wire.Conn, env: wire.Envelope, t: float, t_sent: float) -> None:
            state["answered"] += 1
            if env.ok:
                state["acked"] += 1
                ack_lat.append(t - t_sent)
                acks.add(t)
            else:
                errors[(env.error or {}).get("code", "?")] += 1

        def tick() -> None:
            k = state["k"]
            if k >= count:
                return
            state["k"] = k + 1
            sender.next_id += 1
            rid = str(sender.next_id)
            sender.request_raw(rid, build(rid, f"{prefix}~{k}~{wire.now():.7f}"), on_ack)
            loop.call_at(t0 + (k + 1) / rate, tick)

        def begin() -> None:
            server.start()
            meter.start()
            if self.local is not None:
                self.local.meter.start()
            tick()

        loop.call_at(t0, begin)
        loop.run(lambda: state["answered"] >= count, t0 + duration + 30)
        send_end = wire.now()
        local = self.local
        if local is not None:
            loop.run(lambda: local.received >= state["acked"] * self.n_receivers, send_end + drain)
        else:
            loop.sleep(drain)
        server.stop()
        meter.stop()
        parts = []
        if local is not None:
            local.meter.stop()
            parts.append(local.report())
        for pipe in self.pipes:
            pipe.send(("stop",))
        for pipe in self.pipes:
            parts.append(self._expect(pipe, "result", 60))
        lat = [x for p in parts for x in p["latencies"]]
        remote_lat = [x for p in parts for x in p["remote_latencies"]]
        same_lat = [x for p in parts for x in p["same_latencies"]]
        received = sum(p["received"] for p in parts)
        timeline = Timeline(0.0, BUCKET_S)
        for p in parts:
            timeline.merge(p["timeline"])
        per_receiver = [n for p in parts for n in p["per_receiver"]]
        expected = state["acked"] * self.n_receivers
        # In one process, its meter covers the sender and the receivers; else add each worker's.
        gen_parts = [meter.to_json()] + ([] if local is not None else [p["meter"] for p in parts])
        gen = generator_report(gen_parts)
        srv = server.to_json()
        srv["others_cores"] = others_cores(srv, gen)
        # Deliveries per second from the first send to the last delivery (its 0.1 s bucket).
        last = max((i for i, c in enumerate(timeline.counts) if c), default=-1)
        span = (last + 1) * BUCKET_S
        return {
            "rate": rate,
            "deliveries_per_s": round(received / span, 1) if span > 0 else None,
            "sent": count,
            "acked": state["acked"],
            "errors": dict(errors),
            "ack_ms": summary_ms(ack_lat),
            "delivery_ms": summary_ms(lat),
            "latencies": lat,
            "receivers_other_nodes": self.remote_receivers,
            "receivers_same_node": self.n_receivers - self.remote_receivers,
            "deliveries": received,
            "expected": expected,
            "losses": max(0, expected - received),
            "duplicates": sum(p["duplicates"] for p in parts),
            "min_per_receiver": min(per_receiver) if per_receiver else 0,
            "closed": sum(p["closed"] for p in parts),
            "timeline": timeline.to_json(),
            "acks_timeline": acks.to_json(),
            "generator": gen,
            "server": srv,
            "wall_s": round(send_end - t0, 3),
            **({"delivery_ms_same_node": summary_ms(same_lat), "delivery_ms_other_nodes": summary_ms(remote_lat)} if self.remote_receivers else {}),
        }


def plan_c(ctx: Context) -> dict[str, Any]:
    return {
        "receivers": ctx.args.c_receivers or C_RECEIVERS,
        "rates_per_s": [float(r) for r in (ctx.args.c_rates or "20,500").split(",")],
        "duration_s_per_rate": ctx.args.c_duration or ctx.scale(15.0, 1.0),
        "receiver_user": "bench2",
        "generator_processes": 1,
        # On several nodes the sender is on node 0 and the devices on the others; the 20/s round
        # then runs again on one node (a fresh server), the comparison of the cross-node goal.
        **({"receivers_on": "nodes 1 to n-1", "one_node_rate_per_s": BASE_RATE} if ctx.nodes > 1 else {}),
    }


def c_title(p: dict[str, Any]) -> str:
    devices = "devices of one DM peer" + (", on the nodes but the sender's" if p.get("receivers_on") else "")
    rates = ", then ".join(number(r) + "/s" for r in p["rates_per_s"])
    again = f"; {number(p['one_node_rate_per_s'])}/s again on one node" if p.get("one_node_rate_per_s") else ""
    return f"{count(p['receivers'], 'receiver')} ({devices}), one sender at a fixed rate ({rates}), {number(p['duration_s_per_rate'])} s each{again}"


def one_node_target(res: Result) -> float | None:
    """C on several nodes: the cross-node p50 at 20/s may be up to CROSS_NODE_FACTOR times one node's."""
    base = res.figures.get("one_node_r20_p50_ms")
    return None if base is None else base * CROSS_NODE_FACTOR


C_SCALE = at_least("receivers", C_RECEIVERS, "{} receivers")


def _c_rounds(target: Any, receivers: int, rates: list[float], duration: float, texts: list[str], prefix: str = "c") -> list[dict[str, Any]]:
    """C's rounds on one server: bench1 (on node 0) sends DMs to bench2's devices (on the other nodes, if any)."""
    logins = target.logins(["bench1"], device="sender") + target.logins(["bench2"] * receivers, device="receiver", away_from_first=True)
    fan = Fanout(target, logins[0], logins[1:], procs=0)
    try:
        peer = fan.local.conns[0].user["id"]  # type: ignore[union-attr,index]
        rounds = []
        for rate in rates:

            def build(rid: str, cmid: str) -> bytes:
                return _encode({"cmd": "chat_dm_send", "id": rid, "data": {"peer": peer, "client_msg_id": cmid, "content": {"type": "text", "text": texts[len(cmid) % len(texts)]}}})

            rounds.append(fan.round(f"{prefix}{int(rate)}", rate, duration, build))
    finally:
        fan.close()
    return rounds


@scenario(
    "C",
    c_title,
    "send→receive latency p50/p99 per delivery, losses, duplicates",
    plan=plan_c,
    goals=(
        Goal("r20_p50_ms", "<=", 1.0, "p50 ≤ 1 ms at 20/s", needs=(C_SCALE,)),
        Goal("r20_p99_ms", "<=", 5.0, "p99 ≤ 5 ms at 20/s", needs=(C_SCALE, samples("r20.delivery_ms", what="deliveries"))),
        Goal("r500_p99_ms", "<=", 20.0, "p99 ≤ 20 ms at 500/s", needs=(C_SCALE, samples("r500.delivery_ms", what="deliveries"))),
        Goal("r20_p50_ms", "<=", one_node_target, f"cross-node delivery p50 within {CROSS_NODE_FACTOR:g}× of one node's at 20/s", needs=(several_nodes,)),
    ),
)
def scenario_c(ctx: Context, res: Result) -> None:
    receivers, rates, duration = res.params["receivers"], res.params["rates_per_s"], res.params["duration_s_per_rate"]
    texts = text_pool()
    with ctx.server(2) as target:
        rounds = _c_rounds(target, receivers, rates, duration, texts)
    base = None
    if res.params.get("one_node_rate_per_s"):
        with ctx.server(2, nodes=1) as target:
            (base,) = _c_rounds(target, receivers, [res.params["one_node_rate_per_s"]], duration, texts, prefix="c1n")
    notes = []
    gens = []
    for r in rounds:
        key = f"r{int(r['rate'])}"
        d = r["delivery_ms"]
        res.fig(f"{key}_p50_ms", d.get("p50"), "ms")
        res.fig(f"{key}_p99_ms", d.get("p99"), "ms")
        res.fig(f"{key}_losses", r["losses"], "deliveries")
        res.fig(f"{key}_duplicates", r["duplicates"], "deliveries")
        res.detail[key] = {k: v for k, v in r.items() if k not in ("latencies", "timeline", "acks_timeline")}
        res.samples[f"{int(r['rate'])}/s"] = [x * 1000 for x in r["latencies"]]
        res.timelines[f"deliveries_{key}"] = r["timeline"]
        gens.append(r["generator"])
        if r["errors"]:
            notes.append(f"{key} errors: {r['errors']}")
        if r["losses"] or r["duplicates"]:
            notes.append(f"{key}: {r['losses']} lost, {r['duplicates']} duplicated")
    if base is not None:
        key = f"r{int(base['rate'])}"
        res.fig(f"one_node_{key}_p50_ms", base["delivery_ms"].get("p50"), "ms (the same round on one node)")
        res.fig(f"one_node_{key}_p99_ms", base["delivery_ms"].get("p99"), "ms (the same round on one node)")
        cross = res.figures.get(f"{key}_p50_ms")
        one = base["delivery_ms"].get("p50")
        res.fig(f"cross_node_{key}_p50_ratio", round(cross / one, 2) if cross and one else None, "× one node's p50")
        res.detail[f"one_node_{key}"] = {k: v for k, v in base.items() if k not in ("latencies", "timeline", "acks_timeline")}
        if base["losses"] or base["duplicates"]:
            notes.append(f"one node {key}: {base['losses']} lost, {base['duplicates']} duplicated")
    res.generator = dict(max(gens, key=lambda g: g.get("max_process_core_share", 0))) if gens else {}
    res.generator["per_rate"] = gens
    res.server = {f"r{int(r['rate'])}": r["server"] for r in rounds}
    if base is not None:
        res.server[f"one_node_r{int(base['rate'])}"] = base["server"]
    res.note = "; ".join(notes)

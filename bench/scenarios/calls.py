"""R: calls (issue 16): the signaling round trip, alone and right behind a slow request on the
same connection, and the memory of many calls ringing at once.

Round trip: two users, each with one connection (a device), in one accepted video call. A round
is: the caller sends `rtc_offer` (an SDP of about 3 KB); the callee's connection, on the
`rtc_signal` push that relays it, sends `rtc_answer` at once; the round ends when the caller's
connection reads the `rtc_signal` that relays the answer. Rounds of three kinds follow each
other in turn: quiet (nothing else in flight), behind a page (the caller's connection first sends
a `chat_dm_history` page of 100 messages at a random place in the two users' DM, filled
beforehand, and the offer right behind it, without waiting) and behind a search (the same with
a `chat_dm_search` in that DM). A connection that made a call has a request lane (chatd.server),
so the relayed offer should not wait for the slow request: each busy kind's round trip is
compared with the quiet one's and with the slow request's own latency, and how often the answer
came back before the slow request's response is counted. Every connection that signals has that
lane (its first `rtc_*` request opens it), so there is no run without it to compare with.

Memory: on a fresh server (its ring timeout raised so nothing stops ringing while it is
measured), N callers and N callees each log in with one connection; RSS is read with them all
idle, after each caller's `rtc_call_state {}` (the caller's first rtc_* request: its connection
gets its lane), and after each caller invites its own callee (N calls ringing at once, every
invite answered and every `rtc_call_incoming` received). The callers then ask `rtc_call_state`
again to count the calls that still ring.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec

from .. import wire
from ..stats import Meter, ServerMeter, others_cores, summary_ms
from .base import Context, Result, Skip, scenario
from .goals import Goal, at_least, count, number, samples
from .reads import fill
from .resources import KIB_PER_MB

CALLS_GOAL = 1000  # the ringing calls the memory goal was set for
KIB_PER_CALL_GOAL = 16.0  # per ringing call, the caller's lane included
BUSY_MARGIN_MS = 1.0  # the round trip behind a slow request may exceed the quiet one's p99 by this much
SLOW = ("page", "search")  # the slow requests a round may send right before its offer


def fake_sdp(kind: str, size: int = 3000) -> str:
    """An SDP-shaped text of about `size` bytes (chatd relays it without reading it)."""
    head = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1", "a=msid-semantic: WMS bench"]
    lines = [*head]
    i = 0
    while sum(len(x) + 2 for x in lines) < size:
        lines.append(f"a=rtpmap:{96 + i % 30} VP8/90000" if i % 3 else f"a=candidate:{i} 1 udp 2122260223 192.0.2.{i % 250 + 1} {50000 + i} typ host")
        i += 1
    lines.append(f"a=setup:{'actpass' if kind == 'offer' else 'active'}")
    return "\r\n".join(lines) + "\r\n"


OFFER, ANSWER = fake_sdp("offer"), fake_sdp("answer")


class _Signal(msgspec.Struct):
    type: str = ""
    call_id: int = 0


_decode_signal = msgspec.json.Decoder(_Signal).decode


class Exchange:
    """One accepted call between two connections; the callee answers every offer it is relayed."""

    def __init__(self) -> None:
        self.caller: wire.Conn | None = None  # set once both connections are open
        self.callee: wire.Conn | None = None
        self.call_id = 0
        self.answer_at: float | None = None  # when the caller read the relayed answer of this round
        self.errors: list[str] = []

    def on_push(self, conn: wire.Conn, env: wire.Envelope, t: float) -> None:
        if env.cmd != "rtc_signal":
            return
        sig = _decode_signal(bytes(env.data))
        if conn is self.callee and sig.type == "offer":
            conn.request("rtc_answer", {"call_id": self.call_id, "sdp": ANSWER}, self._acked)
        elif conn is self.caller and sig.type == "answer":
            self.answer_at = t

    def _acked(self, conn: wire.Conn, env: wire.Envelope, t: float, t_sent: float) -> None:
        if not env.ok:
            self.errors.append(f"{env.cmd}: {env.error}")

    def place(self, loop: wire.Loop) -> None:
        """The caller invites, the callee accepts: both connections are the call's devices."""
        placed = wire.check_ok(wire.call(loop, self.caller, "rtc_call_invite", {"peer": self.callee.user["id"], "media": "video"})[0])  # type: ignore[index]
        self.call_id = placed["call"]["call_id"]
        wire.check_ok(wire.call(loop, self.callee, "rtc_call_accept", {"call_id": self.call_id})[0])

    def round(self, loop: wire.Loop, slow: tuple[str, dict[str, Any]] | None) -> tuple[float, float | None, float | None]:
        """One offer → answer. With `slow` (a command and its data), that request goes first on
        the caller's connection. Returns (round trip, the slow request's latency, when its
        response was read)."""
        self.answer_at = None
        got: list[tuple[float, float]] = []

        def on_slow(conn: wire.Conn, env: wire.Envelope, t: float, t_sent: float) -> None:
            if not env.ok:
                self.errors.append(f"{env.cmd}: {env.error}")
            got.append((t - t_sent, t))

        if slow is not None:
            self.caller.request(*slow, on_slow)  # type: ignore[union-attr]
        t0 = self.caller.request("rtc_offer", {"call_id": self.call_id, "sdp": OFFER}, self._acked)  # type: ignore[union-attr]
        if not loop.run(lambda: self.answer_at is not None and (slow is None or bool(got)) or bool(self.errors), wire.now() + 30):
            raise wire.WireError("no answer relayed within 30 s")
        if self.errors:
            raise wire.WireError(self.errors[0])
        assert self.answer_at is not None
        return (self.answer_at - t0, *got[0]) if got else (self.answer_at - t0, None, None)


def measure_relay(ctx: Context, res: Result) -> None:
    p = res.params
    rng = random.Random(16)
    with ctx.server(2) as target:
        loop = wire.Loop()
        try:
            ex = Exchange()
            ex.caller, ex.callee = caller, callee = wire.open_many(loop, target.url, target.logins(["bench1"], device="caller") + target.logins(["bench2"], device="callee"), on_push=ex.on_push)
            peer = callee.user["id"]  # type: ignore[index]
            fill(loop, caller, peer, p["dm_messages"])
            newest = wire.check_ok(wire.call(loop, caller, "chat_dm_history", {"peer": peer, "limit": p["page_size"]})[0])
            last_seq = newest["last_seq"]
            ex.place(loop)

            def slow(kind: str) -> tuple[str, dict[str, Any]]:
                if kind == "page":
                    return "chat_dm_history", {"peer": peer, "limit": p["page_size"], "before_seq": rng.randint(p["page_size"] + 1, last_seq + 1)}
                return "chat_dm_search", {"peer": peer, "query": rng.choice(p["search_queries"]), "limit": p["search_limit"]}

            kinds = ("quiet", *SLOW)
            for _ in range(p["warm_up_rounds"]):
                for kind in kinds:
                    ex.round(loop, None if kind == "quiet" else slow(kind))
            relay: dict[str, list[float]] = {k: [] for k in kinds}
            slow_s: dict[str, list[float]] = {k: [] for k in SLOW}
            overtook = dict.fromkeys(SLOW, 0)
            meter, srv = Meter(), ServerMeter(target)
            srv.start()
            meter.start()
            for _ in range(p["rounds"]):
                for kind in kinds:
                    rtt, took, read_at = ex.round(loop, None if kind == "quiet" else slow(kind))
                    relay[kind].append(rtt)
                    if kind != "quiet":
                        slow_s[kind].append(took)  # type: ignore[arg-type]
                        overtook[kind] += ex.answer_at < read_at  # type: ignore[operator]  # the answer came back first
            meter.stop()
            srv.stop()
        finally:
            loop.close()
    for kind, lat in relay.items():
        name = "relay_quiet" if kind == "quiet" else f"relay_behind_{kind}"
        s = res.detail[f"{name}_ms"] = summary_ms(lat)
        for pct in ("p50", "p99", "max"):
            res.fig(f"{name}_{pct}_ms", s.get(pct), "ms")
        res.samples["offer → answer" + ("" if kind == "quiet" else f", behind a {kind}")] = [x * 1000 for x in lat]
    for kind, lat in slow_s.items():
        s = res.detail[f"{kind}_ms"] = summary_ms(lat)
        for pct in ("p50", "p99"):
            res.fig(f"{kind}_{pct}_ms", s.get(pct), "ms")
        res.fig(f"answered_before_{kind}", round(overtook[kind] / len(lat), 3) if lat else None, f"share of the rounds behind a {kind}")
        res.samples[f"the {kind} itself"] = [x * 1000 for x in lat]
    res.detail["dm_last_seq"] = last_seq
    share = meter.cpu / meter.wall if meter.wall else 0.0
    res.generator = {**meter.to_json(), "cores_used": round(share, 3), "max_process_core_share": round(share, 3), "saturated": share >= 0.9}
    res.server["relay"] = srv.to_json()
    res.server["relay"]["others_cores"] = others_cores(res.server["relay"], res.generator)


def measure_ringing(ctx: Context, res: Result) -> None:
    p = res.params
    n, settle = p["ringing_calls"], p["settle_s"]

    def longer_ring(srv: Any) -> None:  # nothing may stop ringing while it is measured
        with open(srv.tmp / "chatd.toml", "a") as f:
            f.write(f"\n[calls]\nring_timeout_s = {p['ring_timeout_s']}\n")

    with ctx.server(2 * n, seed=longer_ring) as target:
        if target.pid is None:
            raise Skip("needs the server's pid to read its memory")
        loop = wire.Loop()
        incoming = [0]

        def on_push(conn: wire.Conn, env: wire.Envelope, t: float) -> None:
            incoming[0] += env.cmd == "rtc_call_incoming"

        def all_of(conns: list[wire.Conn], cmd: str, data: Any) -> list[Any]:
            """One request on each connection at once; their answers, in order."""
            out: dict[int, Any] = {}
            for i, c in enumerate(conns):
                c.request(cmd, data(i), lambda conn, env, t, ts, i=i: out.__setitem__(i, env))
            if not loop.run(lambda: len(out) == len(conns), wire.now() + 120):
                raise wire.WireError(f"{cmd}: {len(out)} of {len(conns)} answered within 120 s")
            return [wire.check_ok(out[i]) for i in range(len(conns))]

        def rss() -> tuple[int, dict[str, int]]:
            loop.sleep(settle)
            return target.rss_kib() or 0, target.memory_kib()

        try:
            callers = wire.open_many(loop, target.url, target.logins([f"bench{k}" for k in range(1, n + 1)], device="caller"), batch=250)
            callees = wire.open_many(loop, target.url, target.logins([f"bench{k}" for k in range(n + 1, 2 * n + 1)], device="callee"), on_push=on_push, batch=250)
            idle, idle_mem = rss()
            all_of(callers, "rtc_call_state", lambda i: {})
            laned, _ = rss()
            placed = all_of(callers, "rtc_call_invite", lambda i: {"peer": callees[i].user["id"], "media": "video"})  # type: ignore[index]
            if not loop.run(lambda: incoming[0] >= n, wire.now() + 60):
                raise wire.WireError(f"{incoming[0]} of {n} callees were rung")
            ringing, ringing_mem = rss()
            states = all_of(callers, "rtc_call_state", lambda i: {})
        finally:
            loop.close()
    still = sum(1 for s in states for c in s["calls"] if c["state"] == "ringing" and c["ring_until"] > c["server_time"])
    merged = sum(1 for x in placed if x["merged"])
    calls_kib = ringing - laned
    res.fig("idle_rss_mb", round(idle / KIB_PER_MB, 1), "MB")
    res.fig("ringing_rss_mb", round(ringing / KIB_PER_MB, 1), "MB")
    res.fig("calls_mb", round((ringing - idle) / KIB_PER_MB, 2), f"MB (for {number(n)} calls)")
    res.fig("kib_per_call", round((ringing - idle) / n, 2), "KiB (the caller's lane included)")
    res.fig("kib_per_call_without_lane", round(calls_kib / n, 2), "KiB")
    res.fig("kib_per_lane", round((laned - idle) / n, 2), "KiB")
    res.fig("still_ringing", still, f"of {number(n)}")
    res.detail["memory"] = {
        "connections": 2 * n, "idle_rss_kib": idle, "laned_rss_kib": laned, "ringing_rss_kib": ringing,
        "idle": idle_mem, "ringing": ringing_mem, "merged_invites": merged, "rung_callees": incoming[0],
    }
    if still < n:
        res.note = f"only {still} of {n} calls still rang when counted"


def plan_r(ctx: Context) -> dict[str, Any]:
    return {
        "rounds": ctx.scale(2000, 100), "warm_up_rounds": ctx.scale(50, 10), "dm_messages": ctx.scale(5000, 500),
        "page_size": 100, "search_queries": ["the", "meeting", "会", "开会"], "search_limit": 50, "sdp_bytes": len(OFFER),
        "ringing_calls": ctx.scale(CALLS_GOAL, 100), "ring_timeout_s": 600, "settle_s": ctx.scale(2.0, 0.5),
    }


def _title(p: dict[str, Any]) -> str:
    return (
        f"calls: offer → answer relayed between the two devices of an accepted call, {count(p['rounds'], 'round')} of each kind in turn: "
        f"quiet, right behind a chat_dm_history page of {p['page_size']} and right behind a chat_dm_search (limit {p['search_limit']}) "
        f"on the caller's connection, in a {number(p['dm_messages'])}-message DM; then server RSS with {count(p['ringing_calls'], 'call')} "
        f"ringing at once ({number(p['ringing_calls'])} callers and {number(p['ringing_calls'])} callees, one connection each)"
    )


def _within_quiet(res: Result) -> float | None:
    quiet = res.figures.get("relay_quiet_p99_ms")
    return None if quiet is None else quiet + BUSY_MARGIN_MS


@scenario(
    "R",
    _title,
    "offer → answer p50/p99/max quiet, behind a history page, behind a search; those requests' own latency; RSS and KiB per ringing call",
    plan=plan_r,
    goals=(
        Goal("relay_behind_page_p99_ms", "<=", _within_quiet, f"p99 behind a page ≤ quiet p99 + {number(BUSY_MARGIN_MS)} ms",
             needs=(samples("relay_behind_page_ms", what="rounds"),)),
        Goal("relay_behind_search_p99_ms", "<=", _within_quiet, f"p99 behind a search ≤ quiet p99 + {number(BUSY_MARGIN_MS)} ms",
             needs=(samples("relay_behind_search_ms", what="rounds"),)),
        Goal("kib_per_call", "<=", KIB_PER_CALL_GOAL, f"≤ {number(KIB_PER_CALL_GOAL)} KiB per ringing call (the caller's lane included)",
             needs=(at_least("ringing_calls", CALLS_GOAL, "{} calls"),)),
    ),
    needs=("rtc_call_invite", "rtc_call_accept", "rtc_offer", "rtc_answer", "rtc_call_state"),
    needs_note="needs calls: the rtc_* requests are not implemented by this server",
)
def scenario_r(ctx: Context, res: Result) -> None:
    if ctx.url:
        raise Skip("needs a server the run starts: its ring timeout is raised for the memory part")
    measure_relay(ctx, res)
    measure_ringing(ctx, res)

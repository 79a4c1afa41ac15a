"""P: push notifications (docs/push.md) to the offline members of one group.

Every offline member has a Web Push subscription, written into the database before the
server starts (with the member's login token), whose endpoint is a push service this process
runs on 127.0.0.1 (the spawned server allows private endpoints: bench/target.py). Those members
never connect: the sender makes the group with them and sends one message, and the scenario
measures the time from the send until the push service has every member's push, and the
server's CPU per push (each is encrypted for its own subscription, aes128gcm, and signed).
The push service only counts: it answers 201 and reads nothing.

Then the online members' side: a few members of the same group are connected, and the sender
sends a series of messages at a fixed rate; each is delivered to the online members while the
server pushes it to every offline one. The send-to-receive latency of those deliveries is
measured on a server with the subscriptions and on one without (the same group, the same
members, nobody to push to), one after the other: pushes must not move the online p99.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import multiprocessing
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .. import wire
from ..stats import summary_ms
from .base import Context, Result, scenario
from .goals import Goal, count
from .groups import GROUP_CMDS, create_group

PUSH_CMDS = (*GROUP_CMDS, "push_device_register")


class _PushService:
    """An HTTP/1.1 push service on 127.0.0.1 that answers 201 to every POST and counts them, in
    a process of its own at the lowest CPU priority: it stands for another machine, and its work
    of receiving hundreds of pushes a second must not slow the benchmark's clients, whose clocks
    time the online deliveries, or the server they measure. Times are `time.monotonic()`,
    one clock for every process of the machine."""

    def __init__(self) -> None:
        mp = multiprocessing.get_context("spawn")
        self._count = mp.Value("q", 0)
        self._expect = mp.Value("q", 0)
        self._times = mp.Array("d", 3)  # first, last, when the expect-th arrived
        self.done = mp.Event()
        ready, port = mp.Pipe()
        self._process = mp.Process(target=_serve_pushes, args=(ready, self._count, self._expect, self._times, self.done), daemon=True)
        self._process.start()
        self.port: int = port.recv()

    @property
    def count(self) -> int:
        return int(self._count.value)

    @property
    def expect(self) -> int:
        return int(self._expect.value)

    @expect.setter
    def expect(self, value: int) -> None:
        self._expect.value = value

    @property
    def first(self) -> float:
        return float(self._times[0])

    @property
    def all_at(self) -> float:
        return float(self._times[2])

    def close(self) -> None:
        self._process.terminate()
        self._process.join()


def _serve_pushes(ready: Any, count: Any, expect: Any, times: Any, done: Any) -> None:
    os.nice(19)  # a push service is another machine: here it takes the CPU the server leaves
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with count.get_lock():
                count.value += 1
                now = time.monotonic()
                times[1] = now
                if count.value == 1:
                    times[0] = now
                if count.value == expect.value:
                    times[2] = now  # (the series' pushes after it count on)
                    done.set()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    ready.send(http.server_address[1])
    http.serve_forever()


def _user_ids(db: str, names: list[str]) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        ids = dict(conn.execute("SELECT name, id FROM users"))
    finally:
        conn.close()
    return [ids[name] for name in names]


def _subscriptions(db: str, tokens: dict[str, str], names: list[str], port: int) -> list[int]:
    """A Web Push subscription per member, as push_device_register stores it (chatd.store.push);
    returns the members' user ids."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from chatd.store import push as push_store
    from chatd.store.db import IdGen, connect, now_ms
    from chatd.store.writer import WriteCtx

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    conn = connect(db)
    try:
        ids = dict(conn.execute("SELECT name, id FROM users"))
        ctx = WriteCtx(conn, IdGen(0))
        ctx.now = now_ms()
        conn.execute("BEGIN")
        for name in names:
            push_store.register(ctx, ids[name], tokens[name], "webpush", f"http://127.0.0.1:{port}/push/{name}", (b64(key), b64(os.urandom(16))), "", "", 5)
        conn.execute("COMMIT")
        return [ids[name] for name in names]
    except sqlite3.Error:
        conn.rollback()
        raise
    finally:
        conn.close()


def plan_p(ctx: Context) -> dict[str, Any]:
    members = ctx.scale(1000, 50)
    online = ctx.scale(20, 4)
    return {"members": members, "offline": members - 1 - online, "online": online, "series": ctx.scale(20, 5), "series_rate": 4.0}


def _online_series(loop: wire.Loop, sender: wire.Conn, gid: int, receivers: list[wire.Conn], count: int, rate: float, got: dict[str, list[float]]) -> list[float]:
    """Send `count` messages at `rate`; returns each online delivery's send-to-receive seconds."""
    sent: dict[str, float] = {}
    t0 = wire.now() + 0.1
    for k in range(count):
        loop.sleep_until(t0 + k / rate)
        tag = f"series {k}"
        sent[tag] = wire.now()
        sender.request("chat_group_send", {"group_id": gid, "content": {"type": "text", "text": tag}}, lambda *a: None)
    loop.run(lambda: all(len(got.get(tag, ())) >= len(receivers) for tag in sent), wire.now() + 60)
    return [t - sent[tag] for tag, times in got.items() if tag in sent for t in times]


def _receiver(got: dict[str, list[float]]) -> Any:
    def on_push(conn: wire.Conn, env: wire.Envelope, t: float) -> None:
        if env.cmd == "chat_message":
            text = (wire.decode_data(env).get("message") or {}).get("content", {}).get("text", "")
            if text.startswith("series "):
                got.setdefault(text, []).append(t)

    return on_push


@scenario(
    "P",
    lambda p: (
        f"one message to a group whose {count(p['offline'], 'member')} are offline, each with a Web Push subscription; then "
        f"{p['series']} messages at {p['series_rate']:g}/s to it, received by its {count(p['online'], 'online member')}, "
        "on that server and on one without subscriptions"
    ),
    "seconds until the push service has every push, pushes/s, server CPU ms per push (and of it the server process's own, without its push worker); the online members' send-to-receive p50/p99 with and without pushes",
    plan=plan_p,
    goals=(
        Goal("missing", "<=", 0, "every push arrives"),
        Goal("online_p99_moved_ms", "<=", 1.0, "pushes move the online p99 by ≤ 1 ms"),
    ),
    needs=PUSH_CMDS,
    needs_note="needs push devices: push_device_register is not implemented by this server",
)
def scenario_p(ctx: Context, res: Result) -> None:
    p = res.params
    members, online = p["members"], p["online"]
    names = [f"bench{k}" for k in range(1, members + 1)]
    online_names, offline_names = names[1 : 1 + online], names[1 + online :]
    service = _PushService()
    service.expect = len(offline_names)
    latencies: dict[str, list[float]] = {}
    cpu0 = cpu1 = own0 = own1 = None
    got_first, t0 = 0, 0.0
    try:
        for run in ("with_pushes", "without_pushes"):
            got: dict[str, list[float]] = {}
            offline: list[int] = []
            subscribe = run == "with_pushes"

            def seed(srv: Any) -> None:
                db = str(srv.data_dir / "chatd.sqlite3")
                offline.extend(_subscriptions(db, srv.tokens, offline_names, service.port) if subscribe else _user_ids(db, offline_names))

            with ctx.server(members, seed=seed) as target:
                loop = wire.Loop()
                try:
                    (sender,) = wire.open_many(loop, target.url, target.logins(names[:1]))
                    receivers = wire.open_many(loop, target.url, target.logins(online_names), on_push=_receiver(got))
                    gid = create_group(loop, sender, [*offline, *(c.user["id"] for c in receivers)])  # type: ignore[index]
                    if subscribe:
                        cpu0, own0 = target.cpu(), target.cpu(children=False)
                        t0 = time.monotonic()
                        wire.check_ok(wire.call(loop, sender, "chat_group_send", {"group_id": gid, "content": {"type": "text", "text": "push"}})[0])
                        service.done.wait(ctx.scale(120.0, 30.0))
                        cpu1, own1 = target.cpu(), target.cpu(children=False)
                        got_first = service.count
                    latencies[run] = _online_series(loop, sender, gid, receivers, p["series"], p["series_rate"], got)
                finally:
                    loop.close()
    finally:
        service.close()
    got = got_first
    seconds = (service.all_at - t0) if service.all_at else None
    res.fig("seconds_to_all", None if seconds is None else round(seconds, 3), "s")
    res.fig("pushes_per_s", None if not seconds else round(got / seconds), "pushes/s")
    cpu = None if cpu0 is None or cpu1 is None or not got else round((cpu1 - cpu0) / got * 1000, 3)
    res.fig("server_cpu_ms_per_push", cpu, "ms")
    own = None if own0 is None or own1 is None or not got else round((own1 - own0) / got * 1000, 3)
    res.fig("server_loop_cpu_ms_per_push", own, "ms")  # of it, the server process's own (its event loop's), without the push worker's
    res.fig("missing", len(offline_names) - got, "pushes")
    p99 = {}
    for run, lat in latencies.items():
        summary = summary_ms(lat)
        p99[run] = summary.get("p99")
        res.fig(f"online_p50_ms_{run}", summary.get("p50"), "ms")
        res.fig(f"online_p99_ms_{run}", p99[run], "ms")
    moved = None if None in (p99.get("with_pushes"), p99.get("without_pushes")) else round(p99["with_pushes"] - p99["without_pushes"], 3)
    res.fig("online_p99_moved_ms", moved, "ms")
    res.detail = {"first_push_s": round(service.first - t0, 4) if got else None, "received": got, "online_deliveries": {k: len(v) for k, v in latencies.items()}}

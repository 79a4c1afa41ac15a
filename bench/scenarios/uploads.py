"""U: WebSocket sends while files are uploaded over HTTP (issue 14's bounds; docs/performance.md).

One user sends DMs to a connected peer one at a time (each waits for its ack,
then SEND_GAP_S before the next) and the generator times each ack: with no
upload running (quiet: half before the uploads, half after them, so a change
in the machine's other load shows in both), and while 20 uploads run at once
(during). Before the concurrent uploads, one large upload (100 MB at full
scale) runs alone, and the server's RSS is read before it and sampled while it
runs (and its VmHWM after it): the memory an upload holds is bounded, not its
size.

The server runs with chatd's default files.upload_bytes_per_s (the budget that
paces all uploads together, docs/files.md), or the one given by
--u-upload-rate (0: unpaced, as fast as loopback takes them).

The uploads come from a second generator process (so their threads do not
share the interpreter of the process that times the sends), with http.client
from the standard library: POST /api/v1/files with Authorization: Bearer, a
Content-Length and the body sent in 1 MiB pieces. Every upload's bytes differ
(its last 8 bytes are a counter), so none is stored as a copy of another.
During the concurrent phase each of the 20 uploaders uploads again and again
until the sender has its samples and each has done one upload; the sends
that overlap it are the "during" figures, the bytes of the uploads completed
over its length the throughput.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from .. import wire
from ..stats import ServerMeter, summary_ms
from .base import Context, Result, Skip, scenario
from .goals import Goal, at_least, count, number, samples
from .logins import _mb, proc_status_kib

MB = 1_000_000  # figures in MB are 10^6 bytes
PIECE = 1 << 20  # the uploaders send the body in pieces of this many bytes
SEND_GAP_S = 0.002  # the sender's pause after each ack
NOISE = 1.15  # run-to-run noise of a send p99 here (5-15 %, docs/performance.md)
BIG_MB = 100  # the upload whose memory the issue bounds
RSS_RISE_MB = 16.0  # what that upload may add to the server's RSS


def plan_u(ctx: Context) -> dict[str, Any]:
    rate = getattr(ctx.args, "u_upload_rate", None)
    return {
        "upload_bytes_per_s": _default_rate() if rate is None else rate,
        "uploads": 20,
        "upload_mb": ctx.scale(20, 1),
        "big_upload_mb": ctx.scale(BIG_MB, 10),
        "send_samples": ctx.scale(1000, 200),
        "send_gap_ms": SEND_GAP_S * 1000,
        "client": "http.client in a second generator process, one thread per upload, 1 MiB writes",
    }


def title_u(p: dict[str, Any]) -> str:
    rate = p["upload_bytes_per_s"]
    paced = f"paced to {number(rate / MB)} MB/s in all (files.upload_bytes_per_s)" if rate else "unpaced (files.upload_bytes_per_s = 0)"
    return (
        f"DM sends (one at a time, acked) quiet and during {p['uploads']} concurrent uploads of {p['upload_mb']} MB "
        f"over loopback, {paced}, after one {p['big_upload_mb']} MB upload alone (server RSS), durability {p['durability']}"
    )


def _default_rate() -> int:
    from chatd.config import FilesConfig

    return getattr(FilesConfig(), "upload_bytes_per_s", 0)


def _configure(rate: int) -> Any:
    """A seed for ctx.server: the spawned server's files.upload_bytes_per_s, when it is not chatd's default."""
    if rate == _default_rate():
        return None

    def seed(srv: Any) -> None:
        config = srv.tmp / "chatd.toml"
        config.write_text(config.read_text() + f"\n[files]\nupload_bytes_per_s = {int(rate)}\n")

    return seed


def _http_address(url: str) -> tuple[str, int]:
    host, port, _ = wire.parse_url(url)
    return host, port


def _upload(host: str, port: int, token: str, body: memoryview, tail: bytes) -> tuple[int, int, float, float]:
    """One POST /api/v1/files of body + tail; (status, bytes, start, end) with perf_counter times."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=600)
    try:
        conn.putrequest("POST", "/api/v1/files")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(len(body) + len(tail)))
        conn.endheaders()
        for lo in range(0, len(body), PIECE):
            conn.send(body[lo : lo + PIECE])
        conn.send(tail)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return status, len(body) + len(tail), t0, time.perf_counter()


def _uploader(pipe: Any, host: str, port: int, token: str, tag: int) -> None:
    """The upload generator: ("upload", threads, size, min_each) runs `threads` uploaders, each
    uploading until ("stop",) came and it has done min_each; answers ("done", results)."""
    counter = [0]
    lock = threading.Lock()
    try:
        while True:
            msg = pipe.recv()
            if msg[0] == "quit":
                return
            _, threads, size, min_each = msg
            body = memoryview(os.urandom(size - 8))
            stop = threading.Event()
            results: list[tuple[int, int, float, float]] = []

            def run() -> None:
                done = 0
                while done < min_each or not stop.is_set():
                    with lock:
                        counter[0] += 1
                        tail = struct.pack(">II", tag, counter[0])
                    results.append(_upload(host, port, token, body, tail))
                    done += 1

            workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
            for w in workers:
                w.start()
            pipe.send(("started", time.perf_counter()))
            while any(w.is_alive() for w in workers):
                if pipe.poll(0.05) and pipe.recv()[0] == "stop":
                    stop.set()
            pipe.send(("done", results))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        pipe.send(("error", repr(exc)))
    finally:
        pipe.close()


def _expect(pipe: Any, kind: str, timeout: float, meanwhile: Callable[[], None] = lambda: None) -> Any:
    """The upload generator's next message, which must be `kind`; meanwhile() is called every 10 ms while it is awaited."""
    deadline = time.perf_counter() + timeout
    while not pipe.poll(0.01):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the upload generator sent no {kind!r} in {timeout} s")
        meanwhile()
    got, payload = pipe.recv()
    if got != kind:
        raise RuntimeError(f"the upload generator failed: {payload}")
    return payload


class Sender:
    """Sequential acked DM sends on one connection."""

    def __init__(self, loop: wire.Loop, conn: wire.Conn, peer: int):
        self.loop, self.conn, self.peer, self.i = loop, conn, peer, 0
        self.errors: dict[str, int] = {}

    def one(self) -> float:
        self.i += 1
        data = {"peer": self.peer, "client_msg_id": f"u{self.i}", "content": {"type": "text", "text": f"upload bench {self.i}"}}
        env, latency = wire.call(self.loop, self.conn, "chat_dm_send", data)
        if not env.ok:
            code = (env.error or {}).get("code", "?")
            self.errors[code] = self.errors.get(code, 0) + 1
        self.loop.sleep(SEND_GAP_S)
        return latency


def _throughput(results: list[tuple[int, int, float, float]]) -> tuple[float | None, dict[str, int]]:
    ok = [r for r in results if r[0] == 201]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[0])] = statuses.get(str(r[0]), 0) + 1
    if not ok:
        return None, statuses
    span = max(r[3] for r in ok) - min(r[2] for r in ok)
    return round(sum(r[1] for r in ok) / span / MB, 1) if span > 0 else None, statuses


@scenario(
    "U",
    title_u,
    "send p50/p99/max quiet and during uploads, upload MB/s, server RSS before and peak during a 100 MB upload",
    plan=plan_u,
    goals=(
        Goal(
            "busy_send_p99_ms",
            "<=",
            lambda r: r.figures["quiet_send_p99_ms"] * NOISE if r.figures.get("quiet_send_p99_ms") else None,
            "send p99 during 20 concurrent uploads within the noise of the quiet p99 (1.15×)",
            needs=(samples("quiet_send_ms"), samples("busy_send_ms"), at_least("uploads", 20, "{} uploads")),
        ),
        Goal("big_upload_rss_rise_mb", "<=", RSS_RISE_MB, f"a {BIG_MB} MB upload adds ≤ {RSS_RISE_MB:g} MB to the server's peak RSS", needs=(at_least("big_upload_mb", BIG_MB, "a {} MB upload"),)),
    ),
)
def scenario_u(ctx: Context, res: Result) -> None:
    if ctx.url:
        raise Skip("needs a server it starts itself (it uploads hundreds of MB into the server's data directory)")
    p = res.params
    n_up, size, big, want = p["uploads"], p["upload_mb"] * MB, p["big_upload_mb"] * MB, p["send_samples"]
    with ctx.server(2, seed=_configure(p["upload_bytes_per_s"])) as target:
        alice, bob = target.logins(["bench1", "bench2"])
        host, port = _http_address(target.url)
        loop = wire.Loop()
        mpctx = mp.get_context("spawn")
        pipe, child = mpctx.Pipe()
        gen = mpctx.Process(target=_uploader, args=(child, host, port, alice["token"], os.getpid() & 0xFFFFFFFF), daemon=True)
        gen.start()
        child.close()
        try:
            a, b = wire.open_many(loop, target.url, [alice, bob])
            sender = Sender(loop, a, b.user["id"])  # type: ignore[index]
            for _ in range(50):  # warm-up, not measured
                sender.one()
            quiet = [sender.one() for _ in range(want // 2)]  # the other half after the uploads

            # One large upload alone: the server's RSS before, sampled during, and its peak (VmHWM) after.
            pid = target.pid
            before = proc_status_kib(pid, "VmRSS", "VmHWM") if pid else {}
            big_meter = ServerMeter(target)
            big_meter.start()
            pipe.send(("upload", 1, big, 1))
            _expect(pipe, "started", 60)
            pipe.send(("stop",))
            rss = [0]
            big_results = _expect(pipe, "done", 600, lambda: rss.append(target.rss_kib() or 0))
            big_peak = max(rss)
            big_meter.stop()
            after = proc_status_kib(pid, "VmRSS", "VmHWM") if pid else {}
            if after.get("VmHWM") and before.get("VmHWM") and after["VmHWM"] > before["VmHWM"]:
                big_peak = max(big_peak, after["VmHWM"])  # the peak between two samples
            big_rate, big_statuses = _throughput(big_results)

            # The concurrent uploads, with the sends timed until every uploader has done one and the samples are in.
            server = ServerMeter(target)
            server.start()
            pipe.send(("upload", n_up, size, 1))
            _expect(pipe, "started", 60)
            busy: list[float] = []
            stopped = False
            busy_peak = 0
            while not pipe.poll(0):
                busy.append(sender.one())
                busy_peak = max(busy_peak, target.rss_kib() or 0)
                if not stopped and len(busy) >= want:
                    pipe.send(("stop",))
                    stopped = True
            if not stopped:
                pipe.send(("stop",))
            results = _expect(pipe, "done", 600)
            server.stop()
            quiet += [sender.one() for _ in range(want - want // 2)]
            peak = proc_status_kib(pid, "VmRSS", "VmHWM") if pid else {}
            if peak.get("VmHWM") and after.get("VmHWM") and peak["VmHWM"] > after["VmHWM"]:
                busy_peak = max(busy_peak, peak["VmHWM"])
            pipe.send(("quit",))
        finally:
            loop.close()
            gen.join(10)
            if gen.is_alive():
                gen.terminate()
                gen.join(5)
    rate, statuses = _throughput(results)
    if set(statuses) != {"201"} or set(big_statuses) != {"201"}:
        raise RuntimeError(f"uploads failed: statuses {statuses}, the large one {big_statuses}")
    if sender.errors:
        raise RuntimeError(f"sends failed: {sender.errors}")
    q, d = summary_ms(quiet), summary_ms(busy)
    for name, s in (("quiet", q), ("busy", d)):
        res.fig(f"{name}_send_p50_ms", s.get("p50"), "ms")
        res.fig(f"{name}_send_p99_ms", s.get("p99"), "ms")
        res.fig(f"{name}_send_max_ms", s.get("max"), "ms")
    res.fig("upload_mb_per_s", rate, f"MB/s ({n_up} at once)")
    res.fig("big_upload_mb_per_s", big_rate, "MB/s (alone)")
    if big_meter.cpu is not None:
        res.fig("server_cpu_s_per_100_mb", round(big_meter.cpu / (big / (100 * MB)), 3), "CPU-s (the large upload alone)")
    if pid and before.get("VmRSS") and big_peak:
        res.fig("rss_before_mb", _mb(before["VmRSS"]), "MB")
        res.fig("big_upload_rss_peak_mb", _mb(big_peak), "MB")
        res.fig("big_upload_rss_rise_mb", _mb(max(0, big_peak - before["VmRSS"])), "MB (peak - before)")
        res.fig("concurrent_rss_peak_mb", _mb(busy_peak), "MB")
    res.params["uploads_done"] = len(results)
    res.detail = {
        "quiet_send_ms": q,
        "busy_send_ms": d,
        "uploads": {"count": len(results), "statuses": statuses, "seconds": [round(r[3] - r[2], 2) for r in results]},
        "big_upload": {"bytes": big, "seconds": round(big_results[0][3] - big_results[0][2], 2)},
        "rss_kib": {"before": before, "after_big_upload": after, "after_concurrent": peak},
    }
    res.server = server.to_json()
    res.detail["big_upload"]["server"] = big_meter.to_json()
    res.samples = {"send quiet": [x * 1000 for x in quiet], f"send during {count(n_up, 'upload')}": [x * 1000 for x in busy]}
    if not pid:
        res.note = "the server's pid is not known (--server-pid): no RSS figures"

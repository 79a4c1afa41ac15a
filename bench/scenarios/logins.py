"""L (memory and CPU of password logins): 20 concurrent password logins against a fresh server.

Every other scenario logs in with tokens, so no password is hashed; this one
logs users in with their password, each check an argon2id hash with the
configured parameters, at most `auth.hash_slots` at once. It reports the
server's peak RSS (VmHWM: the most it was ever resident since its start, so the
server is fresh and its idle RSS is read first), the RSS added, the server's
CPU per login and the login latency seen by the clients (queued behind the
hashing slots).

The parameters are chatd's defaults, or those of CHATD_AUTH_HASH_MEMORY_KIB,
CHATD_AUTH_HASH_TIME_COST, CHATD_AUTH_HASH_PARALLELISM and CHATD_AUTH_HASH_SLOTS
in the benchmark's environment: the users' hashes are made with them and the
spawned server's config file is given them, so no login has a hash to upgrade.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import wire
from ..stats import Meter, ServerMeter, others_cores, summary_ms
from ..target import SpawnedServer
from .base import Context, Goal, Result, Skip, scenario

KIB_PER_MB = 1e6 / 1024  # figures in MB are 10^6 bytes
HASH_KEYS = ("hash_memory_kib", "hash_time_cost", "hash_parallelism", "hash_slots")


def proc_status_kib(pid: int, *keys: str) -> dict[str, int | None]:
    """Fields of /proc/PID/status given in kB (VmRSS, VmHWM, ...), in KiB."""
    out: dict[str, int | None] = dict.fromkeys(keys)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in out:
                out[name] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return out


def _mb(kib: int | None) -> float | None:
    return None if kib is None else round(kib / KIB_PER_MB, 1)


def _hashing() -> Any:
    """The [auth] settings chatd would use here: its defaults, or CHATD_AUTH_* in this environment."""
    from chatd.config import load

    return load(None).auth


def _prepare(srv: SpawnedServer, auth: Any, names: list[str]) -> None:
    """Give the users a real hash of the password with the parameters, and the server the same ones."""
    from chatd.passwords import hash_password
    from chatd.store import users as users_store
    from chatd.store.db import connect

    from ..corpus import PASSWORD

    conn = connect(srv.data_dir / "chatd.sqlite3")
    try:
        for name in names:
            users_store.set_password(conn, name, hash_password(PASSWORD, auth))
    finally:
        conn.close()
    config = srv.tmp / "chatd.toml"
    lines = "".join(f"{key} = {getattr(auth, key)}\n" for key in HASH_KEYS)
    text = config.read_text()
    if "\n[auth]\n" in text:
        text = text.replace("\n[auth]\n", f"\n[auth]\n{lines}", 1)
    else:
        text += f"\n[auth]\n{lines}"
    config.write_text(text)


def _login_all(loop: wire.Loop, url: str, names: list[str], password: str, timeout: float) -> list[float]:
    """Open a connection per name, then send every password login at once; returns each login's latency (s)."""
    host, port, path = wire.parse_url(url)
    conns = []
    opened = [0]

    def on_open(conn: wire.Conn) -> None:
        opened[0] += 1

    for name in names:
        conn = wire.Conn(loop)
        conn.name = name
        conn.on_open = on_open
        conn.start(host, port, path)
        conns.append(conn)
    if not loop.run(lambda: opened[0] == len(conns), wire.now() + timeout):
        raise wire.WireError(f"only {opened[0]} of {len(conns)} connections opened")
    latencies: list[float] = []
    errors: list[str] = []

    def on_login(conn: wire.Conn, env: wire.Envelope, t: float, t_sent: float) -> None:
        if not env.ok:
            errors.append(f"{conn.name}: {env.error}")
        latencies.append(t - t_sent)

    for conn in conns:
        conn.request("login", {"username": conn.name, "password": password, "device": "bench"}, on_login)
    if not loop.run(lambda: len(latencies) == len(conns), wire.now() + timeout):
        raise wire.WireError(f"only {len(latencies)} of {len(conns)} password logins answered")
    if errors:
        raise wire.WireError(f"password login failed: {errors[0]}")
    for conn in conns:
        conn.close()
    return latencies


def plan_l(ctx: Context) -> dict[str, Any]:
    auth = _hashing()
    return {
        "logins": 20,
        "settle_s": ctx.scale(2.0, 0.5),
        "argon2id": {"memory_kib": auth.hash_memory_kib, "time_cost": auth.hash_time_cost, "parallelism": auth.hash_parallelism},
        "hash_slots": auth.hash_slots,
        "sequence": "one password login alone, then the 20 users' password logins sent at once on 20 open connections",
    }


def title_l(p: dict[str, Any]) -> str:
    a = p["argon2id"]
    return (
        f"password logins: server memory and CPU of {p['logins']} concurrent argon2id checks "
        f"({a['memory_kib'] // 1024} MiB, {a['time_cost']} passes, {a['parallelism']} lane(s); {p['hash_slots']} at once)"
    )


@scenario(
    "L",
    title_l,
    "peak RSS MB, RSS delta MB, CPU ms per login, login p50/p99",
    plan=plan_l,
    goals=(
        Goal("peak_rss_mb", "<=", 80.0, "peak RSS ≤ 80 MB during 20 concurrent password logins"),
        Goal("cpu_ms_per_login", "<=", 60.0, "≤ 60 ms CPU per login"),
    ),
)
def scenario_l(ctx: Context, res: Result) -> None:
    if ctx.url:
        raise Skip("needs a server it starts itself (the peak RSS is the most since the server's start)")
    from ..corpus import PASSWORD

    n, settle = res.params["logins"], res.params["settle_s"]
    auth = _hashing()
    names = [f"bench{k}" for k in range(1, n + 1)]
    srv = SpawnedServer(n, workdir=ctx.workdir, keep=ctx.args.keep)
    try:
        srv.prepare()
        _prepare(srv, auth, names)
        srv.start()
        assert srv.pid is not None
        time.sleep(settle)
        idle = proc_status_kib(srv.pid, "VmRSS", "VmHWM")
        loop = wire.Loop()
        try:
            # One login alone first (what a single password login adds), then the 20 at once.
            one = _login_all(loop, srv.url, names[:1], PASSWORD, timeout=60)
            after_one = proc_status_kib(srv.pid, "VmRSS", "VmHWM")
            meter, server = Meter(), ServerMeter(srv)
            server.start()
            meter.start()
            lat = _login_all(loop, srv.url, names, PASSWORD, timeout=60 + n * 5)
            meter.stop()
            server.stop()
        finally:
            loop.close()
        end = proc_status_kib(srv.pid, "VmRSS", "VmHWM")
        hashed_log = srv.log_tail(200_000).count("upgraded to the configured parameters")
    finally:
        srv.cleanup()
    s = summary_ms(lat)
    res.fig("idle_rss_mb", _mb(idle["VmRSS"]), "MB")
    res.fig("peak_rss_mb", _mb(end["VmHWM"]), "MB (VmHWM)")
    res.fig("rss_delta_mb", _mb(end["VmHWM"] - idle["VmRSS"]) if end["VmHWM"] and idle["VmRSS"] else None, "MB (peak - idle)")
    res.fig("cpu_ms_per_login", round(server.cpu / n * 1000, 1) if server.cpu is not None else None, "ms")
    res.fig("login_p50_ms", s.get("p50"), "ms")
    res.fig("login_p99_ms", s.get("p99"), "ms")
    res.detail = {
        "idle_kib": idle,
        "after_one_login_kib": after_one,
        "one_login_ms": round(one[0] * 1000, 1),
        "after_all_kib": end,
        "peak_rss_mb_after_one_login": _mb(after_one["VmHWM"]),
        "login_ms": s,
        "hashes_upgraded": hashed_log,
    }
    res.samples = {"password login": [x * 1000 for x in lat]}
    share = meter.cpu / meter.wall if meter.wall else 0.0
    res.generator = {**meter.to_json(), "cores_used": round(share, 3), "max_process_core_share": round(share, 3), "saturated": share >= 0.9}
    res.server = server.to_json()
    res.server["others_cores"] = others_cores(res.server, res.generator)
    if hashed_log:
        res.note = f"{hashed_log} logins upgraded a stored hash (the users' hashes had other parameters)"

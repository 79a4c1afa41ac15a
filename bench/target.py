"""The server under test: a `chatd serve` subprocess on a temporary data directory, or a running one.

Spawned: the data directory gets a config file (the limits the benchmark needs,
the durability the run asks for, everything else at its default), a database with the
users a scenario asks for and a login token for each (written with chatd's own
store functions before the server starts, so no scenario waits for password
hashing), then `chatd serve --listen 127.0.0.1:0`; the printed ws:// URL is
read from its output. The server's RLIMIT_NOFILE is raised to the hard limit.

Several nodes (--nodes N, with --database postgresql): N `chatd serve` processes on
the same PostgreSQL database, each with its own port, data directory and
`storage.node` (0 to N-1). The target puts each login on a node (`url_for`,
`logins`: round robin, or away from node 0), so a scenario spreads its clients
without knowing about nodes; the server's CPU and memory are those of every node
and of the cluster.

Attached (--url): the users bench1..benchN must exist with the password given
by --password; each is logged in once with it and its token reused. Server CPU
and memory are read from /proc when the server's pid is known (--server-pid,
or found from the listening port when it runs as the same user).
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import wire
from .procfs import child_pids, pid_listening_on, proc_cpu_seconds, proc_fd_limit, proc_memory_kib, proc_rss_kib

# What the spawned server is told besides its defaults: the durability of the run
# (--durability; by default chatd's own), the rate limits (sends per connection, the
# user's write budget, frames per connection), which would otherwise be what A, B and
# C measure, the cap on connections per address, which would stop M at 512, and push endpoints on
# loopback (P's push service).
BENCH_CONFIG = """\
# Written by bench/: chatd's defaults, except the durability, the rate limits (sends, the write budget, frames)
# and the cap on connections per address (every bench connection comes from 127.0.0.1).
[server]
listen = "127.0.0.1:0"
data_dir = {data_dir}
max_connections_per_ip = 0

[storage]
durability = {durability}
database = {database}
node = 0

[limits]
send_rate_per_s = 1000000.0
send_burst = 1000000
user_write_rate_per_s = 1000000.0
user_write_burst = 1000000
frames_per_s = 1000000.0
frames_burst = 1000000

[push]
# P's push service runs on 127.0.0.1 in the benchmark's process.
allow_private_endpoints = true
"""


def chatd_default_durability() -> str:
    """The storage.durability chatd ships as its default: what a run uses unless --durability says otherwise."""
    from chatd.config import StorageConfig

    return StorageConfig().durability


def chatd_command() -> list[str]:
    script = Path(sys.executable).with_name("chatd")
    if script.exists():
        return [str(script)]
    found = shutil.which("chatd")
    return [found] if found else [sys.executable, "-m", "chatd.cli"]


def raise_fd_limit() -> tuple[int, int]:
    """Raise this process's RLIMIT_NOFILE soft limit to the hard limit; returns the new (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _server_limits() -> None:  # preexec_fn of the spawned server
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:  # if the benchmark dies, its server gets SIGTERM instead of running on
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# -- targets ---------------------------------------------------------------------------------------


class Target:
    url: str
    pid: int | None = None
    spawned = False
    nodes = 1

    def url_for(self, i: int, *, away_from_first: bool = False) -> str:
        """The URL of the node client i connects to: round robin over the nodes, or over every
        node but the first (node 0) when `away_from_first` and there are several."""
        return self.url

    def cpu(self, children: bool = True) -> float | None:
        return None if self.pid is None else proc_cpu_seconds(self.pid, children)

    def rss_kib(self) -> int | None:
        return None if self.pid is None else proc_rss_kib(self.pid)

    def memory_kib(self) -> dict[str, int]:
        return {} if self.pid is None else proc_memory_kib(self.pid)

    def fd_limit(self) -> tuple[int, int] | None:
        return None if self.pid is None else proc_fd_limit(self.pid)

    def logins(self, names: list[str], device: str = "bench", *, away_from_first: bool = False) -> list[dict[str, Any]]:
        """A login for each name, on the node url_for(k) gives the k-th (away from node 0 if asked)."""
        raise NotImplementedError

    def version(self) -> str | None:
        host, port, _ = wire.parse_url(self.url)
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as resp:
                return json.loads(resp.read()).get("version")
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        pass


class SpawnedServer(Target):
    """A fresh `chatd serve` on a temporary data directory."""

    spawned = True

    def __init__(self, users: int = 0, *, db_source: Path | None = None, durability: str | None = None, workdir: Path | None = None, keep: bool = False, database: str = "sqlite", nodes: int = 1):
        if nodes < 1 or (nodes > 1 and database != "postgresql"):
            raise ValueError(f"{nodes} nodes: several nodes share one PostgreSQL database (database postgresql), not {database}")
        self.users = users
        self.nodes = nodes
        # "postgresql": the database prepared as for SQLite is copied (chatd migrate) into a
        # private PostgreSQL cluster with PostgreSQL's default durability (tests/postgres.py),
        # which the server then uses; the cluster's processes count in the server's CPU.
        self.database = database
        self.cluster: Any = None
        self.dsn = ""  # the PostgreSQL database's
        self.db_source = db_source
        self.durability = durability or chatd_default_durability()
        self.tmp = Path(tempfile.mkdtemp(prefix="chatd-bench-", dir=workdir))
        self.data_dir = self.tmp / "data"
        self.keep = keep
        self.tokens: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None  # node 0
        self.procs: list[subprocess.Popen[bytes]] = []  # every node, node 0 first
        self.url = ""  # node 0's
        self.urls: list[str] = []  # every node's, node 0 first
        self.started_s = 0.0  # Popen to the printed URL
        self.log_path = self.tmp / "server.log"

    # -- the database, before the server starts -----------------------------------------------

    def prepare(self) -> None:
        from chatd.auth import hash_password
        from chatd.store import schema
        from chatd.store import users as users_store
        from chatd.store.db import IdGen, connect, now_ms
        from chatd.store.writer import WriteCtx

        from .corpus import PASSWORD

        self.data_dir.mkdir(parents=True)
        db = self.data_dir / "chatd.sqlite3"
        if self.db_source is not None:
            shutil.copyfile(self.db_source, db)
        conn = connect(db)
        try:
            schema.migrate(conn)
            existing = {name: uid for uid, name in conn.execute("SELECT id, name FROM users")}
            pw_hash = None
            ctx = WriteCtx(conn, IdGen(0))
            ctx.now = now_ms()
            conn.execute("BEGIN")
            for k in range(1, self.users + 1):
                name = f"bench{k}"
                uid = existing.get(name)
                if uid is None:
                    pw_hash = pw_hash or hash_password(PASSWORD)
                    uid = users_store.create_user(conn, name, pw_hash)
                token = f"bench-{k}-{os.urandom(12).hex()}"
                users_store.op_issue_token(ctx, uid, token, "bench", 86_400_000)
                self.tokens[name] = token
            conn.execute("COMMIT")
        finally:
            conn.close()
        self._write_config("")

    def _write_config(self, dsn: str) -> None:
        (self.tmp / "chatd.toml").write_text(BENCH_CONFIG.format(data_dir=json.dumps(str(self.data_dir)), durability=json.dumps(self.durability), database=json.dumps(dsn)))

    def _to_postgresql(self) -> None:
        """Copy the prepared SQLite database into a new PostgreSQL cluster; the server uses that."""
        from chatd.store import pg_copy
        from tests.postgres import Cluster

        self.cluster = Cluster(settings={}).start()
        dsn = self.dsn = self.cluster.create_database("chatd")
        pg_copy.copy(str(self.data_dir / "chatd.sqlite3"), dsn)
        self._write_config(dsn)

    def node_events(self) -> dict[int, int] | None:
        """On PostgreSQL: how many events each node has written for the others and not yet pruned
        (docs/scaling.md, "Several nodes"); None on SQLite or when the cluster cannot be read."""
        if self.cluster is None or not self.dsn:
            return None
        import psycopg

        try:
            with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                return {int(n): int(k) for n, k in conn.execute("SELECT node, count(*) FROM node_events GROUP BY node")}
        except psycopg.Error:
            return None

    def url_for(self, i: int, *, away_from_first: bool = False) -> str:
        urls = self.urls or [self.url]
        if away_from_first and len(urls) > 1:
            return urls[1 + i % (len(urls) - 1)]
        return urls[i % len(urls)]

    def node_pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def postmaster_pid(self) -> int | None:
        if self.cluster is None:
            return None
        try:
            return int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def cpu(self, children: bool = True) -> float | None:
        """CPU seconds of every node (with their children unless `children` is False) and, with
        children, of the PostgreSQL cluster (its postmaster and every backend)."""
        if self.pid is None:
            return None
        own = [proc_cpu_seconds(pid, children) for pid in self.node_pids() or [self.pid]]
        if any(c is None for c in own):
            return None
        total = sum(c for c in own if c is not None)
        postmaster = self.postmaster_pid() if children else None
        if postmaster is None:
            return total
        return total + (proc_cpu_seconds(postmaster) or 0.0)  # the cluster and its backends

    def _cluster_memory_kib(self) -> dict[str, int]:
        """Rss, Pss and private memory summed over the cluster's processes (its shared buffers
        count once in Pss, in every process in Rss)."""
        postmaster = self.postmaster_pid()
        out: dict[str, int] = {}
        for pid in [postmaster, *child_pids(postmaster)] if postmaster is not None else []:
            for k, v in proc_memory_kib(pid).items():
                out[k] = out.get(k, 0) + v
        return out

    def rss_kib(self) -> int | None:
        """The resident memory of every node, plus the cluster's proportional share (Pss: its shared
        memory counted once) when the data is in PostgreSQL."""
        if self.pid is None:
            return None
        rss = [proc_rss_kib(pid) for pid in self.node_pids() or [self.pid]]
        if any(r is None for r in rss):
            return None
        total = sum(r for r in rss if r is not None)
        return total + self._cluster_memory_kib().get("Pss", 0) if self.cluster is not None else total

    def memory_kib(self) -> dict[str, int]:
        if self.pid is None:
            return {}
        out: dict[str, int] = {}
        for pid in self.node_pids() or [self.pid]:
            for k, v in proc_memory_kib(pid).items():
                out[k] = out.get(k, 0) + v
        for k, v in (self._cluster_memory_kib() if self.cluster is not None else {}).items():
            out[k] = out.get(k, 0) + v
        return out

    def _node_config(self, node: int) -> Path:
        """Node 0's config is chatd.toml (scenarios may add to it before the start); node i's is
        the same with its own data directory and storage.node."""
        if node == 0:
            return self.tmp / "chatd.toml"
        data_dir = self.tmp / f"data-node{node}"
        data_dir.mkdir(exist_ok=True)
        text = (self.tmp / "chatd.toml").read_text()
        line = f"data_dir = {json.dumps(str(self.data_dir))}\n"
        assert line in text and "\nnode = 0\n" in text, "the bench config lost its data_dir or node line"
        path = self.tmp / f"chatd-node{node}.toml"
        path.write_text(text.replace(line, f"data_dir = {json.dumps(str(data_dir))}\n").replace("\nnode = 0\n", f"\nnode = {node}\n"))
        return path

    def start(self, timeout: float = 60.0) -> float:
        """Start the server (every node, one after the other); returns the seconds from spawning
        node 0 to its printed URL."""
        if self.database == "postgresql" and self.cluster is None:
            self._to_postgresql()
        self.procs, self.urls = [], []
        started = 0.0
        for node in range(self.nodes):
            proc, url, seconds = self._spawn(node, timeout)
            self.procs.append(proc)
            self.urls.append(url)
            if node == 0:
                self.proc, self.pid, self.url, started = proc, proc.pid, url, seconds
        self.started_s = started
        return started

    def _spawn(self, node: int, timeout: float) -> tuple[subprocess.Popen[bytes], str, float]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
        log_path = self.log_path if node == 0 else self.tmp / f"server-node{node}.log"
        log = open(log_path, "ab")
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*chatd_command(), "serve", "--config", str(self._node_config(node))],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_server_limits,
        )
        log.close()
        if node == 0:
            self.proc, self.pid = proc, proc.pid
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buf = b""
        deadline = t0 + timeout
        while b"ws://" not in buf or not buf.endswith(b"\n"):
            left = deadline - time.perf_counter()
            if left <= 0 or proc.poll() is not None:
                self.procs.append(proc)
                self.stop()
                raise RuntimeError(f"chatd serve (node {node}) did not start: {self.log_tail(path=log_path)}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk and proc.poll() is not None:
                    continue
                buf += chunk
        seconds = time.perf_counter() - t0
        url = ""
        for line in buf.decode().splitlines():
            if "listening on ws://" in line:
                url = line.split("listening on ", 1)[1].strip()
        return proc, url, seconds

    def log_tail(self, n: int = 2000, path: Path | None = None) -> str:
        try:
            return (path or self.log_path).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def logins(self, names: list[str], device: str = "bench", *, away_from_first: bool = False) -> list[dict[str, Any]]:
        """A login for each name; the k-th connects to url_for(k) (round robin over the nodes)."""
        return [{"name": n, "token": self.tokens[n], "device": device, "url": self.url_for(k, away_from_first=away_from_first)} for k, n in enumerate(names)]

    def stop(self, timeout: float = 15.0) -> None:
        procs = self.procs or ([self.proc] if self.proc is not None else [])
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()
        self.proc = None
        self.procs = []
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None

    def cleanup(self) -> None:
        self.stop()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> SpawnedServer:
        self.prepare()
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


class AttachedServer(Target):
    """A server that is already running (--url); its users must exist."""

    def __init__(self, url: str, password: str, *, pid: int | None = None, max_users: int = 400):
        self.url = url
        self.password = password
        self.max_users = max_users
        self.tokens: dict[str, str] = {}
        port = urlsplit(url).port or 80
        self.pid = pid if pid is not None else pid_listening_on(port)

    def logins(self, names: list[str], device: str = "bench", *, away_from_first: bool = False) -> list[dict[str, Any]]:
        missing = sorted({n for n in names if n not in self.tokens}, key=lambda n: int(n[5:]))
        if missing:
            loop = wire.Loop()
            try:
                creds = [{"username": n, "password": self.password, "device": device} for n in missing]
                conns = wire.open_many(loop, self.url, creds, batch=50, timeout=60 + len(missing) * 0.5)
                for n, c in zip(missing, conns):
                    self.tokens[n] = c.token
            finally:
                loop.close()
        return [{"name": n, "token": self.tokens[n], "device": device} for n in names]

    def __enter__(self) -> AttachedServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

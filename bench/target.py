"""The server under test: a `chatd serve` subprocess on a temporary data directory, or a running one.

Spawned: the data directory gets a config file (the limits the benchmark needs,
the durability the run asks for, everything else at its default), a database with the
users a scenario asks for and a login token for each (written with chatd's own
store functions before the server starts, so no scenario waits for password
hashing), then `chatd serve --listen 127.0.0.1:0`; the printed ws:// URL is
read from its output. The server's RLIMIT_NOFILE is raised to the hard limit.

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

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

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


# -- /proc ---------------------------------------------------------------------------------------


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (state, ppid, ...)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def proc_cpu_seconds(pid: int, children: bool = True) -> float | None:
    """CPU seconds (utime + stime) of a process, all its threads, and (unless `children` is
    False) its child processes: the running ones (chatd's push worker) and the ended ones it
    waited for."""
    fields = _stat(pid)
    if fields is None:
        return None
    if not children:
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    ticks = sum(int(f) for f in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(pid):
            child = _stat(entry.name)
            if child is not None and child[1] == str(pid):
                ticks += sum(int(f) for f in child[11:15])
    return ticks / CLK_TCK


def proc_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_memory_kib(pid: int) -> dict[str, int]:
    """Rss, Pss (shared pages divided among their users) and private (USS) memory of a process, in KiB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].rstrip(":") in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                out[parts[0].rstrip(":")] = int(parts[1])
    except (OSError, ValueError):
        return {}
    if "Private_Clean" in out:
        out["Private"] = out.pop("Private_Clean") + out.pop("Private_Dirty", 0)
    return out


def proc_fd_limit(pid: int) -> tuple[int, int] | None:
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                parts = line.split()
                return int(parts[3]), int(parts[4])
    except (OSError, ValueError):
        return None
    return None


def pid_listening_on(port: int) -> int | None:
    """The pid (of this user) whose socket listens on the TCP port, found through /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return int(entry.name)
        except OSError:
            continue
    return None


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

    def cpu(self, children: bool = True) -> float | None:
        return None if self.pid is None else proc_cpu_seconds(self.pid, children)

    def rss_kib(self) -> int | None:
        return None if self.pid is None else proc_rss_kib(self.pid)

    def memory_kib(self) -> dict[str, int]:
        return {} if self.pid is None else proc_memory_kib(self.pid)

    def fd_limit(self) -> tuple[int, int] | None:
        return None if self.pid is None else proc_fd_limit(self.pid)

    def logins(self, names: list[str], device: str = "bench") -> list[dict[str, Any]]:
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

    def __init__(self, users: int = 0, *, db_source: Path | None = None, durability: str | None = None, workdir: Path | None = None, keep: bool = False, database: str = "sqlite"):
        self.users = users
        # "postgresql": the database prepared as for SQLite is copied (chatd migrate) into a
        # private PostgreSQL cluster with PostgreSQL's default durability (tests/postgres.py),
        # which the server then uses; the cluster's processes count in the server's CPU.
        self.database = database
        self.cluster: Any = None
        self.db_source = db_source
        self.durability = durability or chatd_default_durability()
        self.tmp = Path(tempfile.mkdtemp(prefix="chatd-bench-", dir=workdir))
        self.data_dir = self.tmp / "data"
        self.keep = keep
        self.tokens: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
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
        dsn = self.cluster.create_database("chatd")
        pg_copy.copy(str(self.data_dir / "chatd.sqlite3"), dsn)
        self._write_config(dsn)

    def cpu(self, children: bool = True) -> float | None:
        own = super().cpu(children)
        if own is None or self.cluster is None or not children:
            return own
        try:
            postmaster = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return own
        return own + (proc_cpu_seconds(postmaster) or 0.0)  # the cluster and its backends

    def start(self, timeout: float = 60.0) -> float:
        """Start the server; returns the seconds from spawn to its printed URL."""
        if self.database == "postgresql" and self.cluster is None:
            self._to_postgresql()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
        log = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [*chatd_command(), "serve", "--config", str(self.tmp / "chatd.toml")],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_server_limits,
        )
        log.close()
        self.pid = self.proc.pid
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = t0 + timeout
        while b"ws://" not in buf or not buf.endswith(b"\n"):
            left = deadline - time.perf_counter()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"chatd serve did not start: {self.log_tail()}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk and self.proc.poll() is not None:
                    continue
                buf += chunk
        self.started_s = time.perf_counter() - t0
        for line in buf.decode().splitlines():
            if "listening on ws://" in line:
                self.url = line.split("listening on ", 1)[1].strip()
        return self.started_s

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def logins(self, names: list[str], device: str = "bench") -> list[dict[str, Any]]:
        return [{"name": n, "token": self.tokens[n], "device": device} for n in names]

    def stop(self, timeout: float = 15.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        self.proc = None
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

    def logins(self, names: list[str], device: str = "bench") -> list[dict[str, Any]]:
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

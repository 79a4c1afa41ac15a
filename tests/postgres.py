"""A private PostgreSQL cluster for the tests (and the benchmarks): `initdb` into a temporary
directory, `postgres` on a free port of 127.0.0.1 and a Unix socket in that directory, stopped
at the end. Debian's `postgresql` package is installed when its binaries are missing
(tests/debian.py). As root, the cluster runs as the `postgres` user the package creates
(PostgreSQL refuses to run as root).

    with Cluster() as cluster:
        dsn = cluster.create_database("chatd_test")

The fixtures: `pg_cluster` (one cluster for the whole test session), `pg_dsn` (a new empty
database in it for each test) and `pg_chatd_dsn` (a new database with chatd's schema already in
it, as a server leaves an empty one at its first start: the harness's, tests/conftest.py).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.debian import ensure

BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT_S = 60
# The tests' cluster trades crash safety for speed: nothing in it outlives the run.
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}


OWNER = "owner.pid"  # the process that started a cluster: once it is gone, so is the cluster


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale() -> list[Path]:
    """Stop and remove the clusters whose starting process is gone (a run killed before its
    fixtures' teardown, e.g. by a timeout): they would run on, each holding its memory."""
    reaped = []
    for root in Path(tempfile.gettempdir()).glob("chatd-pg-*"):
        try:
            owner = int((root / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        data = root / "data"
        if (data / "postmaster.pid").exists():
            user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run([*user, str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, timeout=START_TIMEOUT_S)
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, settings: dict[str, str] | None = None):
        ensure("postgresql", str(BIN / "initdb"))
        self.settings = TEST_SETTINGS if settings is None else settings
        self.root = Path(tempfile.mkdtemp(prefix="chatd-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None  # the OS user the server runs as
        self.role = "chatd"  # the database role the tests connect as (a superuser of the cluster)
        self._names = itertools.count(1)
        self._template: str | None = None

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", self.user, "--", *argv] if self.user else list(argv)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=START_TIMEOUT_S)
        assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    def start(self) -> Cluster:
        reap_stale()
        (self.root / OWNER).write_text(str(os.getpid()))
        if self.user:
            shutil.chown(self.root, self.user)
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", self.role, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = " ".join(f"-c {k}={v}" for k, v in {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.root), **self.settings}.items())
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.role}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its DSN."""
        import psycopg

        name = name or f"chatd_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def create_chatd_database(self) -> str:
        """A new database with chatd's schema (chatd.store.pg_schema), copied from a template made
        once: a server starts on it as on one it created itself, without building the schema anew
        for every test. Its DSN."""
        import psycopg

        if self._template is None:
            from chatd.store import pg_schema

            with psycopg.connect(self.create_database("chatd_template"), autocommit=True) as conn:
                pg_schema.create(conn)
            self._template = "chatd_template"
        name = f"chatd_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        return self.dsn(name)

    def log(self) -> str:
        try:
            return (self.root / "log").read_text()
        except OSError:
            return ""

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    with Cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> str:
    return pg_cluster.create_database()


@pytest.fixture
def pg_chatd_dsn(pg_cluster: Cluster) -> str:
    return pg_cluster.create_chatd_database()

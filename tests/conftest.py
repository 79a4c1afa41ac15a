"""The real server, in-process, on port 0 with a temporary data directory; clients over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from chatd.auth import hash_password
from chatd.client import Client, connect
from chatd.config import Config, load
from chatd.protocol.wirecheck import check_frame
from chatd.server import Server
from chatd.store import users as users_store

from tests import bystander, log_secrets  # absolute: tests/test_wire_shapes.py runs a copy of this file elsewhere

pytest_plugins = ["tests.postgres"]  # its fixtures, pg_cluster, pg_dsn and pg_chatd_dsn, for every test

PASSWORD = "correct horse battery"
WIRE_PROBLEMS = pytest.StashKey[list[str]]()
_REPORTED = pytest.StashKey[int]()  # how many of them the test's call phase already reported
_HASH = hash_password(PASSWORD)  # hashing is slow on purpose: do it once
log_secrets.install(PASSWORD)


def make_config(tmp_path: Any, **sections: dict[str, Any]) -> Config:
    flags: dict[str, dict[str, Any]] = {"server": {"data_dir": str(tmp_path), "listen": "127.0.0.1:0"}}
    for name, values in sections.items():
        flags.setdefault(name, {}).update(values)
    return load(None, environ={}, flags=flags)


class Harness:
    def __init__(self, server: Server, nursery: trio.Nursery):
        self.server = server
        self.nursery = nursery

    @property
    def url(self) -> str:
        return self.server.urls[1]

    @property
    def http_url(self) -> str:
        return self.server.urls[0]

    async def add_user(self, name: str, *, admin: bool = False) -> int:
        def op(ctx: Any) -> int:
            return users_store.create_user(ctx.conn, name, _HASH, is_admin=admin)

        return await self.server.writer.submit(op)

    @asynccontextmanager
    async def client(self, name: str | None = None, *, msgpack: bool = False, device: str = "") -> AsyncIterator[Client]:
        async with connect(self.url, msgpack=msgpack) as client:
            if name is not None:
                await client.login(name, PASSWORD, device=device)
            yield client


async def start_server(nursery: trio.Nursery, cfg: Config) -> Server:
    return await nursery.start(Server(cfg).run)


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql"),
        default=None,
        help="run every harness test on this backend only (default: on SQLite and on PostgreSQL, but for tests marked sqlite_only)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): the test is of the SQLite file itself (WAL, checkpoints, its own errors): not run on PostgreSQL, for the reason given")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the harness runs on SQLite and on PostgreSQL, or on the one `--backend` names."""
    if "harness" in metafunc.fixturenames and not metafunc.config.getoption("--backend") and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked sqlite_only says why; `--backend postgresql` skips it with that reason."""
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is None:
            continue
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: pytest.mark.sqlite_only needs a reason")
        if config.getoption("--backend") == "postgresql":
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where the harness's server keeps its data: "sqlite" (the data directory's file) or
    "postgresql" (a new database of the tests' cluster with chatd's schema, tests/postgres.py)."""
    return getattr(request, "param", None) or request.config.getoption("--backend") or "sqlite"


@pytest.fixture
async def harness(tmp_path: Any, config_overrides: dict[str, dict[str, Any]], backend: str, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if backend == "postgresql":
        dsn = request.getfixturevalue("pg_chatd_dsn")
        config_overrides = {**config_overrides, "storage": {**config_overrides.get("storage", {}), "database": dsn}}
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, make_config(tmp_path, **config_overrides))
        yield Harness(server, nursery)
        # An orderly shutdown, as on SIGTERM: the test fails if it does not finish.
        server.stop()


@pytest.fixture
async def users(harness: Harness) -> dict[str, int]:
    """alice, bob (and carol): three users; alice is an admin."""
    return {
        "alice": await harness.add_user("alice", admin=True),
        "bob": await harness.add_user("bob"),
        "carol": await harness.add_user("carol"),
    }


Predicate = Callable[[Any], bool]


# -- every frame the test client receives is checked against the registry ------------------


@pytest.fixture(autouse=True)
def wire_check(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run every frame chatd's client receives through chatd.protocol.wirecheck; the test fails
    (see pytest_runtest_call below) when the server sent something the registry does not promise."""
    problems: list[str] = []
    request.node.stash[WIRE_PROBLEMS] = problems
    handle = Client._handle

    def checked(self: Client, frame: dict[str, Any]) -> None:
        for problem in check_frame(frame):
            if problem not in problems:
                problems.append(problem)
        handle(self, frame)

    monkeypatch.setattr(Client, "_handle", checked)
    yield problems
    reported = request.node.stash.get(_REPORTED, 0)
    if len(problems) > reported:  # frames that came while fixtures were torn down
        pytest.fail(_wire_message(problems[reported:]), pytrace=False)


def _wire_message(problems: list[str]) -> str:
    return "frames the server sent do not match clients/protocol.yaml:\n  " + "\n  ".join(problems)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    problems = item.stash.get(WIRE_PROBLEMS, [])
    try:
        result = yield
    except BaseException as exc:
        item.stash[_REPORTED] = len(problems)
        if problems:
            exc.add_note(_wire_message(problems))
        raise
    item.stash[_REPORTED] = len(problems)
    if problems:
        pytest.fail(_wire_message(problems), pytrace=False)
    return result


# -- what each attack cost a bystander (tests/bystander.py) -------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    bystander.set_current_test(item.nodeid)
    log_secrets.set_current_test(item.nodeid)


# -- no password or token in any log line of the run (tests/log_secrets.py) ---------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    log_secrets.scan_serve_logs()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a worker of `pytest -n N` (pytest-xdist): the controller reports
        workeroutput["secret_hits"] = list(log_secrets.HITS)
        workeroutput["bystander_lines"] = [seen.line() for seen in bystander.REPORT]
        return
    if log_secrets.HITS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_WORKERS_BYSTANDER_LINES: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller, as a worker ends: what the worker found, reported as one run's."""
    output = getattr(node, "workeroutput", {})
    log_secrets.HITS.extend(output.get("secret_hits", []))
    _WORKERS_BYSTANDER_LINES.extend(output.get("bystander_lines", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if log_secrets.HITS:
        terminalreporter.section("secrets in log lines: the run fails")
        for hit in log_secrets.HITS:
            terminalreporter.write_line(hit)
    lines = [seen.line() for seen in bystander.REPORT] + _WORKERS_BYSTANDER_LINES
    if lines:
        terminalreporter.section("a bystander's ping round trip during each attack")
        for line in lines:
            terminalreporter.write_line(line)

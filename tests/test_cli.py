"""The `chatd` command, run as a subprocess on a temporary data directory.

User management (`chatd user ...`), and `chatd serve`: what it prints, and how it
ends on SIGTERM and SIGINT.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trio
from argon2 import extract_parameters
from trio_websocket import ConnectionClosed

from chatd import passwords
from chatd.client import ClientError, connect
from chatd.config import AuthConfig, load
from chatd.server import prepare_database
from chatd.store import db, schema
from chatd.store import users as users_store
from chatd.store.schema import LATEST

from . import helpers_proc as proc
from .conftest import _HASH, PASSWORD

PW = "first password 1"
PW2 = "second password 2"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def stored_hash(data: Path, name: str) -> str:
    conn = sqlite3.connect(data / "chatd.sqlite3")
    try:
        row = conn.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()
    assert row is not None, f"no user {name}"
    return row[0]


def password_ok(data: Path, name: str, password: str) -> bool:
    return passwords.verify(AuthConfig(), stored_hash(data, name), password)


def hash_params(data: Path, name: str) -> tuple[int, int, int]:
    p = extract_parameters(stored_hash(data, name))
    return p.memory_cost, p.time_cost, p.parallelism


def user_table(stdout: str) -> dict[str, dict[str, bool]]:
    """Parse `chatd user list`: name -> {admin, disabled}, by the header's column positions."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    header = lines[0]
    a, d = header.index("admin"), header.index("disabled")
    out = {}
    for line in lines[1:]:
        line = line.ljust(len(header))
        name = line[:a].split()[1]
        out[name] = {"admin": line[a:d].strip() == "yes", "disabled": line[d:].strip() == "yes"}
    return out


def seed(data: Path, *users: tuple[str, bool, bool]) -> None:
    """Create the database in-process, with (name, admin, disabled) users whose password is PASSWORD.

    Quicker than `chatd user add` for tests whose subject is another command; it also
    migrates the database, so later subprocesses may run side by side.
    """
    cfg = load(None, environ={}, flags={"server": {"data_dir": str(data)}})
    prepare_database(cfg)
    conn = db.connect(cfg.db_path)
    try:
        for name, admin, disabled in users:
            users_store.create_user(conn, name, _HASH, is_admin=admin)
            if disabled:
                users_store.set_disabled(conn, name, True)
    finally:
        conn.close()


async def run_all(*commands: tuple[list[str], str]) -> list[proc.Result]:
    """Run chatd commands side by side; results in the order given."""
    results: list[proc.Result | None] = [None] * len(commands)

    async def one(i: int, args: list[str], stdin: str) -> None:
        results[i] = await proc.run(*args, input=stdin)

    async with trio.open_nursery() as nursery:
        for i, (args, stdin) in enumerate(commands):
            nursery.start_soon(one, i, args, stdin)
    return results  # type: ignore[return-value]


def user_names(data: Path) -> list[str]:
    conn = sqlite3.connect(data / "chatd.sqlite3")
    try:
        return [r[0] for r in conn.execute("SELECT name FROM users ORDER BY id")]
    finally:
        conn.close()


# -- chatd user ------------------------------------------------------------------------------


async def test_user_add_reads_the_password_from_stdin(data):
    res = await proc.run("user", "add", "alice", "--admin", "--data", str(data), input=PW + "\n")
    assert res.returncode == 0, res
    assert "alice" in res.stdout
    assert PW not in res.stdout + res.stderr
    assert password_ok(data, "alice", PW)
    assert not password_ok(data, "alice", PW + "x")
    # The password is never an argument: an extra argument is a usage error and creates no one.
    res = await proc.run("user", "add", "bob", PW, "--data", str(data), input=PW + "\n")
    assert res.returncode == 2, res
    assert user_names(data) == ["alice"]


async def test_user_add_and_passwd_hash_with_the_configured_parameters(data, tmp_path):
    default = AuthConfig()
    res = await proc.run("user", "add", "alice", "--data", str(data), input=PW + "\n")
    assert res.returncode == 0, res
    assert hash_params(data, "alice") == (default.hash_memory_kib, default.hash_time_cost, default.hash_parallelism)
    config = tmp_path / "chatd.toml"
    config.write_text("[auth]\nhash_memory_kib = 9216\nhash_time_cost = 4\nhash_parallelism = 1\n")
    d = ["--data", str(data), "--config", str(config)]
    add, passwd = await run_all((["user", "add", "bob", *d], PW + "\n"), (["user", "passwd", "alice", *d], PW2 + "\n"))
    assert add.returncode == 0 and passwd.returncode == 0, (add, passwd)
    assert hash_params(data, "bob") == hash_params(data, "alice") == (9216, 4, 1)
    assert password_ok(data, "bob", PW) and password_ok(data, "alice", PW2)
    # Nonsense parameters are refused before anything is written.
    config.write_text("[auth]\nhash_memory_kib = 0\n")
    res = await proc.run("user", "add", "carol", *d, input=PW + "\n")
    assert res.returncode == 2 and "auth.hash_memory_kib" in res.stderr, res
    assert user_names(data) == ["alice", "bob"]


async def test_user_add_refuses_a_short_or_missing_password(data):
    seed(data)
    results = await run_all(*((["user", "add", "alice", "--data", str(data)], given) for given in ("short\n", "")))
    for res in results:
        assert res.returncode == 1, res
    assert user_names(data) == []


async def test_user_add_refuses_a_duplicate_name(data):
    seed(data, ("alice", False, False))
    results = await run_all(*((["user", "add", name, "--data", str(data)], PW2 + "\n") for name in ("alice", "ALICE")))
    for res in results:
        assert res.returncode == 1, res
        assert "already exists" in res.stderr
    # The first user is untouched.
    assert user_names(data) == ["alice"]
    assert password_ok(data, "alice", PASSWORD)


async def test_user_list_shows_admin_and_disabled(data):
    seed(data, ("alice", True, False), ("bob", False, False), ("carol", False, True), ("dave", True, True))
    res = await proc.run("user", "list", "--data", str(data))
    assert res.returncode == 0, res
    assert user_table(res.stdout) == {
        "alice": {"admin": True, "disabled": False},
        "bob": {"admin": False, "disabled": False},
        "carol": {"admin": False, "disabled": True},
        "dave": {"admin": True, "disabled": True},
    }


async def test_user_passwd_and_unknown_users(data):
    seed(data, ("alice", False, False))
    d = ["--data", str(data)]
    passwd, *unknown = await run_all(
        (["user", "passwd", "alice", *d], PW2 + "\n"),
        (["user", "passwd", "nobody", *d], PW + "\n"),
        (["user", "disable", "nobody", *d], ""),
        (["user", "enable", "nobody", *d], ""),
    )
    assert passwd.returncode == 0, passwd
    assert PW2 not in passwd.stdout + passwd.stderr
    assert password_ok(data, "alice", PW2)
    assert not password_ok(data, "alice", PASSWORD)
    for res in [*unknown, await proc.run("directory", "admin", "nobody", *d)]:
        assert res.returncode == 2, res
        assert "nobody" in res.stderr


async def test_disable_and_passwd_end_logins_on_a_running_server(data):
    seed(data, ("alice", True, False), ("bob", False, False))
    d = ["--data", str(data)]
    async with proc.serve(data) as srv:
        with trio.fail_after(30):
            async with connect(srv.ws_url) as c:
                alice_token = (await c.login("alice", PASSWORD))["token"]
            async with connect(srv.ws_url) as c:
                bob_token = (await c.login("bob", PASSWORD))["token"]

            async with connect(srv.ws_url) as live:
                await live.login("alice", PASSWORD)
                disable, passwd = await run_all((["user", "disable", "alice", *d], ""), (["user", "passwd", "bob", *d], PW2 + "\n"))
                assert disable.returncode == 0, disable
                assert passwd.returncode == 0, passwd
                # alice's live session is ended within about a second, without her sending anything.
                closed = await live.wait_closed(timeout=10)
                assert closed.reason.code == 4003

            async with connect(srv.ws_url) as c:
                with pytest.raises(ClientError) as exc:
                    await c.login("alice", PASSWORD)
                # Like a wrong password: a failed login does not tell that the password was right.
                assert exc.value.code == "auth_failed"
                with pytest.raises(ClientError) as exc:
                    await c.login(token=alice_token)
                assert exc.value.code == "auth_failed"
                # A new password ends the old one and every token made with it.
                for kwargs in ({"token": bob_token}, {"username": "bob", "password": PASSWORD}):
                    with pytest.raises(ClientError) as exc:
                        await c.login(**kwargs)
                    assert exc.value.code == "auth_failed"
                await c.login("bob", PW2)

            res = await proc.run("user", "enable", "alice", *d)
            assert res.returncode == 0, res
            async with connect(srv.ws_url) as c:
                with pytest.raises(ClientError) as exc:
                    await c.login(token=alice_token)
                assert exc.value.code == "auth_failed", "enabling must not bring back the tokens from before"
                await c.login("alice", PASSWORD)


# -- chatd serve -----------------------------------------------------------------------------


def listener_lines(lines: list[str]) -> tuple[str, str]:
    http = [line for line in lines if "http://" in line]
    ws = [line for line in lines if "ws://" in line]
    assert len(http) == 1 and len(ws) == 1, lines
    return proc._url(http[0]), proc._url(ws[0])


async def test_serve_prints_its_urls_and_how_to_create_the_first_admin(data):
    async with proc.serve(data) as srv:
        with trio.fail_after(20):
            await srv.wait_for_line("chatd user add NAME --admin")
            http_url, ws_url = listener_lines(srv.lines)
            h, w = urlsplit(http_url), urlsplit(ws_url)
            assert h.scheme == "http" and w.scheme == "ws" and w.path == "/ws"
            assert h.hostname == w.hostname == "127.0.0.1"
            assert h.port == w.port and h.port not in (None, 0)
            # The printed address is the one that answers.
            async with connect(ws_url) as c:
                with pytest.raises(ClientError) as exc:
                    await c.login("nobody", PW)
                assert exc.value.code == "auth_failed"
            srv.send_signal(signal.SIGTERM)
            await srv.wait()
            await srv.read_rest()
    assert (data / "chatd.sqlite3").exists()


async def test_serve_refuses_a_bad_listen_address(data):
    res = await proc.run("serve", "--listen", "nowhere", "--data", str(data))
    assert res.returncode == 2, res
    assert "server.listen" in res.stderr


SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


async def stop_by_signal(data: Path, sig: int, out: dict[str, object]) -> None:
    """Serve DATA, log a client in, send `sig`; record the client's close code, the exit status, stdout and stderr."""
    async with proc.serve(data) as srv:
        with trio.fail_after(30):
            async with connect(srv.ws_url) as c:
                await c.login("alice", PASSWORD)
                assert (await c.request("ping"))["pong"] is True
                srv.send_signal(sig)
                closed = await c.wait_closed(timeout=15)
                out["close_code"] = closed.reason.code
                with pytest.raises(ConnectionClosed):
                    await c.request("ping", timeout=5)
            out["exit"] = await srv.wait(timeout=20)
            out["stdout"] = await srv.read_rest()
            out["stderr"] = srv.stderr()


async def stop_both_ways(tmp_path: Path) -> dict[str, dict[str, object]]:
    """One server per signal, side by side, each on its own data directory with one user."""
    outcome: dict[str, dict[str, object]] = {name: {} for name in SIGNALS}
    async with trio.open_nursery() as nursery:
        for name, sig in SIGNALS.items():
            data = tmp_path / name
            seed(data, ("alice", True, False))
            nursery.start_soon(stop_by_signal, data, sig, outcome[name])
    return outcome


@pytest.fixture(scope="module")
def stopped_by_signal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Both signal runs, once for the tests below (a sync fixture running its own trio loop)."""
    return trio.run(stop_both_ways, tmp_path_factory.mktemp("signals"))


def test_sigterm_and_sigint_close_clients_with_1001_and_end_the_server(stopped_by_signal):
    for name, out in stopped_by_signal.items():
        assert out["close_code"] == 1001, (name, out)
        lines = out["stdout"]
        listener_lines(lines)
        # There are users: no hint about creating the first admin.
        assert not any("user add" in line for line in lines), (name, lines)


def test_sigterm_and_sigint_exit_0(stopped_by_signal):
    for name, out in stopped_by_signal.items():
        assert out["exit"] == 0, (name, out["stderr"])
        assert "Traceback" not in out["stderr"], (name, out["stderr"])


# -- two chatd processes starting at once on a new data directory ---------------------------


def test_two_processes_migrating_a_new_database_at_once(tmp_path):
    """The second process reads version 0, then the first one migrates before the second takes the write lock.

    The interleaving is made exact with a trace callback: as the second connection
    starts its BEGIN IMMEDIATE, the first one runs its whole migration.
    """
    path = tmp_path / "chatd.sqlite3"
    first, second = db.connect(path), db.connect(path)
    raced = []

    def on_statement(sql: str) -> None:
        if sql.startswith("BEGIN IMMEDIATE") and not raced:
            raced.append(schema.migrate(first))

    second.set_trace_callback(on_statement)
    try:
        schema.migrate(second)
        assert raced == [0]
        assert second.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    finally:
        first.close()
        second.close()


async def test_user_and_bot_commands_answer_an_unusable_data_directory_or_database_in_one_line(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    newer = tmp_path / "newer"
    seed(newer, ("alice", True, False))
    conn = sqlite3.connect(newer / "chatd.sqlite3")
    conn.execute("PRAGMA user_version = 9999")
    conn.close()
    garbage = tmp_path / "garbage"
    garbage.mkdir(mode=0o700)
    (garbage / "chatd.sqlite3").write_bytes(b"this is not a database file at all, just text" * 100)
    (garbage / "chatd.sqlite3").chmod(0o600)
    for data, needle in ((not_a_dir, "not a directory"), (newer, "schema version 9999"), (garbage, "garbage")):
        for args in (["user", "list"], ["user", "disable", "alice"], ["bot", "list"], ["bot", "token", "x"], ["export"], ["directory", "admin", "alice"], ["directory", "sync", "--dry-run"]):
            res = await proc.run(*args, "--data", str(data))
            assert res.returncode == 2, (args, res)
            lines = [line for line in res.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("chatd: ") and needle in lines[0], (args, res)
            assert "Traceback" not in res.stderr


async def test_check_checks_what_serve_would_and_changes_nothing(tmp_path):
    fresh = tmp_path / "fresh"
    res = await proc.run("check", "--data", str(fresh), "--listen", "127.0.0.1:9")
    assert res.returncode == 0 and "will be created" in res.stdout, res
    assert not fresh.exists()
    seed(tmp_path / "current", ("alice", True, False))
    res = await proc.run("check", "--data", str(tmp_path / "current"))
    assert res.returncode == 0 and f"(schema {LATEST})" in res.stdout, res
    res = await proc.run("check", "--data", str(fresh), "--listen", "127.0.0.1:99999")
    assert res.returncode == 2 and "server.listen" in res.stderr and "a command-line flag" in res.stderr, res
    newer = tmp_path / "current" / "chatd.sqlite3"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 9999")
    conn.close()
    res = await proc.run("check", "--data", str(tmp_path / "current"))
    assert res.returncode == 2 and "schema version 9999, newer than this chatd" in res.stderr, res
    (tmp_path / "file").write_text("")
    res = await proc.run("check", "--data", str(tmp_path / "file"))
    assert res.returncode == 2 and "not a directory" in res.stderr, res


async def test_every_configuration_problem_is_reported_at_once_with_its_source(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[storage]\ncache_mb = -5\ndurability = "sometimes"\n[server]\nlisten = "x"\nlistn = 3\n')
    env = proc.clean_env(CHATD_LIMITS_SEND_BURST="abc", CHATD_LOG_LEVEL="loud")
    res = await proc.run("check", "--config", str(config), env=env)
    assert res.returncode == 2, res
    lines = res.stderr.splitlines()
    assert lines[0] == "chatd: bad configuration (6 problems):", res
    assert set(lines[1:]) == {
        f"  storage.durability: expected one of 'normal', 'full', got 'sometimes' ({config})",
        f"  server.listn: unknown key ({config})",
        "  limits.send_burst: expected `int`, got 'abc' (CHATD_LIMITS_SEND_BURST)",
        "  log.level: expected one of 'debug', 'info', 'warning', 'error', got 'loud' (CHATD_LOG_LEVEL)",
        f"  server.listen: expected HOST:PORT, got 'x' ({config})",
        f"  storage.cache_mb: must be greater than 0, got -5 ({config})",
    }, res.stderr

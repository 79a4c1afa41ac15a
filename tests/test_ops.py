"""Running chatd on a data directory: one server per directory, readiness, file permissions.

Every test runs `chatd` as a subprocess (tests/helpers_proc.py). The tests run as root
here, and root reads and writes any file whatever its mode, so an unwritable database is
made in ways that stop root too: a database whose header says it may not be written
(SQLite then opens it read-only), a data directory that is a file, a database that is a
directory, and, for a running server, a file-size limit of 0 (RLIMIT_FSIZE: every write
to a file fails with EFBIG, as on a full disk).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import trio

from chatd.config import ConfigError, load

from . import helpers_proc as proc
from .conftest import PASSWORD
from .test_cli import seed


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _request(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method="GET" if body is None else "POST")
    req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def http(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    return await trio.to_thread.run_sync(_request, url, body)


async def login(served: proc.Served, name: str, password: str = PASSWORD) -> tuple[int, dict[str, Any]]:
    return await http(served.http_url + "/api/v1/auth/login", {"username": name, "password": password})


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def stderr_lines(res: proc.Result) -> list[str]:
    return [line for line in res.stderr.splitlines() if line.strip()]


# -- 6: one server per data directory -------------------------------------------------------


async def test_a_second_server_on_the_same_data_directory_exits_naming_the_first(data):
    seed(data, ("alice", True, False))
    async with proc.serve(data) as first:
        assert (data / "chatd.lock").read_text().strip() == str(first.proc.pid)
        res = await proc.run("serve", "--listen", "127.0.0.1:0", "--data", str(data))
        assert res.returncode == 1, res
        lines = stderr_lines(res)
        assert len(lines) == 1, res
        assert lines[0].startswith("chatd: cannot start: ")
        assert f"pid {first.proc.pid}" in lines[0] and str(data) in lines[0], lines[0]
        assert "listening" not in res.stdout
        # The first server goes on undisturbed.
        status, body = await login(first, "alice")
        assert status == 200, body


async def test_user_commands_work_beside_a_running_server(data):
    seed(data, ("alice", True, False))
    async with proc.serve(data) as served:
        await proc.add_user(data, "bob", "bob password 1")
        res = await proc.run("user", "list", "--data", str(data))
        assert res.returncode == 0 and "bob" in res.stdout, res
        # The server sees what the command wrote: bob logs in at once.
        status, body = await login(served, "bob", "bob password 1")
        assert status == 200, body
        res = await proc.run("user", "disable", "bob", "--data", str(data))
        assert res.returncode == 0, res
        status, body = await login(served, "bob", "bob password 1")
        assert status == 401 and body["error"]["code"] == "auth_failed", body  # a disabled account, told apart from a wrong password only with auth.reveal_disabled


async def test_the_lock_ends_with_the_server_however_it_ends(data):
    seed(data)
    async with proc.serve(data) as first:
        first.send_signal(signal.SIGTERM)
        assert await first.wait() == 0
    async with proc.serve(data) as second:
        assert (data / "chatd.lock").read_text().strip() == str(second.proc.pid)
        second.kill()  # no chance to unlock: the kernel drops the lock with the process
        await second.wait()
    async with proc.serve(data) as third:
        status, _ = await http(third.http_url + "/readyz")
        assert status == 200


# -- 8: readiness, and an unwritable database refused at start --------------------------------


@pytest.mark.parametrize("durability", ["normal", "full"])  # batches on the event loop, or on the writer's thread
async def test_readyz_answers_503_while_the_database_cannot_be_written(data, durability):
    seed(data, ("alice", True, False))
    env = proc.clean_env(CHATD_STORAGE_WRITE_PROBE_S="0.1", CHATD_STORAGE_DURABILITY=durability)
    async with proc.serve(data, env=env) as served:
        status, body = await http(served.http_url + "/readyz")
        assert (status, body["status"]) == (200, "ready"), body
        # As if the disk were full: from now on every write of the server to a file fails.
        resource.prlimit(served.proc.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
        try:
            with trio.fail_after(10):
                while (await http(served.http_url + "/readyz"))[0] != 503:
                    await trio.sleep(0.05)
            status, body = await http(served.http_url + "/readyz")
            assert status == 503 and body["error"]["code"] == "unavailable", body
            assert "cannot be written" in body["error"]["message"], body
            # Liveness is another question: the process still answers.
            status, body = await http(served.http_url + "/healthz")
            assert status == 200, body
            # A login (it stores a token) says why it fails, instead of `internal`.
            status, body = await login(served, "alice")
            assert status == 503 and body["error"]["code"] == "unavailable", body
        finally:
            resource.prlimit(served.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        # Writes work again: the next probe sees it, without any traffic.
        with trio.fail_after(10):
            while (await http(served.http_url + "/readyz"))[0] != 200:
                await trio.sleep(0.05)
        status, body = await login(served, "alice")
        assert status == 200, body


def make_read_only(db_path: Path) -> None:
    """Set the database's write version (header byte 18) above what SQLite writes: it opens it read-only."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(db_path, "r+b") as f:
        f.seek(18)
        assert f.read(1) in (b"\x01", b"\x02")
        f.seek(18)
        f.write(b"\x03")


async def assert_refused(data: Path, *needles: str) -> None:
    res = await proc.run("serve", "--listen", "127.0.0.1:0", "--data", str(data))
    assert res.returncode == 1, res
    assert "listening" not in res.stdout, res
    lines = stderr_lines(res)
    assert len(lines) == 1 and lines[0].startswith("chatd: cannot start: "), res
    for needle in needles:
        assert needle in lines[0], res


async def test_an_unwritable_database_is_refused_at_start(data):
    seed(data, ("alice", True, False))
    make_read_only(data / "chatd.sqlite3")
    # Reading still works (this is what used to let the server start).
    assert sqlite3.connect(data / "chatd.sqlite3").execute("SELECT name FROM users").fetchall() == [("alice",)]
    await assert_refused(data, str(data / "chatd.sqlite3"), "cannot be written", "readonly")


async def test_an_unusable_data_directory_or_database_is_refused_at_start(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    await assert_refused(not_a_dir, str(not_a_dir), "not a directory")
    under_a_file = not_a_dir / "data"
    await assert_refused(under_a_file, str(under_a_file))
    db_is_a_dir = tmp_path / "data"
    (db_is_a_dir / "chatd.sqlite3").mkdir(parents=True)
    os.chmod(db_is_a_dir, 0o700)  # no warning about the directory's mode: the one line is the refusal
    await assert_refused(db_is_a_dir, str(db_is_a_dir / "chatd.sqlite3"), "not a file")
    # The user commands say the same, in one line.
    res = await proc.run("user", "list", "--data", str(db_is_a_dir))
    assert res.returncode == 2 and len(stderr_lines(res)) == 1 and "not a file" in res.stderr, res


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes a file whatever its mode")
async def test_a_read_only_database_file_is_refused_at_start(data):
    seed(data)
    os.chmod(data / "chatd.sqlite3", 0o400)
    await assert_refused(data, "cannot be written")


# -- 11: files readable by their owner only --------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_zero_config_files_are_private_whatever_the_umask(tmp_path, umask_022):
    # No --data and no config: the platform's data directory, here under XDG_DATA_HOME.
    env = proc.clean_env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    res = await proc.run("user", "add", "alice", "--admin", input=PASSWORD + "\n", env=env)
    assert res.returncode == 0, res
    data = tmp_path / "xdg" / "chatd"
    assert mode(data) == 0o700
    assert mode(data / "chatd.sqlite3") == 0o600
    assert mode(tmp_path / "xdg") == 0o755  # a parent made on the way keeps the umask's mode
    async with proc.serve(data, env=env) as served:
        status, body = await login(served, "alice")
        assert status == 200, body
        for name in ("chatd.sqlite3", "chatd.sqlite3-wal", "chatd.sqlite3-shm", "chatd.lock"):
            assert mode(data / name) == 0o600, name
    assert not any(line for line in served.stderr().splitlines() if "WARNING" in line), served.stderr()


async def test_configured_modes(tmp_path, data, umask_022):
    config = tmp_path / "chatd.toml"
    config.write_text('[storage]\ndir_mode = "0750"\nfile_mode = "0640"\n')
    async with proc.serve(data, "--config", str(config)):
        assert mode(data) == 0o750
        for name in ("chatd.sqlite3", "chatd.sqlite3-wal", "chatd.sqlite3-shm", "chatd.lock"):
            assert mode(data / name) == 0o640, name


async def test_an_existing_open_directory_is_left_as_it_is_with_a_warning(data, umask_022):
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    async with proc.serve(data) as served:
        assert mode(data) == 0o755
        assert mode(data / "chatd.sqlite3") == 0o600
    warnings = [line for line in served.stderr().splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and str(data) in warnings[0] and "0755" in warnings[0], served.stderr()


@pytest.mark.parametrize(
    "text, key",
    [
        ('[storage]\nfile_mode = "0800"\n', "storage.file_mode"),
        ('[storage]\nfile_mode = "rw-------"\n', "storage.file_mode"),
        ('[storage]\nfile_mode = "0400"\n', "storage.file_mode"),
        ('[storage]\ndir_mode = "0600"\n', "storage.dir_mode"),
        ('[storage]\ndir_mode = "4700"\n', "storage.dir_mode"),
        ("[storage]\nwrite_probe_s = 0\n", "storage.write_probe_s"),
    ],
)
def test_bad_modes_are_configuration_errors(tmp_path, text, key):
    path = tmp_path / "chatd.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load(path, environ={})
    assert key in str(exc.value)


def test_modes_may_be_written_in_several_ways():
    for text in ("0600", "600", "0o600"):
        assert load(None, environ={"CHATD_STORAGE_FILE_MODE": text}).file_mode == 0o600


async def test_readyz_answers_503_from_the_moment_the_server_drains(harness):
    app = harness.server.http.asgi_app
    scope = {"type": "http", "method": "GET", "path": "/readyz", "headers": []}
    status, body = await app.readyz(scope, None)
    assert status == 200 and body["status"] == "ready"
    harness.server.stop()
    status, body = await app.readyz(scope, None)
    assert status == 503 and body["error"]["message"] == "the server is shutting down"


async def test_an_address_in_use_is_named_in_one_line(tmp_path):
    taken = trio.socket.socket()
    await taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    with taken:
        res = await proc.run("serve", "--listen", f"127.0.0.1:{port}", "--data", str(tmp_path / "data"))
    assert res.returncode == 1, res
    (line,) = stderr_lines(res)
    assert line.startswith(f"chatd: cannot start: the address 127.0.0.1:{port} is already in use: another chatd serve"), line

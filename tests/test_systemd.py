"""systemd integration (docs/deployment.md#systemd): the notify protocol spoken by a real `chatd
serve` to a socket the test binds as systemd would, and the packaged unit verified by
`systemd-analyze verify` (Debian's systemd, installed when missing).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from . import helpers_proc as proc
from .debian import ensure
from .test_cli import seed
from .test_ops import login

UNIT = Path(__file__).resolve().parent.parent / "packaging" / "chatd.service"


async def receive_until(sock: trio.socket.SocketType, want: str, seen: list[str]) -> None:
    with trio.fail_after(15):
        while want not in seen:
            data = await sock.recv(4096)
            seen.extend(data.decode().split("\n"))


@pytest.mark.parametrize("abstract", [False, True])
async def test_ready_watchdog_and_stopping_reach_the_notify_socket(tmp_path, abstract):
    data = tmp_path / "data"
    seed(data, ("alice", True, False))
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"chatd-test-{os.getpid()}-{id(sock)}"
        await sock.bind("\0" + name)
        notify = "@" + name
    else:
        path = tmp_path / "notify.sock"
        await sock.bind(str(path))
        notify = str(path)
    seen: list[str] = []
    with sock:
        env = proc.clean_env(NOTIFY_SOCKET=notify, WATCHDOG_USEC="200000")
        async with proc.serve(data, env=env) as served:
            await receive_until(sock, "READY=1", seen)
            assert any(line.startswith("STATUS=listening on http://127.0.0.1:") for line in seen)
            status, _ = await login(served, "alice")  # ready means ready
            assert status == 200
            await receive_until(sock, "WATCHDOG=1", seen)
            seen.remove("WATCHDOG=1")
            await receive_until(sock, "WATCHDOG=1", seen)  # again: it goes on
            served.send_signal(signal.SIGTERM)
            await receive_until(sock, "STOPPING=1", seen)
            assert await served.wait() == 0


async def test_without_notify_socket_nothing_is_sent_and_the_server_runs(tmp_path):
    data = tmp_path / "data"
    seed(data, ("alice", True, False))
    async with proc.serve(data, env=proc.clean_env(WATCHDOG_USEC="200000")) as served:
        status, _ = await login(served, "alice")
        assert status == 200


def test_the_packaged_unit_verifies(tmp_path):
    analyze = ensure("systemd", "/usr/bin/systemd-analyze")
    chatd = shutil.which("chatd") or str(Path(sys.executable).parent / "chatd")
    assert Path(chatd).exists(), chatd
    unit = tmp_path / "chatd.service"
    text = UNIT.read_text()
    assert "Type=notify" in text and "WatchdogSec=" in text and "UMask=0077" in text
    unit.write_text(text.replace("/opt/chatd/bin/chatd", chatd))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr

"""TURN credentials (docs/calls.md) against a real coturn from Debian's packages, on loopback.

chatd is configured with `calls.turn_urls` and `calls.turn_secret_file`; coturn with the same
secret (use-auth-secret, static-auth-secret). The credentials come from chatd over the wire (the
ice_servers of the answers to rtc_call_invite and rtc_call_accept). coturn's own client,
turnutils_uclient, allocates and relays with them; an expired username and a password made with
another secret are refused ("Cannot complete Allocation"). Two aiortc peers (tests/rtc_peer.py)
with the relay policy then call each other through coturn with chatd's credentials.

coturn is installed with apt-get when `turnserver` is missing (tests/debian.py). It runs as the
fixture's subprocess: no daemon, no CLI, its files in the test's temporary directory, listening
on a free port of 127.0.0.1 and relaying on 127.0.0.1 (loopback peers allowed). The fixture
waits for its "UDP listener opened" line, with a deadline.
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from chatd.services.calls import turn_credentials
from tests import debian
from tests.helpers_rtc import TEST_S, pair_exchanged, peers

START_S = 15  # seconds coturn may take to listen
UCLIENT_S = 20  # seconds one turnutils_uclient run may take


class Turn:
    def __init__(self, port: int, secret: str, secret_file: Path):
        self.port, self.secret, self.secret_file = port, secret, secret_file
        self.url = f"turn:127.0.0.1:{port}?transport=udp"
        self.log: list[str] = []


def free_port() -> int:
    """A port of 127.0.0.1 free for both UDP and TCP (coturn listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@pytest.fixture(scope="session")
def coturn_installed() -> str:
    debian.ensure("coturn", "/usr/bin/turnutils_uclient")
    return debian.ensure("coturn", "/usr/bin/turnserver")


@pytest.fixture
async def turn(tmp_path: Path, coturn_installed: str) -> AsyncIterator[Turn]:
    home = tmp_path / "turn"
    home.mkdir()
    secret = secrets.token_hex(16)
    (home / "secret").write_text(secret + "\n")
    server = Turn(free_port(), secret, home / "secret")
    # -n: no configuration file; -v: it says when its listeners are open.
    args = [coturn_installed, "-n", "-v", "--no-cli", "--no-tls", "--no-dtls", "--simple-log", "--log-file", "stdout"]
    args += ["--listening-ip", "127.0.0.1", "--listening-port", str(server.port), "--relay-ip", "127.0.0.1", "--allow-loopback-peers"]
    args += ["--use-auth-secret", "--static-auth-secret", secret, "--realm", "chatd.test"]
    args += ["--pidfile", str(home / "turnserver.pid"), "--userdb", str(home / "turndb")]
    proc = await trio.lowlevel.open_process(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=home)
    listening = trio.Event()

    async def drain() -> None:  # read all it logs (a full pipe would stop it), and see when it listens
        assert proc.stdout is not None
        buf = b""
        while chunk := await proc.stdout.receive_some(65536):
            *lines, buf = (buf + chunk).split(b"\n")
            server.log += [line.decode(errors="replace") for line in lines]
            if any(b"UDP listener opened" in line for line in lines):
                listening.set()
        listening.set()  # it ended: no use waiting

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            with trio.move_on_after(START_S):
                await listening.wait()
            assert proc.returncode is None and any("UDP listener opened" in line for line in server.log), "coturn did not listen:\n" + "\n".join(server.log[-40:])
            yield server
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            proc.kill()
            with trio.move_on_after(5):
                await proc.wait()


@pytest.fixture
async def config_overrides(turn: Turn) -> dict[str, Any]:
    return {"calls": {"turn_urls": [turn.url], "turn_secret_file": str(turn.secret_file), "turn_ttl_s": 600}}


async def uclient(turn: Turn, username: str, password: str) -> tuple[int, str]:
    """turnutils_uclient: allocate a relay with these credentials and send a few packets through it
    (two clients, each the other's peer). Its exit status, and what it printed."""
    args = ["turnutils_uclient", "-y", "-n", "3", "-c", "-u", username, "-w", password, "-p", str(turn.port), "127.0.0.1"]
    with trio.fail_after(UCLIENT_S):
        done = await trio.run_process(args, capture_stdout=True, stderr=subprocess.STDOUT, check=False)
    return done.returncode, done.stdout.decode(errors="replace")


async def test_chatd_hands_out_turn_credentials_coturn_takes(harness, users, turn):
    with trio.fail_after(TEST_S):
        await check_credentials(harness, users, turn)


async def check_credentials(harness, users, turn):
    async with harness.client("alice") as a, harness.client("bob") as b:
        invited = await a.request("rtc_call_invite", {"peer": users["bob"]})
        incoming = (await b.next_push("rtc_call_incoming"))["data"]
        accepted = await b.request("rtc_call_accept", {"call_id": invited["call"]["call_id"]})
    mine, bobs, bobs_again = invited["ice_servers"], incoming["ice_servers"], accepted["ice_servers"]
    assert [s["urls"] for s in mine] == [[turn.url]]
    now = int(time.time())
    for server, user_id in ((mine[0], users["alice"]), (bobs[0], users["bob"]), (bobs_again[0], users["bob"])):
        expiry, _, user = server["username"].partition(":")
        assert user == str(user_id) and now + 590 <= int(expiry) <= now + 610  # calls.turn_ttl_s from now
    # Valid: coturn allocates, and relays packets between the two clients.
    status, out = await uclient(turn, mine[0]["username"], mine[0]["credential"])
    received = re.findall(r"tot_recv_msgs=(\d+)", out)
    assert status == 0 and received and int(received[-1]) > 0, out
    # Expired (the same secret, an expiry a minute ago), and the same username signed with another
    # secret: refused.
    expired = turn_credentials(turn.secret.encode(), users["alice"], -60, now)
    forged = turn_credentials(b"not the secret", users["alice"], int(mine[0]["username"].partition(":")[0]) - now, now)
    assert forged[0] == mine[0]["username"] and forged[1] != mine[0]["credential"]
    for username, password in (expired, forged):
        status, out = await uclient(turn, username, password)
        assert status != 0 and "Cannot complete Allocation" in out, out


async def test_two_peers_call_through_turn_only(harness, users, turn, tmp_path):
    async with peers(tmp_path, harness.url) as start:
        bob, alice = await start("bob", "bob", "callee", "relay"), await start("alice", "alice", "caller", users["bob"], "relay")
        await bob.expect("ready")
        await alice.expect("ready")
        await alice.tell("go")
        a, b = await alice.expect("exchanged"), await bob.expect("exchanged")
        pair_exchanged(a, b)
        # Every candidate either side offered was a relay on coturn: the bytes went through it.
        assert a["candidate_types"] == b["candidate_types"] == ["relay"]
        assert a["ice_servers"][0]["urls"] == [turn.url] and a["ice_servers"][0]["username"].endswith(f":{users['alice']}")
        await alice.tell("hangup")
        await alice.expect("hung_up")
        await bob.expect("ended")
        await alice.finish()
        await bob.finish()

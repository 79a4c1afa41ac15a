"""Calls with real WebRTC peers (docs/calls.md, "Tested with real peers"): aiortc peers, each in
its own process (tests/rtc_peer.py), log in to chatd over /ws, signal through it (invite,
accept, the offer, the answer and every ICE candidate relayed one by one, or the mesh's
rtc_multi_signal), open data channels and exchange bytes; media never passes through chatd.

Loopback: aioice leaves 127.0.0.1 out of its host candidates, so each peer gathers on 127.0.0.1
only (tests/rtc_peer.py): the peers reach each other over lo whatever other interfaces the
machine has, or lacks, and need no root, namespace or veth pair. A private network namespace
with a veth pair would work too, but needs root and leaves links behind when a run is killed.

Every wait has a deadline (tests/rtc_peer.py: STEP seconds per step; here PEER_S per line).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from tests.conftest import PASSWORD

PEER = Path(__file__).with_name("rtc_peer.py")
PEER_S = 20  # seconds a peer may take to print its next line


class Peer:
    """A tests/rtc_peer.py process: its JSON lines on stdout, commands on stdin."""

    def __init__(self, proc: trio.Process, name: str, log: Path):
        self.proc, self.name, self.log = proc, name, log
        self._buf = b""

    async def expect(self, event: str) -> dict[str, Any]:
        """The next line the peer prints; it must be `event`."""
        assert self.proc.stdout is not None
        with trio.fail_after(PEER_S):
            while b"\n" not in self._buf:
                chunk = await self.proc.stdout.receive_some(65536)
                if not chunk:
                    raise AssertionError(f"peer {self.name} ended before {event!r}:\n{self.log.read_text(errors='replace')}")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        out = json.loads(line)
        assert out["event"] == event, (self.name, out, self.log.read_text(errors="replace"))
        return out

    async def tell(self, command: str) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.send_all(command.encode() + b"\n")

    async def finish(self) -> None:
        """The peer's last line: no frame it received broke the registry; then it exits 0."""
        assert (await self.expect("problems"))["problems"] == []
        with trio.fail_after(PEER_S):
            assert await self.proc.wait() == 0, self.log.read_text(errors="replace")


@asynccontextmanager
async def peers(tmp_path: Path, url: str) -> AsyncIterator[Any]:
    """Start peers with `await start(name, username, *args)`; all are killed at the end."""
    procs: list[trio.Process] = []

    async def start(name: str, username: str, *args: Any) -> Peer:
        log = tmp_path / f"peer-{name}.stderr"
        with open(log, "wb") as err:
            proc = await trio.lowlevel.open_process(
                [sys.executable, str(PEER), url, username, PASSWORD, *map(str, args)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        procs.append(proc)
        peer = Peer(proc, name, log)
        await peer.expect("ready")
        return peer

    try:
        yield start
    finally:
        with trio.CancelScope(shield=True):
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                with trio.move_on_after(5):
                    await proc.wait()


def pair_exchanged(x: dict[str, Any], y: dict[str, Any]) -> None:
    """Each side received the other's bytes, and got its own back."""
    assert x["received"] == y["sent"] and y["received"] == x["sent"]
    assert x["echoed"] == x["sent"] and y["echoed"] == y["sent"]
    assert len(bytes.fromhex(x["sent"])) == 16


async def test_two_peers_call_and_exchange_bytes(harness, users, tmp_path):
    async with harness.client("alice") as watcher, peers(tmp_path, harness.url) as start:
        bob = await start("bob", "bob", "callee")
        alice = await start("alice", "alice", "caller", users["bob"])
        a, b = await alice.expect("exchanged"), await bob.expect("exchanged")
        assert a["call_id"] == b["call_id"]
        pair_exchanged(a, b)
        assert all(b["relayed"])  # the callee's answer and candidates: it answered, so straight through
        await alice.tell("hangup")
        hung = (await alice.expect("hung_up"))["call"]
        assert hung["state"] == "ended" and hung["reason"] == "hangup" and hung["ended_by"] == users["alice"]
        assert (await bob.expect("ended"))["call"]["reason"] == "hangup"
        await alice.finish()
        await bob.finish()
        # The call's record in the DM (another device of the caller's, which saw no signal).
        push = await watcher.next_push("chat_message", where=lambda d: d["message"]["content"]["type"] == "system")
        history = await watcher.request("chat_dm_history", {"peer": users["bob"]})
        rec = history["messages"][-1]
        assert rec["id"] == push["data"]["message"]["id"] and rec["content"]["event"] == "call"
        assert rec["content"]["data"]["call_id"] == a["call_id"] and rec["content"]["data"]["reason"] == "hangup"
        assert rec["content"]["data"]["duration_ms"] == hung["duration_ms"] > 0
        assert rec["content"]["text"].startswith("Audio call, 0:")
        assert not watcher.pending_pushes("rtc_signal")


async def test_a_third_peer_joins_a_mesh_call(harness, users, tmp_path):
    async with harness.client("alice") as watcher, peers(tmp_path, harness.url) as start:
        group = (await watcher.request("chat_group_create", {"name": "call", "members": [users["bob"], users["carol"]]}))["group"]
        alice = await start("alice", "alice", "mesh", group["group_id"], 2)
        a_dev = (await alice.expect("joined"))["device"]
        bob = await start("bob", "bob", "mesh", group["group_id"], 2)
        b_joined = await bob.expect("joined")
        assert b_joined["participants"] == [{"user_id": users["alice"], "device": a_dev}]
        ab, ba = await alice.expect("exchanged"), await bob.expect("exchanged")
        pair_exchanged(ab, ba)
        # The third joins the call of two: it offers to both, and each pair exchanges bytes.
        carol = await start("carol", "carol", "mesh", group["group_id"], 2)
        c_joined = await carol.expect("joined")
        assert c_joined["participants"] == [{"user_id": users["alice"], "device": a_dev}, {"user_id": users["bob"], "device": b_joined["device"]}]
        got = {(x["device"], x["peer_device"]): x for x in [await alice.expect("exchanged"), await bob.expect("exchanged")]}
        for _ in range(2):
            x = await carol.expect("exchanged")
            got[(x["device"], x["peer_device"])] = x
        c_dev = c_joined["device"]
        for dev in (a_dev, b_joined["device"]):
            pair_exchanged(got[(dev, c_dev)], got[(c_dev, dev)])
        for peer in (alice, bob, carol):
            await peer.tell("leave")
            assert (await peer.expect("left"))["left"] is True
            await peer.finish()
        # The group's members saw them come and go; the call is empty again.
        events = [(await watcher.next_push("rtc_multi_update"))["data"] for _ in range(6)]
        assert [e["event"] for e in events] == ["joined"] * 3 + ["left"] * 3
        assert events[-1]["participants"] == []
        assert not watcher.pending_pushes("rtc_signal")

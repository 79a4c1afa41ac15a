"""aiortc peers for the call tests: tests/rtc_peer.py processes, started and read with deadlines."""

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
TEST_S = 25  # seconds a whole test with peers may take


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

    async def kill(self) -> None:
        """SIGKILL: the peer's connection to chatd ends with no goodbye."""
        self.proc.kill()
        with trio.fail_after(PEER_S):
            await self.proc.wait()

    async def finish(self) -> None:
        """The peer's last line: no frame it received broke the registry; then it exits 0."""
        assert (await self.expect("problems"))["problems"] == []
        with trio.fail_after(PEER_S):
            assert await self.proc.wait() == 0, self.log.read_text(errors="replace")


@asynccontextmanager
async def peers(tmp_path: Path, url: str) -> AsyncIterator[Any]:
    """Start peers with `await start(name, username, *args)`: each logs in, says `ready` and, unless
    it is a callee, waits for `go`. All are killed at the end; the block fails after TEST_S seconds."""
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
        return Peer(proc, name, log)

    try:
        with trio.fail_after(TEST_S):
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

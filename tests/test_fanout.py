"""The write path: a stalled reader is cut off with 4008 and never slows anyone else."""

from __future__ import annotations

import os
import socket
import struct

import msgspec
import pytest
import trio

from .conftest import PASSWORD


class RawClient:
    """A WebSocket client on a plain socket with a tiny receive buffer, which can stop reading."""

    def __init__(self, sock: trio.socket.SocketType):
        self.sock = sock
        self.buf = b""

    @classmethod
    async def connect(cls, url: str) -> RawClient:
        host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await sock.connect((host, int(port)))
        self = cls(sock)
        await self._send_all(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        while b"\r\n\r\n" not in self.buf:
            self.buf += await sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101")
        return self

    async def _send_all(self, data: bytes) -> None:
        while data:
            sent = await self.sock.send(data)
            data = data[sent:]

    async def send_json(self, obj: dict) -> None:
        payload = msgspec.json.encode(obj)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        n = len(payload)
        header = struct.pack("!BB", 0x81, 0x80 | n) if n < 126 else struct.pack("!BBH", 0x81, 0x80 | 126, n)
        await self._send_all(header + mask + masked)

    async def login(self, name: str) -> None:
        await self.send_json({"cmd": "login", "id": "login", "data": {"username": name, "password": PASSWORD}})
        await self.expect_ok()

    async def expect_ok(self) -> dict:
        _, payload = await self.frame()
        reply = msgspec.json.decode(payload)
        assert reply["ok"] is True, reply
        return reply

    async def close_code(self) -> int | None:
        """Read what is on the wire up to the close frame; its code, or None at the end of the stream."""
        while True:
            frame = await self.frame()
            if frame is None:
                return None
            if frame[0] == 8:
                return struct.unpack("!H", frame[1][:2])[0]

    async def _need(self, n: int) -> bool:
        while len(self.buf) < n:
            chunk = await self.sock.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    async def frame(self) -> tuple[int, bytes] | None:
        if not await self._need(2):
            return None
        op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        start = 2
        if n == 126:
            await self._need(4)
            (n,) = struct.unpack("!H", self.buf[2:4])
            start = 4
        elif n == 127:
            await self._need(10)
            (n,) = struct.unpack("!Q", self.buf[2:10])
            start = 10
        if not await self._need(start + n):
            return None
        payload, self.buf = self.buf[start : start + n], self.buf[start + n :]
        return op, payload


@pytest.mark.parametrize("config_overrides", [{"server": {"backlog_max_bytes": 256 * 1024}, "limits": {"send_burst": 10000, "user_write_burst": 10000}}])
async def test_stalled_reader_is_closed_4008_and_others_keep_receiving(harness, users):
    a, b = users["alice"], users["bob"]
    hub = harness.server.hub
    stalled = await RawClient.connect(harness.url)
    await stalled.login("bob")
    # From here on the stalled device reads nothing.
    big = "x" * 8000
    count = 400  # 3.2 MB in all: far past the 256 KiB backlog cap plus socket buffers
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        for i in range(count):
            await a1.request("chat_dm_send", {"peer": b, "content": {"type": "text", "text": f"{i} {big}"}})
        # The live device got every message, in order, while the stalled one was cut off.
        seqs = []
        with trio.fail_after(10):
            while len(seqs) < count:
                push = await b1.next_push("chat_message")
                seqs.append(push["data"]["seq"])
        assert seqs == list(range(1, count + 1))
        with trio.fail_after(10):
            while not any(s.conn.closing for s in hub.sessions_of(b)):
                await trio.sleep(0.01)  # polling a condition under a deadline
        # Reading now: whatever was already on the wire, then a close frame with 4008.
        with trio.fail_after(10):
            assert await stalled.close_code() == 4008
        # Back again, the device catches up by seq.
        async with harness.client("bob") as b2:
            hist = await b2.request("chat_dm_history", {"peer": a, "after_seq": 0, "limit": 100})
            assert [m["seq"] for m in hist["messages"]] == list(range(1, 101))
    stalled.sock.close()

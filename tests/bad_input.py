"""What the bad-input tests share (tests/test_bad_input.py, tests/test_bad_frames.py and the
limit and fuzz tests): the error check against the registry, a connection's "still up" probe,
a snapshot of every row a chat request can write, and `RawSocket`, the WebSocket protocol spoken
by hand for frames the client library cannot make (invalid UTF-8 in a text frame, fragments,
reserved bits, an offered extension).
"""

from __future__ import annotations

import base64
import os
import struct
from typing import Any

import msgspec
import trio

from chatd.client import Client
from chatd.protocol.registry import REGISTRY

from .conftest import PASSWORD
from .stored import stored

# Codes any command may answer without listing them.
UNIVERSAL = {"bad_frame", "unknown_command", "not_implemented", "not_logged_in", "unavailable"}
ANY = object()
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8
# The tables a request can change; users and tokens change on every login and are left out.
TABLES = ("conversations", "members", "messages", "message_edits", "reactions", "hidden_messages")


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


# -- checks ----------------------------------------------------------------------------


def check_error(frame: dict[str, Any], code: str, field: Any = ANY, *, cmd: str | None = None) -> dict[str, Any]:
    """An error response with this code (and field); a command-specific code must be listed for the command."""
    assert frame.get("ok") is False, frame
    assert "data" not in frame, frame
    err = frame["error"]
    assert err["code"] == code, frame
    assert isinstance(err.get("message"), str) and err["message"], frame
    if field is not ANY:
        assert err.get("field") == field, frame
    cmd = cmd if cmd is not None else frame.get("cmd")
    command = REGISTRY.commands.get(cmd) if isinstance(cmd, str) else None
    if command is not None and command.implemented and code not in UNIVERSAL:
        assert code in command.errors, f"{cmd} answered {code}, which its registry entry does not list"
    return err


async def next_reply(client: Client, *, timeout: float = 10) -> dict[str, Any]:
    """The next response that no request waits for (a bad frame's answer has id null), skipping pushes."""
    while True:
        frame = await client.next_push(timeout=timeout)
        if "ok" in frame:
            return frame


async def still_up(client: Client) -> None:
    assert (await client.request("ping"))["pong"] is True


def _dump(server: Any) -> dict[str, list[tuple[Any, ...]]]:
    with stored(server) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


async def snapshot(harness: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a chat request can write, read from the server's database itself (tests/stored.py)."""
    return await trio.to_thread.run_sync(_dump, harness.server)


async def expect_rejected(client: Client, cmd: str, data: Any, code: str, field: Any = ANY) -> dict[str, Any]:
    frame = await client.call(cmd, data)
    err = check_error(frame, code, field, cmd=cmd)
    assert frame["cmd"] == cmd
    await still_up(client)
    return err


# -- a WebSocket spoken by hand ----------------------------------------------------------


class RawSocket:
    """Client frames built byte by byte (masked, as RFC 6455 requires), server frames parsed likewise."""

    def __init__(self, stream: trio.SocketStream, status: bytes, headers: dict[bytes, bytes], buf: bytes):
        self.stream = stream
        self.status = status
        self.headers = headers
        self.buf = buf

    @classmethod
    async def open(cls, harness: Any, extra_headers: bytes = b"") -> RawSocket:
        host, port = harness.server.listener.address
        stream = await trio.open_tcp_stream(host, port)
        key = base64.b64encode(os.urandom(16))
        await stream.send_all(
            b"GET /ws HTTP/1.1\r\nHost: chatd.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + b"\r\n"
        )
        buf = b""
        with trio.fail_after(10):
            while b"\r\n\r\n" not in buf:
                chunk = await stream.receive_some(4096)
                assert chunk, f"connection closed during the handshake: {buf!r}"
                buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers: dict[bytes, bytes] = {}
        for line in lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return cls(stream, status, headers, rest)

    async def send(self, payload: bytes, opcode: int = TEXT, *, fin: bool = True, rsv1: bool = False) -> None:
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        mask = os.urandom(4)
        key = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
        await self.stream.send_all(head + mask + masked)

    async def _fill(self, n: int) -> bool:
        while len(self.buf) < n:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    async def recv(self, *, timeout: float = 10) -> tuple[int, bytes]:
        """The next whole frame as (opcode, payload); (0, b"") when the server closed the TCP stream."""
        with trio.fail_after(timeout):
            if not await self._fill(2):
                return 0, b""
            b0, b1 = self.buf[0], self.buf[1]
            assert not b1 & 0x80, "server frames are never masked"
            n, off = b1 & 0x7F, 2
            if n == 126:
                if not await self._fill(4):
                    return 0, b""
                (n,) = struct.unpack("!H", self.buf[2:4])
                off = 4
            elif n == 127:
                if not await self._fill(10):
                    return 0, b""
                (n,) = struct.unpack("!Q", self.buf[2:10])
                off = 10
            if not await self._fill(off + n):
                return 0, b""
            assert b0 & 0x80 and not b0 & 0x70, "the server sends final, uncompressed frames"
            payload, self.buf = self.buf[off : off + n], self.buf[off + n :]
            return b0 & 0x0F, payload

    async def reply(self) -> tuple[int, dict[str, Any]]:
        """The next frame, which must be a data frame; decoded with the codec its opcode names."""
        opcode, payload = await self.recv()
        assert opcode in (TEXT, BINARY), (opcode, payload)
        return opcode, (msgspec.json.decode(payload) if opcode == TEXT else msgspec.msgpack.decode(payload))

    async def close_code(self) -> int:
        """Read until the server's close frame; its status code."""
        while True:
            opcode, payload = await self.recv()
            assert opcode != 0, "the TCP stream ended without a close frame"
            if opcode == CLOSE:
                return struct.unpack("!H", payload[:2])[0]

    async def request(self, body: dict[str, Any], *, binary: bool = False) -> tuple[int, dict[str, Any]]:
        if binary:
            await self.send(msgspec.msgpack.encode(body), BINARY)
        else:
            await self.send(msgspec.json.encode(body), TEXT)
        return await self.reply()

    async def login(self, name: str, *, binary: bool = False) -> None:
        body = {"cmd": "login", "id": "login", "data": {"username": name, "password": PASSWORD}}
        _, frame = await self.request(body, binary=binary)
        assert frame["ok"] is True, frame

    async def aclose(self) -> None:
        await self.stream.aclose()

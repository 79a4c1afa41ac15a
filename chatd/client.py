"""chatd's own client, on trio-websocket: used by the tests, the benchmarks and bots.

    async with connect("ws://127.0.0.1:8080/ws") as client:
        await client.login("alice", "secret-password")
        sent = await client.request("chat_dm_send", {"peer": 2, "content": {"type": "text", "text": "hi"}})
        push = await client.next_push("chat_message")
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url


class ClientError(Exception):
    """An error response: `code` is one of the protocol's error codes."""

    def __init__(self, cmd: str | None, error: dict[str, Any]):
        super().__init__(f"{cmd}: {error.get('code')}: {error.get('message')}")
        self.cmd = cmd
        self.error = error
        self.code: str = error.get("code", "")
        self.field: str | None = error.get("field")
        self.retry_after_ms: int | None = error.get("retry_after_ms")
        self.missing: str | None = error.get("missing")
        self.by: str | None = error.get("by")


class Client:
    def __init__(self, ws: WebSocketConnection, *, msgpack: bool = False):
        self.ws = ws
        self.msgpack = msgpack
        self._encode = msgspec.msgpack.encode if msgpack else msgspec.json.encode
        self._ids = itertools.count(1)
        self._waiting: dict[str, trio.MemorySendChannel[dict[str, Any]]] = {}
        self._pushes: deque[dict[str, Any]] = deque()
        self._push_event = trio.Event()
        self.user: dict[str, Any] | None = None
        self.token: str | None = None
        self.closed: ConnectionClosed | None = None

    async def _reader(self) -> None:
        decode_json, decode_mp = msgspec.json.decode, msgspec.msgpack.decode
        try:
            while True:
                raw = await self.ws.get_message()
                self._handle(decode_json(raw) if isinstance(raw, str) else decode_mp(raw))
        except ConnectionClosed as exc:
            self.closed = exc
            for send in self._waiting.values():
                send.close()
            self._wake()

    def _handle(self, frame: dict[str, Any]) -> None:
        """Route one received frame: a response to its waiting call, anything else to the pushes.
        (The tests wrap this to check every frame against the registry.)"""
        req_id = frame.get("id") if "ok" in frame else None
        if req_id is not None and str(req_id) in self._waiting:
            self._waiting.pop(str(req_id)).send_nowait(frame)
        else:
            self._pushes.append(frame)  # a push, or a response to nothing we wait for (e.g. bad_frame)
            self._wake()

    def _wake(self) -> None:
        self._push_event.set()
        self._push_event = trio.Event()

    async def send_raw(self, payload: str | bytes) -> None:
        await self.ws.send_message(payload)

    async def call(self, cmd: str, data: Any = None, *, timeout: float = 30) -> dict[str, Any]:
        """Send a request; return the whole response frame (ok or not)."""
        req_id = f"c{next(self._ids)}"
        send, recv = trio.open_memory_channel[dict[str, Any]](1)
        self._waiting[req_id] = send
        frame: dict[str, Any] = {"cmd": cmd, "id": req_id}
        if data is not None:
            frame["data"] = data
        payload = self._encode(frame)
        await self.ws.send_message(payload if self.msgpack else payload.decode())
        with trio.fail_after(timeout):
            try:
                return await recv.receive()
            except trio.EndOfChannel:
                raise ConnectionClosed(self.closed.reason if self.closed else None) from None

    async def request(self, cmd: str, data: Any = None, *, timeout: float = 30) -> Any:
        """Send a request; return its data, or raise ClientError."""
        frame = await self.call(cmd, data, timeout=timeout)
        if not frame.get("ok"):
            raise ClientError(cmd, frame.get("error") or {})
        return frame.get("data")

    async def login(self, username: str | None = None, password: str | None = None, *, token: str | None = None, device: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {"device": device}
        if token:
            data["token"] = token
        else:
            data.update(username=username, password=password)
        out = await self.request("login", data)
        self.user, self.token = out["user"], out["token"]
        return out

    async def next_push(self, cmd: str | None = None, *, timeout: float = 10, where: Any = None) -> dict[str, Any]:
        """The next push (optionally of one command, and matching `where(data)`), skipping others."""
        with trio.fail_after(timeout):
            while True:
                for i, frame in enumerate(self._pushes):
                    if (cmd is None or frame.get("cmd") == cmd) and (where is None or where(frame.get("data"))):
                        del self._pushes[i]
                        return frame
                if self.closed is not None:
                    raise ConnectionClosed(self.closed.reason)
                await self._push_event.wait()

    def pending_pushes(self, cmd: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self._pushes if cmd is None or f.get("cmd") == cmd]

    def clear_pushes(self) -> None:
        self._pushes.clear()

    async def wait_closed(self, *, timeout: float = 10) -> ConnectionClosed:
        with trio.fail_after(timeout):
            while self.closed is None:
                await self._push_event.wait()
        return self.closed

    async def aclose(self) -> None:
        await self.ws.aclose()


@asynccontextmanager
async def connect(url: str, *, msgpack: bool = False, max_message_size: int = 16 * 1024 * 1024) -> AsyncIterator[Client]:
    """A logged-out client on url; at the end its reader stops and the connection closes with
    the closing handshake (1000), as a well-behaved client's does."""
    async with open_websocket_url(url, max_message_size=max_message_size) as ws:
        async with trio.open_nursery() as nursery:
            client = Client(ws, msgpack=msgpack)
            nursery.start_soon(client._reader)
            try:
                yield client
            finally:
                nursery.cancel_scope.cancel()  # the reader only: the handshake is not cancelled

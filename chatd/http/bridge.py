"""Hands an HTTP connection, with the bytes already read, to hypercorn.

chatd's listener reads each new connection's request head to route WebSocket
upgrades on /ws to its own fast path; every other request is served by
hypercorn's trio worker on the same socket, so one address serves both.
This module is the only place that touches hypercorn's connection class.
"""

from __future__ import annotations

from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app


class PrefixedStream(trio.abc.HalfCloseableStream):
    """A socket stream whose first read returns bytes that were read before."""

    def __init__(self, stream: trio.SocketStream, prefix: bytes):
        self._stream = stream
        self._prefix = prefix
        self.socket = stream.socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix, b""
            return data
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


class HttpBridge:
    def __init__(self, asgi_app: Any, *, max_body_bytes: int = 16 * 1024 * 1024):
        self.config = HypercornConfig()
        self.config.accesslog = None
        self.config.errorlog = None
        self.config.keep_alive_timeout = 30
        self.config.graceful_timeout = 2
        self.config.wsgi_max_body_size = max_body_bytes
        self.app = wrap_app(asgi_app, max_body_bytes, "asgi")
        self.context = WorkerContext(None)

    async def serve(self, stream: trio.SocketStream, prefix: bytes) -> None:
        server = TCPServer(self.app, self.config, self.context, ConnectionState({}), PrefixedStream(stream, prefix))
        await server.run()

    async def shutdown(self) -> None:
        """Ask kept-alive HTTP connections to finish and close."""
        await self.context.terminated.set()

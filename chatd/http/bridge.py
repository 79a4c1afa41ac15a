"""Hands an HTTP connection, with the bytes already read, to hypercorn.

chatd's listener reads each new connection's request head to route WebSocket
upgrades on /ws to its own fast path; every other request is served by
hypercorn's trio worker on the same socket, so one address serves both.
This module is the only place that touches hypercorn's connection class.

What chatd changes in it (docs/security-transport.part.md):

- Deadlines on every read: the first request head is read by the listener
  (server.login_timeout_s); the head of a later request on a kept-alive
  connection must come within server.http_keepalive_timeout_s of the previous
  response (hypercorn's keep-alive timeout); a request body must be complete
  within server.http_body_timeout_s of its head, plus one second for every
  server.http_body_min_bytes_per_s bytes of it received (so a large upload
  that keeps that pace is never cut off), or the client gets 408 and the
  connection is closed. (hypercorn's own read_timeout restarts at every
  read, so one byte a second would keep a body open for ever.)
- No HTTP/2 over cleartext unless server.http2 is on: an `Upgrade: h2c` header
  is ignored (the request is answered in HTTP/1.1) and the HTTP/2 preface
  `PRI *` is refused with 505. With server.http2 on, both switch the connection
  to hypercorn's HTTP/2 (whose streams have no body deadline of chatd's own).
- A request with both Content-Length and Transfer-Encoding is refused with
  400 and the connection closed (RFC 9112, section 6.1).
- A connection whose peer has closed it is closed as soon as no request of it
  is running (hypercorn would keep the socket until its keep-alive timeout,
  holding one of the address's server.max_connections_per_ip meanwhile).
"""

from __future__ import annotations

import base64
from math import inf
from typing import Any

import h11
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.protocol import ProtocolWrapper
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.task_group import TaskGroup
from hypercorn.trio.tcp_server import MAX_RECV, TCPServer

BODY_RECV = 256 * 1024
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import parse_socket_addr, wrap_app
from hypercorn.events import Closed, RawData, Updated


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


def _decodes(settings: bytes) -> bool:
    """Whether an HTTP2-Settings header is base64url as the h2 library reads it (else it raises)."""
    try:
        base64.urlsafe_b64decode(settings)
    except ValueError:  # binascii.Error
        return False
    return True


class _H11(H11Protocol):
    """HTTP/1.1 (HTTP/2 only when allowed), and no request with two framings of its body."""

    refused = False
    http2 = False

    async def _check_protocol(self, event: h11.Request) -> None:
        names = {name.lower() for name, _ in event.headers}
        if b"content-length" in names and b"transfer-encoding" in names:
            await self._refuse(400)
        elif self.http2:
            settings = [value for name, value in event.headers if name.lower() == b"http2-settings"]
            if settings and not _decodes(settings[0]):
                await self._refuse(400)
            else:
                await super()._check_protocol(event)  # h2c upgrade or prior knowledge: raises to switch
        elif event.method == b"PRI":
            await self._refuse(505)
        # Otherwise an `Upgrade: h2c` header is ignored: the request is served in HTTP/1.1.

    async def _refuse(self, status: int) -> None:
        self.refused = True
        await self._send_error_response(status)  # with connection: close
        await self.send(Closed())

    async def _create_stream(self, request: h11.Request) -> None:
        if not self.refused:
            await super()._create_stream(request)


class _Protocol(ProtocolWrapper):
    def __init__(self, app: Any, config: HypercornConfig, context: Any, task_group: Any, state: Any, ssl: bool, client: Any, server: Any, send: Any, http2: bool) -> None:
        super().__init__(app, config, context, task_group, state, ssl, client, server, send, "http/1.1")
        self.protocol = _H11(app, config, context, task_group, state, ssl, client, server, send)
        self.protocol.http2 = http2


class _Server(TCPServer):
    """hypercorn's trio connection, plaintext HTTP/1.1 only, with a deadline on request bodies."""

    body_timeout_s = 30.0
    body_min_rate = 32768.0
    http2 = False
    reading = True

    async def protocol_send(self, event: Any) -> None:
        if isinstance(event, Updated) and event.idle and not self.reading:
            return  # idle after the peer left: nothing more can come, close instead of keeping alive
        await super().protocol_send(event)

    async def run(self) -> None:
        sock = self.stream.socket
        try:
            client = parse_socket_addr(sock.family, sock.getpeername())
            server = parse_socket_addr(sock.family, sock.getsockname())
            async with TaskGroup() as task_group:
                self._task_group = task_group
                self.protocol = _Protocol(self.app, self.config, self.context, task_group, ConnectionState(self.state), False, client, server, self.protocol_send, self.http2)
                await self.protocol.initiate()
                await self.idle_task.restart(self._task_group, self._idle_timeout)
                await self._read_data()
                # The peer is gone (or the connection is done for): no keep-alive wait holds the
                # socket open; a request still running finishes, then the socket is closed.
                self.reading = False
                await self.idle_task.stop()
        except OSError:
            pass
        finally:
            await self._close()

    async def _read_data(self) -> None:
        body_deadline = inf
        body_bytes = 0
        while True:
            h11_protocol = self.protocol.protocol  # until an HTTP/2 switch, when it is allowed
            if isinstance(h11_protocol, _H11) and h11_protocol.connection.their_state is h11.SEND_BODY:
                if body_deadline == inf:
                    body_deadline = trio.current_time() + self.body_timeout_s
                    body_bytes = 0
            else:
                body_deadline = inf
            try:
                with trio.fail_at(body_deadline + body_bytes / self.body_min_rate):
                    # A body (an upload) in larger reads: fewer turns of the event loop per MB.
                    data = await self.stream.receive_some(BODY_RECV if body_deadline != inf else MAX_RECV)
            except trio.TooSlowError:
                if isinstance(h11_protocol, _H11) and h11_protocol.connection.our_state is h11.SEND_RESPONSE:
                    with trio.CancelScope(shield=True):
                        await h11_protocol._send_error_response(408)
                break
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            else:
                if body_deadline != inf:
                    body_bytes += len(data)
                await self.protocol.handle(RawData(bytes(data)))
                if data == b"":
                    break
        await self.protocol.handle(Closed())


class HttpBridge:
    def __init__(
        self,
        asgi_app: Any,
        *,
        max_body_bytes: int = 16 * 1024 * 1024,
        body_timeout_s: float = 30.0,
        body_min_bytes_per_s: float = 32768.0,
        keepalive_timeout_s: float = 30.0,
        http2: bool = False,
    ):
        self.config = HypercornConfig()
        self.config.accesslog = None
        self.config.errorlog = None
        self.config.keep_alive_timeout = keepalive_timeout_s
        self.config.graceful_timeout = 2
        self.config.wsgi_max_body_size = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.body_min_rate = body_min_bytes_per_s
        self.http2 = http2
        self.app = wrap_app(asgi_app, max_body_bytes, "asgi")
        self.context = WorkerContext(None)

    async def serve(self, stream: trio.SocketStream, prefix: bytes) -> None:
        server = _Server(self.app, self.config, self.context, ConnectionState({}), PrefixedStream(stream, prefix))  # type: ignore[arg-type]
        server.body_timeout_s = self.body_timeout_s
        server.body_min_rate = self.body_min_rate
        server.http2 = self.http2
        await server.run()

    async def shutdown(self) -> None:
        """Ask kept-alive HTTP connections to finish and close."""
        await self.context.terminated.set()

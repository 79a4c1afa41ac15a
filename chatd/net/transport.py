"""Sockets: one listener for HTTP and WebSocket, and the per-connection write path.

A new connection's HTTP request head is read here. A WebSocket upgrade on
`/ws` is handshaken with the `websockets` sans-I/O protocol (no extensions, so
no permessage-deflate) and then served by chatd's own reader; anything else is
handed, bytes already read included, to the HTTP side (hypercorn).

Writes: `Connection.send_frame` tries the socket's non-blocking send at once,
without a task hop. What the socket cannot take waits, in order, in the
connection's bounded backlog, drained by a flusher task that is started only
when a send would block. Data, pongs and the close frame all take this one
path, so frames never interleave.

While the `Cork` is held (the writer holds it while the submitters of one
batch answer and push), frames wait per connection instead, and at release
each connection's frames go out with one send(): a group member then gets
the messages of a whole batch in one system call instead of one each.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from ..errors import CLOSE_BACKLOG
from .forwarded import forwarded_peer, parse_networks
from .origin import upgrade_allowed

log = logging.getLogger("chatd.transport")
_ws_log = logging.getLogger("chatd.ws")
_ws_log.setLevel(logging.WARNING)

WS_PATH = b"/ws"
MAX_HEAD = 16384
CLOSE_GRACE_S = 2.0
TEXT, BINARY = 1, 2
_H1 = struct.Struct("!BB")
_H2 = struct.Struct("!BBH")
_H8 = struct.Struct("!BBQ")


def ws_frame(payload: bytes, opcode: int = TEXT) -> bytes:
    """An unmasked, final server frame: built once, written to any number of sockets."""
    n = len(payload)
    if n < 126:
        return _H1.pack(0x80 | opcode, n) + payload
    if n < 65536:
        return _H2.pack(0x80 | opcode, 126, n) + payload
    return _H8.pack(0x80 | opcode, 127, n) + payload


class Cork:
    """While held, frames wait in their connections; release() writes each connection's with one send()."""

    __slots__ = ("held", "dirty")

    def __init__(self) -> None:
        self.held = False
        self.dirty: list[Connection] = []  # connections with frames waiting, in the order they got the first

    def release(self) -> None:
        self.held = False
        dirty, self.dirty = self.dirty, []
        for conn in dirty:
            try:
                conn.send_pending()
            except Exception:  # noqa: BLE001 - one connection's bug must not keep the others' frames
                log.exception("writing to %s failed", conn.peer)
                conn.abort()


class Connection:
    """One WebSocket connection: its socket, protocol state and outgoing backlog."""

    __slots__ = ("sock", "proto", "pending", "backlog", "backlog_bytes", "backlog_max", "flushing", "closing", "closed", "session", "peer", "_spawn", "_cork", "_close_deadline", "_scope", "__weakref__")

    def __init__(self, sock: socket.socket, proto: ServerProtocol, backlog_max: int, spawn: Callable[..., Any], peer: str, cork: Cork):
        self.sock = sock
        self.proto = proto
        self.pending: bytes | list[bytes] | None = None  # frames held by the cork: one, or a list
        self._cork = cork
        self.backlog: deque[memoryview] | None = None  # made when a send first blocks
        self.backlog_bytes = 0
        self.backlog_max = backlog_max
        self.flushing = False
        self.closing = False
        self.closed = False
        self.session: Any = None
        self.peer = peer
        self._spawn = spawn
        self._close_deadline = float("inf")
        self._scope: trio.CancelScope | None = None

    # -- the one write path ----------------------------------------------------------

    def send_frame(self, frame: bytes) -> None:
        if self.closed:
            return
        if self.backlog:
            self._enqueue(memoryview(frame))
            return
        if self._cork.held:
            pending = self.pending
            if pending is None:
                self.pending = frame
                self._cork.dirty.append(self)
            elif type(pending) is list:
                pending.append(frame)
            else:
                self.pending = [pending, frame]  # type: ignore[list-item]
            return
        self._send_now(frame)

    def send_pending(self) -> None:
        """Write what the cork held, with one send()."""
        pending, self.pending = self.pending, None
        if pending is None or self.closed:
            return
        frame = b"".join(pending) if type(pending) is list else pending
        if self.backlog:
            self._enqueue(memoryview(frame))  # type: ignore[arg-type]
        else:
            self._send_now(frame)  # type: ignore[arg-type]

    def _send_now(self, frame: bytes) -> None:
        try:
            sent = self.sock.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.abort()
            return
        if sent < len(frame):
            self._enqueue(memoryview(frame)[sent:])

    def _enqueue(self, view: memoryview) -> None:
        if self.backlog is None:
            self.backlog = deque()
        self.backlog.append(view)
        self.backlog_bytes += len(view)
        if self.backlog_bytes > self.backlog_max and not self.closing:
            self._overflow()
            return
        if not self.flushing:
            self.flushing = True
            self._spawn(self._flush)

    def _overflow(self) -> None:
        """A consumer that cannot keep up: drop what it has not started reading and close it."""
        assert self.backlog is not None
        head = self.backlog[0]
        self.backlog = deque([head])
        self.backlog_bytes = len(head)
        log.info("closing %s: outgoing backlog passed %d bytes", self.peer, self.backlog_max)
        self.close(CLOSE_BACKLOG, "backlog overflow: reconnect and catch up by seq")

    async def _flush(self) -> None:
        try:
            while self.backlog and not self.closed:
                try:
                    with trio.move_on_at(self._close_deadline):
                        await trio.lowlevel.wait_writable(self.sock)
                except (trio.ClosedResourceError, OSError):
                    break
                if trio.current_time() >= self._close_deadline:
                    break
                while self.backlog:
                    view = self.backlog[0]
                    try:
                        sent = self.sock.send(view)
                    except BlockingIOError:
                        break
                    except OSError:
                        self.abort()
                        return
                    self.backlog_bytes -= sent
                    if sent < len(view):
                        self.backlog[0] = view[sent:]
                        break
                    self.backlog.popleft()
            # Closing: either the grace period ran out with data still queued, or the
            # closing handshake finished while it was queued. Either way, close now.
            if self.closing and (self.backlog or self.proto.eof_sent):
                self.abort()
        finally:
            self.flushing = False

    # -- closing -----------------------------------------------------------------------

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame after whatever is queued; the socket closes when the peer answers or after a grace period."""
        if self.closing or self.closed:
            return
        self._start_closing()
        if self.proto.state is State.OPEN:
            self.proto.send_close(code, reason)
        self._write_proto_output()

    def _start_closing(self) -> None:
        self.closing = True
        self._close_deadline = trio.current_time() + CLOSE_GRACE_S
        if self._scope is not None:
            self._scope.deadline = self._close_deadline

    def _write_proto_output(self) -> None:
        for chunk in self.proto.data_to_send():
            if chunk:
                self.send_frame(chunk)
                continue
            self.send_pending()  # what a held cork keeps goes out before the end
            if not self.backlog:
                # The closing handshake is over (or failed): the server closes the TCP
                # connection now; the kernel still delivers what was written.
                self.abort()
                return

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.closing = True
        self.pending = None
        self.backlog = None
        self.backlog_bytes = 0
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()

    # -- reading -----------------------------------------------------------------------

    async def serve(self, on_message: Callable[[Connection, bytes, int], Awaitable[None]]) -> None:
        """Read frames until the connection ends; each complete message goes to on_message(self, payload, opcode)."""
        proto = self.proto
        fragments: list[bytes] = []
        opcode = TEXT
        try:
            while not self.closed:
                with trio.CancelScope(deadline=self._close_deadline) as self._scope:
                    await trio.lowlevel.wait_readable(self.sock)
                self._scope = None
                if trio.current_time() >= self._close_deadline:
                    break
                try:
                    data = self.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    break
                if data:
                    proto.receive_data(data)
                else:
                    proto.receive_eof()
                for event in proto.events_received():
                    if not isinstance(event, Frame) or self.closing:
                        continue
                    op = event.opcode
                    if op is Opcode.TEXT or op is Opcode.BINARY:
                        opcode = TEXT if op is Opcode.TEXT else BINARY
                        if event.fin:
                            await on_message(self, event.data, opcode)
                        else:
                            fragments = [event.data]
                    elif op is Opcode.CONT:
                        fragments.append(event.data)
                        if event.fin:
                            payload, fragments = b"".join(fragments), []
                            await on_message(self, payload, opcode)
                if proto.close_expected() and not self.closing:
                    self._start_closing()
                self._write_proto_output()
                if not data or proto.state is State.CLOSED:
                    break
        except (trio.ClosedResourceError, OSError):
            pass
        finally:
            self.abort()


# -- the listener ------------------------------------------------------------------------


class Listener:
    """Accepts TCP connections and routes each to the WebSocket side or the HTTP side."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        on_websocket: Callable[[Connection], Awaitable[None]],
        on_http: Callable[[trio.SocketStream, bytes], Awaitable[None]],
        max_frame_bytes: int,
        backlog_max: int,
        head_timeout_s: float,
        cork: Cork,
        allowed_origins: list[str] | tuple[str, ...] = (),
        trusted_proxies: list[str] | tuple[str, ...] = (),
    ):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.create_server((host, port), family=family, backlog=1024, reuse_port=False)
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()[:2]
        self.on_websocket = on_websocket
        self.on_http = on_http
        self.max_frame_bytes = max_frame_bytes
        self.backlog_max = backlog_max
        self.head_timeout_s = head_timeout_s
        self.cork = cork
        self.allowed_origins = allowed_origins
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.accepting = True
        self.nursery: trio.Nursery | None = None
        self._last_accept_warning = float("-inf")

    def url(self, scheme: str) -> str:
        host, port = self.address
        if ":" in host:
            host = f"[{host}]"
        path = "/ws" if scheme == "ws" else ""
        return f"{scheme}://{host}:{port}{path}"

    async def serve(self, conn_nursery: trio.Nursery, flush_nursery: trio.Nursery, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.nursery = conn_nursery
        self._spawn_flusher = flush_nursery.start_soon
        task_status.started()
        try:
            while self.accepting:
                try:
                    await trio.lowlevel.wait_readable(self.sock)
                except trio.ClosedResourceError:
                    return  # stop() closed the listening socket
                try:
                    client, addr = self.sock.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:  # e.g. EMFILE: back off instead of spinning, and say so rarely
                    now = trio.current_time()
                    if now - self._last_accept_warning > 10:
                        self._last_accept_warning = now
                        log.warning("accept failed (connections wait in the listen queue): %s", exc)
                    await trio.sleep(0.1)
                    continue
                client.setblocking(False)
                if client.family in (socket.AF_INET, socket.AF_INET6):
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn_nursery.start_soon(self._route, client, f"{addr[0]}:{addr[1]}")
        finally:
            self.stop()

    def stop(self) -> None:
        if self.accepting or self.sock.fileno() >= 0:
            self.accepting = False
            try:
                trio.lowlevel.notify_closing(self.sock)
            except Exception:  # noqa: BLE001 - already closed
                pass
            self.sock.close()

    async def _read_head(self, client: socket.socket) -> bytes:
        buf = b""
        with trio.move_on_after(self.head_timeout_s):
            while b"\r\n\r\n" not in buf and len(buf) < MAX_HEAD:
                await trio.lowlevel.wait_readable(client)
                try:
                    chunk = client.recv(MAX_HEAD)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                buf += chunk
        return buf

    async def _route(self, client: socket.socket, peer: str) -> None:
        try:
            head = await self._read_head(client)
        except OSError:
            head = b""
        if b"\r\n\r\n" not in head:
            trio.lowlevel.notify_closing(client)
            client.close()
            return
        if not _is_websocket_upgrade(head):
            stream = trio.SocketStream(trio.socket.from_stdlib_socket(client))
            await self.on_http(stream, head)
            return
        conn, accepted = self._handshake(client, head, peer)
        # Nothing of the handshake (head, request, response) stays alive with the connection.
        del head
        if accepted:
            await self.on_websocket(conn)
        elif not conn.closed:
            conn._start_closing()
            await conn.serve(_ignore)

    def _handshake(self, client: socket.socket, head: bytes, peer: str) -> tuple[Connection, bool]:
        """Answer the opening handshake. A throwaway protocol object parses it, so the request and
        response it keeps are freed at once; the connection gets a fresh one in the OPEN state.
        (A client may not send frames before it has the 101, so nothing past the head is kept.)"""
        shake = ServerProtocol(max_size=self.max_frame_bytes, logger=_ws_log)
        shake.receive_data(head[: head.index(b"\r\n\r\n") + 4])
        events = shake.events_received()
        if not events or not isinstance(events[0], Request):
            conn = Connection(client, shake, self.backlog_max, self._spawn_flusher, peer, self.cork)
            conn.abort()
            return conn, False
        response = shake.accept(events[0]) if upgrade_allowed(events[0].headers, self.allowed_origins) else shake.reject(403, "Origin not allowed\n")
        shake.send_response(response)
        accepted = response.status_code == 101
        proto = ServerProtocol(state=State.OPEN, max_size=self.max_frame_bytes, logger=_ws_log) if accepted else shake
        conn = Connection(client, proto, self.backlog_max, self._spawn_flusher, forwarded_peer(events[0].headers, peer, self.trusted_proxies), self.cork)
        for chunk in shake.data_to_send():
            if chunk:
                conn.send_frame(chunk)
        return conn, accepted


async def _ignore(conn: Connection, payload: bytes, opcode: int) -> None:
    return None


def _is_websocket_upgrade(head: bytes) -> bool:
    line_end = head.find(b"\r\n")
    parts = head[:line_end].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET":
        return False
    path = parts[1].split(b"?", 1)[0]
    if path != WS_PATH:
        return False
    lowered = head.lower()
    return b"\r\nupgrade:" in lowered and b"websocket" in lowered

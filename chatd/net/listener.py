"""The listening socket: one address for HTTP and WebSocket.

A new connection's HTTP request head is read here. A WebSocket upgrade on
`/ws` is handshaken with the `websockets` sans-I/O protocol (no extensions, so
no permessage-deflate) and its connection served by chatd's own reader
(chatd.net.connection); anything else is handed, bytes already read included,
to the HTTP side (hypercorn, chatd.http.bridge).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable

import trio
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from .connection import CLOSE_GRACE_S, Connection, Cork, ws_log
from .forwarded import forwarded_peer, parse_networks
from .origin import upgrade_allowed

log = logging.getLogger("chatd.transport")

TASK_NAME = "chatd.net.listener.Listener._serve_client"
WS_PATH = b"/ws"
MAX_HEAD = 16384
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 33\r\nconnection: close\r\n\r\nnot a valid WebSocket handshake.\n"


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
        max_fragments: int = 64,
        max_connections_per_ip: int = 0,
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
        self.max_fragments = max_fragments
        self.max_per_ip = max_connections_per_ip
        self.per_ip: dict[str, int] = {}  # open connections by client address
        self.cork = cork
        self.allowed_origins = allowed_origins
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.accepting = True
        self.nursery: trio.Nursery | None = None
        self._last_accept_warning = float("-inf")
        self._last_cap_warning = float("-inf")

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
                ip = addr[0]
                if not self._admit(ip):
                    client.close()  # over server.max_connections_per_ip: closed at once
                    continue
                client.setblocking(False)
                if client.family in (socket.AF_INET, socket.AF_INET6):
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # One name for every connection's task: trio would make a string for each.
                conn_nursery.start_soon(self._serve_client, client, ip, f"{ip}:{addr[1]}", name=TASK_NAME)
        finally:
            self.stop()

    def _admit(self, ip: str) -> bool:
        """Count a new connection from ip; False (and a rate-limited log line) when ip is at its cap."""
        count = self.per_ip.get(ip, 0)
        if self.max_per_ip and count >= self.max_per_ip:
            now = trio.current_time()
            if now - self._last_cap_warning > 10:
                self._last_cap_warning = now
                log.warning("refusing connections from %s: it has %d open (server.max_connections_per_ip)", ip, count)
            return False
        self.per_ip[ip] = count + 1
        return True

    async def _serve_client(self, client: socket.socket, ip: str, peer: str) -> None:
        try:
            conn = await self._route(client, peer)
            if conn is not None:
                # Awaited here, not in _route, so that routing's frame is not kept for the
                # connection's life (docs/memory.md).
                await self.on_websocket(conn)
        except Exception:  # a bug in serving one connection ends that connection, never the server
            log.exception("serving %s failed; its connection is closed", peer)
        finally:
            count = self.per_ip.pop(ip, 1) - 1
            if count > 0:
                self.per_ip[ip] = count

    def stop(self) -> None:
        if self.accepting or self.sock.fileno() >= 0:
            self.accepting = False
            try:
                trio.lowlevel.notify_closing(self.sock)
            except Exception:  # noqa: BLE001 - already closed
                pass
            self.sock.close()

    async def _read_head(self, client: socket.socket) -> bytes:
        """The request head and whatever came after it; stops at MAX_HEAD, EOF or the head deadline."""
        buf = b""
        with trio.move_on_after(self.head_timeout_s):
            while _head_end(buf) < 0 and len(buf) < MAX_HEAD:
                await trio.lowlevel.wait_readable(client)
                try:
                    chunk = client.recv(MAX_HEAD)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                buf += chunk
        return buf

    async def _route(self, client: socket.socket, peer: str) -> Connection | None:
        """Read the request head and answer it; returns the connection of an accepted WebSocket
        upgrade, to serve, or None when this connection is done (HTTP, refused, unreadable)."""
        try:
            head = await self._read_head(client)
        except OSError:
            head = b""
        end = _head_end(head)
        if end < 0:
            if len(head) >= MAX_HEAD:
                await _refuse(client, b"431 Request Header Fields Too Large")
            else:
                trio.lowlevel.notify_closing(client)
                client.close()
            return None
        if not _is_websocket_upgrade(head[:end]):
            stream = trio.SocketStream(trio.socket.from_stdlib_socket(client))
            await self.on_http(stream, head)
            return None
        conn, accepted = self._handshake(client, head, end, peer)
        # Nothing of the handshake (head, request, response) stays alive with the connection.
        del head
        if accepted:
            return conn
        if not conn.closed:
            # Refused: the answer is on its way; end the write side once it is out, and
            # read what the client still sends until it closes or the grace runs out.
            conn._start_closing()
            if not conn.backlog:
                try:
                    client.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            await conn.serve(_ignore)
        return None

    def _handshake(self, client: socket.socket, head: bytes, end: int, peer: str) -> tuple[Connection, bool]:
        """Answer the opening handshake. A throwaway protocol object parses it, so the request and
        response it keeps are freed at once; the connection gets a fresh one in the OPEN state.
        Bytes after the head (frames a client sent right behind its request) go to that one."""
        shake = ServerProtocol(max_size=self.max_frame_bytes, logger=ws_log)
        shake.receive_data(_crlf(head[:end]))
        events = shake.events_received()
        if not events or not isinstance(events[0], Request):
            # The parser rejected the request: send the answer it prepared (or a plain 400), then close.
            conn = self._connection(client, shake, peer)
            if not _send_prepared(conn, shake):
                conn.send_frame(BAD_REQUEST)
            return conn, False
        response = shake.accept(events[0]) if upgrade_allowed(events[0].headers, self.allowed_origins) else shake.reject(403, "Origin not allowed\n")
        shake.send_response(response)
        accepted = response.status_code == 101
        proto = ServerProtocol(state=State.OPEN, max_size=self.max_frame_bytes, logger=ws_log) if accepted else shake
        conn = self._connection(client, proto, forwarded_peer(events[0].headers, peer, self.trusted_proxies))
        _send_prepared(conn, shake)
        if accepted:
            conn.early = head[end:]
        return conn, accepted

    def _connection(self, client: socket.socket, proto: ServerProtocol, peer: str) -> Connection:
        return Connection(client, proto, self.backlog_max, self._spawn_flusher, peer, self.cork, self.max_fragments)


def _send_prepared(conn: Connection, shake: ServerProtocol) -> bool:
    """Write the handshake response the protocol prepared (its end of stream is left to the
    caller); False when it prepared none."""
    sent = False
    for chunk in shake.data_to_send():
        if chunk:
            conn.send_frame(chunk)
            sent = True
    return sent


async def _refuse(client: socket.socket, status: bytes) -> None:
    """Answer a request that cannot be read with `status` and close: the answer is sent, the write
    side shut, and what the client still sends is read briefly, so that the close does not turn
    into a reset that could destroy the answer before the client has read it."""
    response = b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    try:
        with trio.move_on_after(CLOSE_GRACE_S):
            while response:
                try:
                    response = response[client.send(response) :]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(client)
            client.shutdown(socket.SHUT_WR)
            drained = 0
            while drained < 1 << 20:
                await trio.lowlevel.wait_readable(client)
                try:
                    chunk = client.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                drained += len(chunk)
    except OSError:
        pass
    finally:
        trio.lowlevel.notify_closing(client)
        client.close()


async def _ignore(conn: Connection, payload: bytes, opcode: int) -> None:
    return None


def _head_end(buf: bytes) -> int:
    """Where the request head in buf ends (after its empty line), or -1. Lines may end in CRLF or a bare LF."""
    i = buf.find(b"\n\r\n")
    j = buf.find(b"\n\n")
    if i >= 0 and (j < 0 or i < j):
        return i + 3
    return j + 2 if j >= 0 else -1


def _crlf(head: bytes) -> bytes:
    """The head with every line ending as CRLF."""
    return head.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _is_websocket_upgrade(head: bytes) -> bool:
    line_end = head.find(b"\n")
    parts = head[:line_end].rstrip(b"\r").split(b" ")
    if len(parts) != 3 or parts[0] != b"GET":
        return False
    path = parts[1].split(b"?", 1)[0]
    if path != WS_PATH:
        return False
    lowered = head.lower()
    return b"\nupgrade:" in lowered and b"websocket" in lowered

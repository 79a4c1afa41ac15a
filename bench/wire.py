"""A lean WebSocket client for the load generator: raw non-blocking sockets and one epoll loop.

chatd.client (trio-websocket) costs tens of microseconds of CPU per message on the
client side, which on a 2-core machine takes CPU away from the server being
measured. This client does the least a client can: it writes masked frames with
one send() each, reads with one recv() per readiness event, splits frames by
hand and decodes only the envelope of each (the `data` stays raw bytes until a
scenario asks for it). There are no tasks and no scheduler: callbacks run from
one epoll loop, and every wait is bounded by a deadline.

Timestamps are time.perf_counter() (CLOCK_MONOTONIC on Linux, so comparable
between the processes of one run). A frame's receive time is taken right after
the recv() that read it, so it never precedes its arrival; when the loop has
many ready sockets, it includes the time the loop took to reach this one.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import os
import random
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msgspec

try:  # the C helper that ships with the `websockets` library (a chatd dependency)
    from websockets.speedups import apply_mask as _apply_mask
except ImportError:  # pragma: no cover - pure Python fallback

    def _apply_mask(data: bytes, mask: bytes) -> bytes:
        n = len(data)
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


now = time.perf_counter
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_H1 = struct.Struct("!BB")
_H2 = struct.Struct("!BBH")
_H8 = struct.Struct("!BBQ")
_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")
_getrandbits = random.getrandbits
_json_encode = msgspec.json.Encoder().encode

TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10


class Envelope(msgspec.Struct):
    """A response or a push; `data` is left undecoded."""

    cmd: str | None = None
    id: str | int | None = None
    ok: bool | None = None
    data: msgspec.Raw = msgspec.Raw(b"")
    error: dict[str, Any] | None = None


_decode_env = msgspec.json.Decoder(Envelope).decode


def decode_data(env: Envelope, type: Any = Any) -> Any:
    raw = bytes(env.data)
    return msgspec.json.decode(raw, type=type) if raw else None


def client_frame(payload: bytes, opcode: int = TEXT) -> bytes:
    """A final, masked client frame."""
    n = len(payload)
    mask = _getrandbits(32).to_bytes(4, "big")
    if n < 126:
        head = _H1.pack(0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = _H2.pack(0x80 | opcode, 0x80 | 126, n)
    else:
        head = _H8.pack(0x80 | opcode, 0x80 | 127, n)
    return head + mask + _apply_mask(payload, mask)


class WireError(Exception):
    pass


def parse_url(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise WireError(f"expected a ws:// URL, got {url!r}")
    return parts.hostname, parts.port or 80, parts.path or "/ws"


# -- the loop ------------------------------------------------------------------------------


class Loop:
    """One epoll, a timer heap, and the connections registered on it."""

    def __init__(self) -> None:
        self.ep = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self.watchers: dict[int, Callable[[], None]] = {}
        self._seq = 0

    def watch(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call on_readable() from the loop whenever fd (e.g. a pipe to the parent process) is readable."""
        self.watchers[fd] = on_readable
        self.ep.register(fd, select.EPOLLIN)

    def unwatch(self, fd: int) -> None:
        if self.watchers.pop(fd, None) is not None:
            self.ep.unregister(fd)

    def close(self) -> None:
        for conn in list(self.conns.values()):
            conn.close()
        self.ep.close()

    def call_at(self, when: float, fn: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self.timers, (when, self._seq, fn))

    def run(self, until: Callable[[], bool], deadline: float) -> bool:
        """Serve sockets and timers until until() is true (returns True) or the deadline passes (False)."""
        ep_poll, conns, timers = self.ep.poll, self.conns, self.timers
        EPOLLIN, EPOLLOUT = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR, select.EPOLLOUT
        while True:
            t = now()
            while timers and timers[0][0] <= t:
                heapq.heappop(timers)[2]()
            if until():
                return True
            if t >= deadline:
                return False
            wait = deadline - t
            if timers:
                wait = min(wait, timers[0][0] - t)
            events = ep_poll(max(wait, 0.0), 4096)
            t = now()
            for fd, ev in events:
                conn = conns.get(fd)
                if conn is None:
                    watcher = self.watchers.get(fd)
                    if watcher is not None:
                        watcher()
                    continue
                if ev & EPOLLOUT:
                    conn._flush()
                if ev & EPOLLIN:
                    conn._readable(t)

    def sleep(self, seconds: float) -> None:
        """Keep serving sockets and timers for `seconds`."""
        self.run(lambda: False, now() + seconds)

    def sleep_until(self, when: float) -> None:
        """Keep serving sockets and timers until the time `when` (until() is only checked on events)."""
        self.run(lambda: False, when)


# -- one connection ----------------------------------------------------------------------------


PushCallback = Callable[["Conn", Envelope, float], None]  # (conn, push, receive time)
Callback = Callable[["Conn", Envelope, float, float], None]  # (conn, response, receive time, send time)


class Conn:
    """One WebSocket connection speaking chatd's JSON envelope."""

    __slots__ = (
        "loop", "sock", "fd", "rbuf", "wbuf", "state", "hs_accept", "pending", "on_push", "on_open", "on_close",
        "next_id", "user", "token", "name", "frames_in", "bytes_in", "close_code", "tag", "raw_push",
    )

    def __init__(self, loop: Loop, on_push: PushCallback | None = None):
        self.loop = loop
        self.sock: socket.socket | None = None
        self.fd = -1
        self.rbuf = b""
        self.wbuf = bytearray()
        self.state = "new"  # new -> handshake -> open -> closed
        self.hs_accept = b""
        self.pending: dict[str, tuple[Callback, float]] = {}
        self.on_push = on_push
        self.on_open: Callable[[Conn], None] | None = None
        self.on_close: Callable[[Conn], None] | None = None
        self.next_id = 0
        self.user: dict[str, Any] | None = None
        self.token = ""
        self.name = ""
        self.frames_in = 0
        self.bytes_in = 0
        self.close_code: int | None = None
        self.tag: Any = None
        # A fast path for receivers of many pushes: raw_push(conn, payload, t) sees each data frame
        # first and returns True when it handled it (then the envelope is never decoded).
        self.raw_push: Callable[[Conn, bytes, float], bool] | None = None

    # -- opening ---------------------------------------------------------------------------

    def start(self, host: str, port: int, path: str, timeout: float = 10.0) -> None:
        """Connect (blocking, bounded by timeout) and send the upgrade request; the 101 is read by the loop."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16))
        self.hs_accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        sock.sendall(request)
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()
        self.state = "handshake"
        self.loop.conns[self.fd] = self
        self.loop.ep.register(self.fd, select.EPOLLIN)

    # -- writing ---------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.state == "closed":
            return
        if self.wbuf:
            self.wbuf += data
            return
        try:
            sent = self.sock.send(data)  # type: ignore[union-attr]
        except BlockingIOError:
            sent = 0
        except OSError:
            self.close()
            return
        if sent < len(data):
            self.wbuf += data[sent:]
            self.loop.ep.modify(self.fd, select.EPOLLIN | select.EPOLLOUT)

    def _flush(self) -> None:
        if not self.wbuf or self.state == "closed":
            return
        try:
            sent = self.sock.send(self.wbuf)  # type: ignore[union-attr]
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        del self.wbuf[:sent]
        if not self.wbuf:
            self.loop.ep.modify(self.fd, select.EPOLLIN)

    def request(self, cmd: str, data: Any, callback: Callback, *, payload: bytes | None = None) -> float:
        """Send a request; callback(conn, response, receive time, send time) runs on its response. Returns the send time."""
        self.next_id += 1
        rid = str(self.next_id)
        if payload is None:
            payload = _json_encode({"cmd": cmd, "id": rid, "data": data})
        t = now()
        self.pending[rid] = (callback, t)
        self.write(client_frame(payload))
        return t

    def request_raw(self, rid: str, payload: bytes, callback: Callback) -> float:
        """Send a pre-encoded request whose envelope id is `rid`."""
        t = now()
        self.pending[rid] = (callback, t)
        self.write(client_frame(payload))
        return t

    def close(self) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        if self.sock is not None:
            self.loop.conns.pop(self.fd, None)
            try:
                self.loop.ep.unregister(self.fd)
            except (OSError, ValueError):
                pass
            self.sock.close()
        if self.on_close is not None:
            self.on_close(self)

    # -- reading ---------------------------------------------------------------------------

    def _readable(self, t: float) -> None:
        try:
            data = self.sock.recv(262144)  # type: ignore[union-attr]
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        # The receive time is taken per recv(), not per epoll wake-up: while the loop works
        # through many ready sockets, later sockets may already hold frames that arrived
        # after the wake-up. So latencies include the generator's own delay (an upper bound).
        t = now()
        self.bytes_in += len(data)
        buf = self.rbuf + data if self.rbuf else data
        if self.state == "handshake":
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.rbuf = buf
                return
            head, buf = buf[:end], buf[end + 4 :]
            if not head.startswith(b"HTTP/1.1 101") or self.hs_accept not in head:
                self.close()
                raise WireError(f"the WebSocket upgrade was refused: {head[:200]!r}")
            self.state = "open"
            if self.on_open is not None:
                self.on_open(self)
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            start = pos + 2
            if length == 126:
                if n - pos < 4:
                    break
                length = _U16.unpack_from(buf, start)[0]
                start += 2
            elif length == 127:
                if n - pos < 10:
                    break
                length = _U64.unpack_from(buf, start)[0]
                start += 8
            if b1 & 0x80:  # a server never masks; skip the key if one did
                start += 4
            end = start + length
            if end > n:
                break
            payload = buf[start:end]
            pos = end
            opcode = b0 & 0x0F
            if opcode == TEXT or opcode == BINARY:
                self.frames_in += 1
                if self.raw_push is None or not self.raw_push(self, payload, t):
                    self._dispatch(payload, t)
            elif opcode == PING:
                self.write(client_frame(payload, PONG))
            elif opcode == CLOSE:
                self.close_code = _U16.unpack_from(payload, 0)[0] if len(payload) >= 2 else 1005
                self.write(client_frame(payload[:2], CLOSE))
                self.close()
                return
        self.rbuf = buf[pos:] if pos < n else b""

    def _dispatch(self, payload: bytes, t: float) -> None:
        env = _decode_env(payload)
        if env.ok is not None and env.id is not None:
            entry = self.pending.pop(str(env.id), None)
            if entry is not None:
                entry[0](self, env, t, entry[1])
                return
        if self.on_push is not None:
            self.on_push(self, env, t)


# -- helpers for scenarios ----------------------------------------------------------------------


def open_many(
    loop: Loop,
    url: str,
    logins: list[dict[str, Any]],
    *,
    on_push: PushCallback | None = None,
    batch: int = 500,
    timeout: float = 60.0,
) -> list[Conn]:
    """Open one connection per login (each {"token": ...} or {"username", "password"}), log each in.

    A login may name its own server, {"url": ...} (the node a target put it on, bench/target.py);
    the others connect to `url`. Connections are opened in batches; each batch must be upgraded and logged in
    before the deadline, else WireError. Returns the connections, in order.
    """
    addresses = {url: parse_url(url)}
    conns: list[Conn] = []
    deadline = now() + timeout
    errors: list[str] = []
    for lo in range(0, len(logins), batch):
        chunk = logins[lo : lo + batch]
        done = [0]

        def on_login(conn: Conn, env: Envelope, t: float, t_sent: float) -> None:
            done[0] += 1
            if not env.ok:
                errors.append(f"{conn.name}: {env.error}")
                return
            data = decode_data(env)
            conn.user, conn.token = data["user"], data["token"]

        def on_open(conn: Conn) -> None:
            conn.request("login", conn.tag, on_login)

        for creds in chunk:
            conn = Conn(loop, on_push)
            conn.name = creds.get("username") or creds.get("name", "")
            conn.tag = {k: v for k, v in creds.items() if k in ("token", "username", "password", "device")}
            conn.on_open = on_open
            at = creds.get("url") or url
            if at not in addresses:
                addresses[at] = parse_url(at)
            conn.start(*addresses[at])
            conns.append(conn)
        ok = loop.run(lambda: done[0] >= len(chunk) or bool(errors), deadline)
        if errors:
            raise WireError(f"login failed: {errors[0]}")
        if not ok:
            raise WireError(f"timed out opening connections ({len(conns) - len(chunk) + done[0]} of {len(logins)} logged in)")
    for conn in conns:
        conn.tag = None
    return conns


def call(loop: Loop, conn: Conn, cmd: str, data: Any, timeout: float = 30.0) -> tuple[Envelope, float]:
    """One request, waited for: returns (response, latency in seconds)."""
    box: list[Any] = []

    def on_reply(c: Conn, env: Envelope, t: float, t_sent: float) -> None:
        box.append((env, t - t_sent))

    conn.request(cmd, data, on_reply)
    if not loop.run(lambda: bool(box), now() + timeout):
        raise WireError(f"{cmd}: no response within {timeout} s")
    return box[0]


def check_ok(env: Envelope) -> Any:
    if not env.ok:
        raise WireError(f"{env.cmd}: {env.error}")
    return decode_data(env)


def decode_ok(env: Envelope, type: Any) -> Any:
    """The response's data decoded as `type`; WireError if it is an error response."""
    if not env.ok:
        raise WireError(f"{env.cmd}: {env.error}")
    return msgspec.json.decode(bytes(env.data), type=type)

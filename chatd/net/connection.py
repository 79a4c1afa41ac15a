"""One WebSocket connection: its reader, and the one write path every frame takes.

Writes: `Connection.send_frame` tries the socket's non-blocking send at once,
without a task hop. What the socket cannot take waits, in order, in the
connection's bounded backlog, drained by a flusher task that is started only
when a send would block. Data, pongs and the close frame all take this one
path, so frames never interleave.

While the `Cork` is held (the delivery pipeline holds it while the submitters
of one batch answer and its pushes go out), frames wait per connection
instead, and at release each connection's frames go out with one send(): a
group member then gets the messages of a whole batch in one system call
instead of one each.
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
from websockets.protocol import State
from websockets.server import ServerProtocol

from ..errors import CLOSE_BACKLOG, CLOSE_TOO_BIG

log = logging.getLogger("chatd.transport")
ws_log = logging.getLogger("chatd.ws")  # the websockets protocol's own log
ws_log.setLevel(logging.WARNING)

CLOSE_GRACE_S = 2.0
SLOW_CLOSE_GRACE_S = 30.0  # for a slow consumer to read the rest of a frame and its 4008
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


def _rest_of_frame(buf: memoryview, sent: int) -> int:
    """Bytes left of the frame that the first `sent` bytes of `buf` (which starts at a frame
    boundary) end in: 0 when they end on a boundary. Server frames are unmasked."""
    pos, end = 0, len(buf)
    while pos < sent:
        if end - pos < 2:
            return end - sent
        n = buf[pos + 1] & 0x7F
        if n == 126:
            hdr = 4
            n = int.from_bytes(buf[pos + 2 : pos + 4], "big") if end - pos >= 4 else end
        elif n == 127:
            hdr = 10
            n = int.from_bytes(buf[pos + 2 : pos + 10], "big") if end - pos >= 10 else end
        else:
            hdr = 2
        pos += hdr + n
    return min(pos, end) - sent if pos > sent else 0


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

    __slots__ = ("sock", "proto", "pending", "backlog", "backlog_bytes", "backlog_max", "head_sent", "flushing", "closing", "closed", "session", "peer", "early", "max_fragments", "_spawn", "_cork", "_close_deadline", "_scope", "__weakref__")

    def __init__(self, sock: socket.socket, proto: ServerProtocol, backlog_max: int, spawn: Callable[..., Any], peer: str, cork: Cork, max_fragments: int = 64):
        self.sock = sock
        self.proto = proto
        self.pending: bytes | list[bytes] | None = None  # frames held by the cork: one, or a list
        self._cork = cork
        # Made when a send first blocks. Every entry starts at a frame boundary; of the
        # first, head_sent bytes are already on the wire.
        self.backlog: deque[memoryview] | None = None
        self.backlog_bytes = 0
        self.backlog_max = backlog_max
        self.head_sent = 0
        self.flushing = False
        self.closing = False
        self.closed = False
        self.session: Any = None
        self.peer = peer
        self.early = b""  # bytes that came with the upgrade request, after its head
        self.max_fragments = max_fragments
        self._spawn = spawn
        self._close_deadline = float("inf")
        self._scope: trio.CancelScope | None = None  # the close timer's, while it runs

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
            self._enqueue(memoryview(frame), sent)

    def _enqueue(self, view: memoryview, sent: int = 0) -> None:
        if self.backlog is None:
            self.backlog = deque()
        if not self.backlog:
            self.head_sent = sent
        self.backlog.append(view)
        self.backlog_bytes += len(view) - sent
        if self.backlog_bytes > self.backlog_max and not self.closing:
            self._overflow()
            return
        if not self.flushing:
            self.flushing = True
            self._spawn(self._flush)

    def _overflow(self) -> None:
        """A consumer that cannot keep up: drop every frame it has not started receiving, so that
        the close frame comes right after the frame on the wire, and close it."""
        assert self.backlog is not None
        head, sent = self.backlog[0], self.head_sent
        rest = _rest_of_frame(head, sent)
        self.backlog = deque([head[: sent + rest]]) if rest else deque()
        self.backlog_bytes = rest
        log.info("closing %s: outgoing backlog passed %d bytes", self.peer, self.backlog_max)
        self.close(CLOSE_BACKLOG, "backlog overflow: reconnect and catch up by seq")
        # The close frame waits for room in the socket's buffer, which a slow reader frees
        # slowly: it gets longer than the usual grace to read it (the usual grace applies
        # again once the close frame is out).
        if not self.closed and self.backlog:
            self._close_deadline = trio.current_time() + SLOW_CLOSE_GRACE_S
            if self._scope is not None:
                self._scope.deadline = self._close_deadline

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
                    view, done = self.backlog[0], self.head_sent
                    try:
                        sent = self.sock.send(view[done:] if done else view)
                    except BlockingIOError:
                        break
                    except OSError:
                        self.abort()
                        return
                    self.backlog_bytes -= sent
                    if done + sent < len(view):
                        self.head_sent = done + sent
                        break
                    self.backlog.popleft()
                    self.head_sent = 0
                if self.closing and not self.backlog:
                    self._close_sent()
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

    def _close_sent(self) -> None:
        """The close frame is out: from now on the peer has the usual grace to answer it."""
        deadline = trio.current_time() + CLOSE_GRACE_S
        if deadline < self._close_deadline:
            self._close_deadline = deadline
            if self._scope is not None:
                self._scope.deadline = deadline

    def _start_closing(self) -> None:
        self.closing = True
        self._close_deadline = trio.current_time() + CLOSE_GRACE_S
        self._spawn(self._close_timer)

    async def _close_timer(self) -> None:
        """Ends the connection at its close deadline, whatever the peer still owes.

        Only a closing connection has one: the reader waits for data without a deadline
        of its own, so an idle connection holds no cancel scope (docs/memory.md).
        _close_sent and _overflow move the deadline; abort() ends the timer."""
        try:
            with trio.CancelScope(deadline=self._close_deadline) as self._scope:
                if not self.closed:
                    await trio.sleep_forever()
        finally:
            self._scope = None
        self.abort()

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
        self.early = b""
        if self._scope is not None:
            self._scope.cancel()  # the close timer has nothing left to do
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()

    # -- reading -----------------------------------------------------------------------

    async def serve(self, on_message: Callable[[Connection, bytes, int], Awaitable[None]]) -> None:
        """Read frames until the connection ends; each complete message goes to on_message(self, payload, opcode).

        A fragmented message is assembled in one buffer, bounded by the protocol's
        max_size; it may have at most max_fragments fragments (empty ones count),
        or the connection is closed with 1009."""
        proto = self.proto
        message = bytearray()
        fragments = 0  # fragments of the message being assembled; 0 when none is
        opcode = TEXT
        data, self.early = self.early, b""  # frames sent along with the upgrade request
        try:
            while not self.closed:
                if not data:
                    # No deadline here: once closing, the close timer ends the connection.
                    await trio.lowlevel.wait_readable(self.sock)
                    try:
                        data = self.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        break
                    if not data:
                        proto.receive_eof()
                if data:
                    proto.receive_data(data)
                for event in proto.events_received():
                    if not isinstance(event, Frame) or self.closing:
                        continue
                    op = event.opcode
                    if op is Opcode.TEXT or op is Opcode.BINARY:
                        opcode = TEXT if op is Opcode.TEXT else BINARY
                        if event.fin:
                            await on_message(self, event.data, opcode)
                        else:
                            message[:] = event.data
                            fragments = 1
                    elif op is Opcode.CONT:
                        fragments += 1
                        if fragments > self.max_fragments:
                            log.info("closing %s: a message in more than %d fragments", self.peer, self.max_fragments)
                            message = bytearray()
                            self.close(CLOSE_TOO_BIG, f"a message may have at most {self.max_fragments} fragments")
                            continue
                        message += event.data
                        if event.fin:
                            payload, message, fragments = bytes(message), bytearray(), 0
                            await on_message(self, payload, opcode)
                if proto.close_expected() and not self.closing:
                    self._start_closing()
                self._write_proto_output()
                if not data or proto.state is State.CLOSED:
                    break
                data = b""
        except (trio.ClosedResourceError, OSError):
            pass
        finally:
            self.abort()


def close_of(conn: Connection) -> tuple[int | None, str, str]:
    """How a connection ended: (close code, reason, "client" | "server" | "network"); no code
    when the peer vanished without a closing handshake."""
    proto = conn.proto
    if proto.close_rcvd is not None and (proto.close_rcvd_then_sent or proto.close_sent is None):
        return proto.close_rcvd.code, proto.close_rcvd.reason, "client"
    if proto.close_sent is not None:
        return proto.close_sent.code, proto.close_sent.reason, "server"
    return None, "", "network"


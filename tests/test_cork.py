"""The cork on real sockets: while it is held, frames wait in their connection, in order; at
release each connection's frames go out together; a connection closing while it is held sends
them before its close frame."""

from __future__ import annotations

import socket

import pytest
from websockets.protocol import State
from websockets.server import ServerProtocol

from chatd.net.connection import Connection, Cork, ws_frame


def _pair(cork: Cork) -> tuple[Connection, socket.socket]:
    server, client = socket.socketpair()
    server.setblocking(False)
    client.setblocking(False)
    proto = ServerProtocol(state=State.OPEN)
    spawned = []
    return Connection(server, proto, 1 << 20, spawned.append, "test", cork), client


def _read(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1 << 20)
    except BlockingIOError:
        return b""


async def test_held_frames_go_out_in_order_at_release():
    cork = Cork()
    a, a_peer = _pair(cork)
    b, b_peer = _pair(cork)
    a.send_frame(ws_frame(b"before"))
    assert _read(a_peer) == ws_frame(b"before")
    cork.held = True
    for n in range(3):
        a.send_frame(ws_frame(b"a%d" % n))
    b.send_frame(ws_frame(b"b0"))
    assert _read(a_peer) == b"" and _read(b_peer) == b""
    assert cork.dirty == [a, b]
    cork.release()
    assert _read(a_peer) == ws_frame(b"a0") + ws_frame(b"a1") + ws_frame(b"a2")
    assert _read(b_peer) == ws_frame(b"b0")
    assert a.pending is None and cork.dirty == [] and not cork.held
    a.send_frame(ws_frame(b"after"))
    assert _read(a_peer) == ws_frame(b"after")


@pytest.mark.parametrize("peer_closed_first", [False, True])
async def test_closing_while_held_sends_what_was_held(peer_closed_first):
    cork = Cork()
    conn, peer = _pair(cork)
    cork.held = True
    conn.send_frame(ws_frame(b"last words"))
    if peer_closed_first:
        # The peer's close arrives; answering it ends the handshake and the TCP connection.
        conn.proto.receive_data(b"\x88\x82abcd" + bytes(x ^ y for x, y in zip(b"\x03\xe8", b"ab")))
        conn._write_proto_output()
        assert conn.closed
    else:
        # Our close frame waits behind the held frame, and both go out at release.
        conn.close(1001, "going away")
        assert _read(peer) == b""
        cork.release()
    data = _read(peer)
    assert data.startswith(ws_frame(b"last words")) and data[len(ws_frame(b"last words")) :][0] == 0x88
    cork.release()  # nothing is left to send

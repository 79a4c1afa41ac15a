"""The transport's limits, over real sockets against the real server (docs/security-transport.part.md).

Read deadlines on the HTTP side, the cap on connections per client address,
descriptors running short, fragment counts, the slow consumer's 4008, and the
small defects of the request head and the upgrade.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import resource
import socket
import struct

import msgspec
import pytest
import trio
import trio.testing

from chatd.net.connection import CLOSE_GRACE_S
from chatd.server import raise_fd_limit

from .bystander import watching
from .conftest import PASSWORD
from .bad_input import RawSocket
from .test_fanout import RawClient
from .test_files import token_of

TEXT, CONT = 0x1, 0x0
UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: chatd.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def connect(harness, source: str | None = None) -> trio.SocketStream:
    host, port = harness.server.listener.address
    return await trio.open_tcp_stream(host, port, local_address=source)


async def read_response(stream: trio.SocketStream) -> bytes:
    """One whole response with a Content-Length body."""
    buf = b""
    with trio.fail_after(5):
        while True:
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                length = [line.split(b":")[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
                if len(body) >= int(length[0]):
                    return buf
            chunk = await stream.receive_some(65536)
            assert chunk, buf
            buf += chunk


async def read_until_eof(stream: trio.SocketStream, timeout: float) -> bytes:
    """Everything the server sends until it closes; fails if it does not close within timeout."""
    buf = b""
    with trio.fail_after(timeout):
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:  # a reset: whatever came before it is what we got
                return buf
            if not chunk:
                return buf
            buf += chunk


def masked(payload: bytes, opcode: int = TEXT, fin: bool = True) -> bytes:
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    head = struct.pack("!BB", b0, 0x80 | n) if n < 126 else struct.pack("!BBH", b0, 0x80 | 126, n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def whole_frame(buf: bytes) -> bytes | None:
    """The payload of the (unmasked, server) frame at the start of buf, once all of it is there."""
    if len(buf) < 2:
        return None
    n, off = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        (n,) = struct.unpack("!H", buf[2:4])
        off = 4
    return buf[off : off + n] if len(buf) >= off + n else None


# -- defect 2: deadlines on every read of the HTTP side; connections per address; descriptors --


@pytest.mark.parametrize("config_overrides", [{"server": {"http_body_timeout_s": 1.0}}])
async def test_a_body_sent_a_byte_at_a_time_is_cut_off_at_the_body_deadline(harness):
    stream = await connect(harness)
    async with watching(harness, "a login body sent a byte at a time"), stream:
        await stream.send_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n")
        start = trio.current_time()
        got = b""
        with trio.fail_after(5):
            while True:
                try:
                    await stream.send_all(b" ")
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    break
                with trio.move_on_after(0.2):
                    chunk = await stream.receive_some(65536)
                    got += chunk
                    if not chunk:
                        break
        assert trio.current_time() - start < 3
        assert got.startswith(b"HTTP/1.1 408"), got


@pytest.mark.parametrize("config_overrides", [{"server": {"http_keepalive_timeout_s": 1.0}}])
async def test_a_kept_alive_connection_must_send_its_next_head_in_time(harness):
    stream = await connect(harness)
    async with watching(harness, "a kept-alive head never finished"), stream:
        await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = await read_response(stream)
        assert first.startswith(b"HTTP/1.1 200"), first
        start = trio.current_time()
        await stream.send_all(b"GET /heal")  # the next head, never finished
        rest = await read_until_eof(stream, 5)
        assert rest == b""
        assert trio.current_time() - start < 3


@pytest.mark.parametrize("config_overrides", [{"server": {"http_keepalive_timeout_s": 3600.0}}])
async def test_a_connection_its_client_closed_is_closed_and_uncounted_at_once(harness, users):
    """A request answered, then the client's end closed: the server closes its end now, not at the
    keep-alive timeout, and the address's connection count goes back down (a client that opens a
    connection per request would otherwise reach server.max_connections_per_ip and be refused)."""
    per_ip = harness.server.listener.per_ip
    token = await token_of(harness, "alice")
    for _ in range(3):
        stream = await connect(harness)
        async with stream:
            body = b'{"peer": 99}'
            head = (
                "POST /api/v1/commands/chat_dm_history HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            await stream.send_all(head.encode() + body)
            assert (await read_response(stream)).startswith(b"HTTP/1.1 404")
            await trio.testing.wait_all_tasks_blocked()  # the server is done with it: kept alive, idle
        with trio.fail_after(5):
            while per_ip.get("127.0.0.1", 0):
                await trio.sleep(0.01)  # polling a condition under a deadline


@pytest.mark.parametrize("config_overrides", [{"server": {"max_connections_per_ip": 3}}])
async def test_connections_past_the_per_address_cap_are_closed_at_once(harness, caplog):
    """127.0.0.2 holds its three connections and is refused a fourth; the bystander, from
    127.0.0.1, is another address and keeps being served."""
    attacker = "127.0.0.2"
    per_ip = harness.server.listener.per_ip
    async with watching(harness, "an address holding its cap of connections"):
        held = [await connect(harness, attacker) for _ in range(3)]
        for s in held:
            await s.send_all(b"GET /healthz HTTP/1.1\r\nHost:")  # half-sent heads
        with trio.fail_after(5):
            while per_ip.get(attacker, 0) < 3:
                await trio.sleep(0.01)  # polling a condition under a deadline
        extra = await connect(harness, attacker)
        async with extra:
            try:
                await extra.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            except trio.BrokenResourceError:
                pass
            assert await read_until_eof(extra, 2) == b""
    assert "max_connections_per_ip" in caplog.text
    # One of the three ends: a new connection is served again.
    await held.pop().aclose()
    with trio.fail_after(5):
        while per_ip.get(attacker, 0) > 2:
            await trio.sleep(0.01)  # polling a condition under a deadline
    ok = await connect(harness, attacker)
    async with ok:
        await ok.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await read_until_eof(ok, 5)).startswith(b"HTTP/1.1 200")
    for s in held:
        await s.aclose()


async def test_accept_survives_running_out_of_descriptors(harness, caplog):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    caplog.set_level(logging.WARNING, logger="chatd.transport")
    host, port = harness.server.listener.address
    clients: list[socket.socket] = []
    async with watching(harness, "every descriptor taken"):
        await _take_every_descriptor(host, port, clients, soft, hard, caplog)
    # Descriptors are back: the server answers again.
    stream = await connect(harness)
    async with stream:
        await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await read_until_eof(stream, 5)).startswith(b"HTTP/1.1 200")


async def _take_every_descriptor(host: str, port: int, clients: list[socket.socket], soft: int, hard: int, caplog) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 16, hard))
        # Without letting the server run, take every descriptor left with connections to it:
        # they wait in its listen queue, and accept finds no descriptor for them.
        while True:
            try:
                c = socket.socket()
            except OSError:
                break
            clients.append(c)
            c.setblocking(False)
            c.connect_ex((host, port))
        with trio.fail_after(5):
            while "accept failed" not in caplog.text:
                await trio.sleep(0.02)  # polling a condition under a deadline
    finally:
        for c in clients:
            c.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_serve_raises_the_soft_descriptor_limit_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if soft == hard and hard > 64:
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        now = raise_fd_limit()
        want = hard if hard != resource.RLIM_INFINITY else 1 << 20
        assert now == want == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- defect 3: fragments ---------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"server": {"max_fragments": 8}}])
async def test_fragments_are_counted_and_empty_ones_too(harness, users):
    raw = await RawSocket.open(harness)
    try:
        await raw.login("alice")
        # Exactly max_fragments, some of them empty: one message, answered.
        ping = b'{"cmd": "ping", "id": "split", "data": {}}'
        parts = [ping[:5], b"", ping[5:20], b"", b"", ping[20:], b"", b""]
        assert len(parts) == 8
        await raw.send(parts[0], TEXT, fin=False)
        for i, part in enumerate(parts[1:], 1):
            await raw.send(part, CONT, fin=i == len(parts) - 1)
        op, payload = await raw.recv()
        reply = msgspec.json.decode(payload)
        assert reply["id"] == "split" and reply["ok"] is True, reply
        # One empty fragment more than that: 1009.
        await raw.send(b"{", TEXT, fin=False)
        for _ in range(8):
            await raw.send(b"", CONT, fin=False)
        assert await raw.close_code() == 1009
    finally:
        await raw.aclose()


async def test_a_fragment_flood_is_closed_with_1009_connection_after_connection(harness):
    """10 connections at once, each 10 times over: a message begun and then only empty
    continuation frames, before any login. Each is closed with 1009 at the fragment limit
    (server.max_fragments, 64 by default), whatever the bytes it carried."""
    limit = harness.server.cfg.server.max_fragments
    closes: list[int] = []

    async def flooder() -> None:
        for _ in range(10):
            raw = await RawSocket.open(harness)
            try:
                await raw.send(b"{", TEXT, fin=False)
                for _ in range(limit):
                    await raw.send(b"", CONT, fin=False)
                closes.append(await raw.close_code())
            finally:
                await raw.aclose()

    async with watching(harness, "10 connections of empty fragments"):
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(flooder)
    assert closes == [1009] * 100


# -- defect 7: the slow consumer's close code -----------------------------------------------


@pytest.mark.parametrize(
    "config_overrides", [{"server": {"backlog_max_bytes": 256 * 1024}, "limits": {"send_burst": 10000, "user_write_burst": 10000}}]
)
async def test_a_slow_consumer_that_reads_late_still_gets_4008(harness, users):
    b = users["bob"]
    hub = harness.server.hub
    stalled = await RawClient.connect(harness.url)
    await stalled.login("bob")
    big = "x" * 8000
    async with watching(harness, "a slow consumer past its backlog"), harness.client("alice") as a1:
        for i in range(400):
            await a1.request("chat_dm_send", {"peer": b, "content": {"type": "text", "text": f"{i} {big}"}})
        with trio.fail_after(10):
            while not any(s.conn.closing for s in hub.sessions_of(b)):
                await trio.sleep(0.01)  # polling a condition under a deadline
        # Longer than the grace of an ordinary close: the connection waits for its close frame to go out.
        await trio.sleep(3)
        with trio.fail_after(10):
            assert await stalled.close_code() == 4008
    stalled.sock.close()


@pytest.mark.parametrize("config_overrides", [{"server": {"login_timeout_s": 0.3}}])
async def test_a_peer_that_never_answers_the_close_is_cut_off_after_the_grace(harness):
    """The server closes (4001: no login in time); the peer reads the close frame but never
    answers it. The connection's close timer ends it CLOSE_GRACE_S later, not before."""
    stream = await connect(harness)
    await stream.send_all(UPGRADE)
    buf = b""
    with trio.fail_after(10):
        while whole_frame(buf.partition(b"\r\n\r\n")[2]) is None:
            chunk = await stream.receive_some(65536)
            assert chunk, buf
            buf += chunk
    frame = buf.partition(b"\r\n\r\n")[2]
    assert frame[0] == 0x88 and struct.unpack("!H", whole_frame(frame)[:2])[0] == 4001
    sent = trio.current_time()
    assert await read_until_eof(stream, CLOSE_GRACE_S + 5) == b""
    assert trio.current_time() - sent >= CLOSE_GRACE_S - 0.5
    await stream.aclose()


# -- defect 10: the head and the upgrade ----------------------------------------------------


async def test_h2c_upgrade_is_answered_in_http_1_1(harness):
    stream = await connect(harness)
    async with stream:
        await stream.send_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: close\r\n\r\n"
        )
        got = await read_until_eof(stream, 5)
    assert got.startswith(b"HTTP/1.1 200"), got


async def test_http2_preface_is_refused(harness):
    stream = await connect(harness)
    async with stream:
        await stream.send_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        got = await read_until_eof(stream, 5)
    assert got.startswith(b"HTTP/1.1 505") or got.startswith(b"HTTP/1.1 400"), got


async def h2_get(stream: trio.SocketStream, conn, path: str, stream_id: int | None) -> tuple[int, bytes]:
    """GET path over HTTP/2 with the h2 library (hypercorn's own), or read the answer to the
    request a h2c upgrade already made (stream 1); returns status and body."""
    import h2.events

    if stream_id is None:
        stream_id = conn.get_next_available_stream_id()
        conn.send_headers(stream_id, [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "x")], end_stream=True)
    await stream.send_all(conn.data_to_send())
    status, body = 0, b""
    with trio.fail_after(5):
        while True:
            data = await stream.receive_some(65536)
            assert data, "closed before the answer"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream_id:
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream_id:
                    return status, body
            await stream.send_all(conn.data_to_send())


@pytest.mark.parametrize("config_overrides", [{"server": {"http2": True}}])
async def test_with_http2_on_the_preface_and_the_h2c_upgrade_switch_to_http2(harness):
    import h2.config
    import h2.connection

    # Prior knowledge: the connection opens with the preface.
    stream = await connect(harness)
    async with stream:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        status, body = await h2_get(stream, conn, "/healthz", None)
        assert status == 200 and json.loads(body)["status"] == "ok"
    # Upgrade: the request is answered over HTTP/2 on stream 1, after the 101.
    stream = await connect(harness)
    async with stream:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        settings = conn.initiate_upgrade_connection()
        await stream.send_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: " + settings + b"\r\n\r\n"
        )
        head = b""
        with trio.fail_after(5):
            while b"\r\n\r\n" not in head:
                head += await stream.receive_some(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        status, body = await h2_get(stream, conn, "/healthz", 1)
        assert status == 200 and json.loads(body)["status"] == "ok"
    # An upgrade whose settings are not base64url: 400, and the server serves on.
    stream = await connect(harness)
    async with stream:
        await stream.send_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAAB\r\n\r\n"
        )
        assert (await read_until_eof(stream, 5)).startswith(b"HTTP/1.1 400")
    stream = await connect(harness)
    async with stream:
        await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await read_until_eof(stream, 5)).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("first", [True, False])
async def test_content_length_with_transfer_encoding_is_refused_and_closed(harness, users, first):
    body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
    smuggled = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    )
    stream = await connect(harness)
    async with stream:
        if not first:  # the second request on a kept-alive connection
            await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await read_response(stream)).startswith(b"HTTP/1.1 200")
        await stream.send_all(smuggled)
        got = await read_until_eof(stream, 5)
    assert got.startswith(b"HTTP/1.1 400"), got
    assert got.count(b"HTTP/1.1") == 1, got


async def test_a_head_over_16_kib_gets_431(harness):
    stream = await connect(harness)
    async with stream:
        await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 17000 + b"\r\n\r\n")
        got = await read_until_eof(stream, 5)
    assert got.startswith(b"HTTP/1.1 431"), got


async def test_bare_lf_line_ends_are_served_at_once(harness, users):
    stream = await connect(harness)
    async with stream:
        await stream.send_all(b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n")
        got = await read_until_eof(stream, 2)
    assert got.startswith(b"HTTP/1.1 200"), got
    stream = await connect(harness)
    async with stream:
        await stream.send_all(UPGRADE.replace(b"\r\n", b"\n"))
        with trio.fail_after(2):
            got = await stream.receive_some(65536)
    assert got.startswith(b"HTTP/1.1 101"), got


async def test_an_upgrade_the_parser_rejects_gets_its_400(harness):
    stream = await connect(harness)
    async with stream:
        await stream.send_all(UPGRADE.replace(b"Host: chatd.test\r\n", b"Host chatd.test\r\n"))
        got = await read_until_eof(stream, 5)
    assert got.startswith(b"HTTP/1.1 400"), got


async def test_a_login_in_the_same_packet_as_the_upgrade_is_answered(harness, users):
    key = base64.b64encode(os.urandom(16))
    login = msgspec.json.encode({"cmd": "login", "id": "early", "data": {"username": "alice", "password": PASSWORD}})
    stream = await connect(harness)
    async with stream:
        await stream.send_all(UPGRADE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", key) + masked(login))
        buf = b""
        with trio.fail_after(10):
            while b"\r\n\r\n" not in buf:
                buf += await stream.receive_some(65536)
            head, _, buf = buf.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
            while (payload := whole_frame(buf)) is None:
                buf += await stream.receive_some(65536)
    reply = msgspec.json.decode(payload)
    assert reply["id"] == "early" and reply["ok"] is True, reply

"""Frames a server must survive, over real sockets against the real in-process server: frames
that cannot be decoded answer `bad_frame` and leave the connection usable; a frame over
`server.max_frame_bytes` closes it with 1009 while the server keeps serving everyone else; the
handshake never negotiates compression; frames that once took the whole server down.
"""

from __future__ import annotations

import msgspec
import pytest

from .bad_input import ANY, BINARY, TEXT, RawSocket, check_error, next_reply, snapshot, still_up, text
from .conftest import PASSWORD


# -- frames that cannot be decoded --------------------------------------------------------

UNDECODABLE_TEXT = [
    "{not json",
    "",
    '{"cmd": "ping", "id": "x"',  # truncated
    '{"cmd": "ping"} trailing',
    "[1, 2]",
    '[{"cmd": "ping"}]',
    "42",
    '"ping"',
    "null",
    "true",
    "{}",
    '{"id": "x", "data": {}}',  # no cmd
    '{"cmd": 5, "id": "x"}',
    '{"cmd": null, "id": "x"}',
    '{"cmd": ["ping"], "id": "x"}',
    '{"cmd": {"name": "ping"}, "id": "x"}',
    '{"cmd": "ping", "id": [1]}',  # an id is a string or an integer
]

UNDECODABLE_BINARY = [
    b"\xc1",  # never used in MessagePack
    b"",
    b"\x82\xa3cmd",  # a map cut short
    b"\x92\x01\x02",  # array
    b"\x2a",  # int
    b"\xa4ping",  # str
    b"\xc0",  # nil
    msgspec.msgpack.encode({"id": "x"}),
    msgspec.msgpack.encode({"cmd": 5, "id": "x"}),
    msgspec.msgpack.encode({"cmd": b"ping", "id": "x"}),  # bin, not str
    b"{" + b'"cmd": "ping"}',  # JSON in a binary frame is not MessagePack
]


async def test_undecodable_frames_answer_bad_frame_and_keep_the_connection(harness, users):
    async with harness.client("alice") as a:
        before = await snapshot(harness)
        for payload in [*UNDECODABLE_TEXT, *UNDECODABLE_BINARY]:
            await a.send_raw(payload)
            frame = await next_reply(a)
            check_error(frame, "bad_frame")
            assert frame["cmd"] is None and frame["id"] is None, (payload, frame)
            await still_up(a)
        assert a.closed is None
        assert await snapshot(harness) == before


async def test_bad_input_before_login_then_login_on_the_same_connection(harness, users):
    async with harness.client() as c:
        for payload in ("{not json", "[]", '{"id": 1}', b"\xc1"):
            await c.send_raw(payload)
            check_error(await next_reply(c), "bad_frame")
        check_error(await c.call("chat_dm_history", {"peer": users["bob"]}), "not_logged_in")
        for data, field in (
            ({"username": 5, "password": PASSWORD}, "username"),
            ({"username": "alice", "password": ["x"]}, "password"),
            ({"username": "alice", "password": "x" * 1025}, "password"),
            ({"token": "t" * 201}, "token"),
            ({"username": "alice", "password": PASSWORD, "device": "d" * 65}, "device"),
            ({}, "username"),
            ({"username": "alice"}, "password"),
            ([], "data"),
        ):
            check_error(await c.call("login", data), "bad_request", field)
        out = await c.login("alice", PASSWORD)
        assert out["user"]["id"] == users["alice"]
        await still_up(c)


async def test_msgpack_connection_gets_msgpack_errors(harness, users):
    raw = await RawSocket.open(harness)
    try:
        await raw.login("alice", binary=True)
        for payload in UNDECODABLE_BINARY:
            await raw.send(payload, BINARY)
            opcode, frame = await raw.reply()
            assert opcode == BINARY, (payload, frame)
            check_error(frame, "bad_frame")
            assert frame["cmd"] is None and frame["id"] is None
            opcode, frame = await raw.request({"cmd": "ping", "id": 1}, binary=True)
            assert opcode == BINARY and frame == {"cmd": "ping", "id": 1, "ok": True, "data": frame["data"]}
        # Request-level errors come back as MessagePack too, with cmd and id echoed.
        for body, code, field in (
            ({"cmd": "no_such_command", "id": 7}, "unknown_command", ANY),
            ({"cmd": "push_device_register", "id": 8, "data": {}}, "bad_request", "kind"),
            ({"cmd": "chat_dm_history", "id": 9, "data": {}}, "bad_request", "peer"),
            ({"cmd": "chat_dm_history", "id": 10, "data": {"peer": "2"}}, "bad_request", "peer"),
            ({"cmd": "chat_dm_history", "id": 11, "data": [1]}, "bad_request", "data"),
            ({"cmd": "chat_dm_history", "id": 12, "data": {"peer": 999999}}, "not_found", "peer"),
        ):
            opcode, frame = await raw.request(body, binary=True)
            assert opcode == BINARY
            assert frame["cmd"] == body["cmd"] and frame["id"] == body["id"]
            check_error(frame, code, field)
        # A response uses the codec of its request: a bad text frame on this connection gets JSON.
        await raw.send(b"{not json", TEXT)
        opcode, frame = await raw.reply()
        assert opcode == TEXT
        check_error(frame, "bad_frame")
        opcode, frame = await raw.request({"cmd": "ping", "id": "last"}, binary=True)
        assert opcode == BINARY and frame["ok"] is True
    finally:
        await raw.aclose()


# -- frames over the size limit -------------------------------------------------------------

LIMIT = 4096


def _padded_ping(size: int) -> str:
    base = '{"cmd": "ping", "id": "padded", "data": {"pad": ""}}'
    out = base.replace('""', '"' + "x" * (size - len(base)) + '"')
    assert len(out) == size
    return out


@pytest.mark.parametrize("config_overrides", [{"server": {"max_frame_bytes": LIMIT}}])
async def test_a_frame_over_max_frame_bytes_closes_with_1009(harness, users):
    a_id, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        await a1.request("chat_dm_send", {"peer": b, "content": text("before")})
        # Exactly at the limit: accepted.
        await a1.send_raw(_padded_ping(LIMIT))
        frame = await next_reply(a1)
        assert frame["ok"] is True and frame["id"] == "padded"
        before = await snapshot(harness)
        big = msgspec.json.encode({"cmd": "chat_dm_send", "id": "big", "data": {"peer": b, "content": text("y" * LIMIT)}})
        assert len(big) > LIMIT
        await a1.send_raw(big.decode())
        closed = await a1.wait_closed()
        assert closed.reason.code == 1009
        assert await snapshot(harness) == before
        # Everyone else is still served, and the user can come back.
        await still_up(b1)
        assert (await b1.request("chat_dm_send", {"peer": a_id, "content": text("still here")}))["seq"] == 2
        async with harness.client("alice") as again:
            assert (await again.request("chat_dm_history", {"peer": b}))["last_seq"] == 2
    # A MessagePack frame over the limit, one byte over.
    async with harness.client("alice", msgpack=True) as mp:
        await mp.send_raw(b"\xc4" + b"\x00" * LIMIT)
        assert (await mp.wait_closed()).reason.code == 1009
    # A message split in fragments, each under the limit, together over it.
    raw = await RawSocket.open(harness)
    try:
        await raw.login("alice")
        await raw.send(b"[" * (LIMIT // 2 + 1), TEXT, fin=False)
        await raw.send(b"]" * (LIMIT // 2 + 1), 0x0, fin=True)
        assert await raw.close_code() == 1009
    finally:
        await raw.aclose()
    async with harness.client("bob") as b2:
        await still_up(b2)


# -- the handshake --------------------------------------------------------------------------


async def test_handshake_never_negotiates_permessage_deflate(harness, users):
    offer = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    raw = await RawSocket.open(harness, offer)
    try:
        assert raw.status.startswith(b"HTTP/1.1 101"), raw.status
        assert b"sec-websocket-extensions" not in raw.headers, raw.headers
        await raw.login("alice")
        opcode, frame = await raw.request({"cmd": "ping", "id": "p"})
        assert opcode == TEXT and frame["ok"] is True
        # A frame marked compressed (RSV1) is a protocol error when nothing was negotiated.
        await raw.send(b'{"cmd": "ping", "id": "z"}', TEXT, rsv1=True)
        assert await raw.close_code() == 1002
    finally:
        await raw.aclose()
    async with harness.client("bob") as b1:
        await still_up(b1)


# -- known bugs: frames that take the whole server down -----------------------------------------


async def _bad_frame_then_still_up(harness, payload: bytes, opcode: int) -> None:
    """The frame gets bad_frame on a live connection, which then still works, and so does the server."""
    raw = await RawSocket.open(harness)
    try:
        await raw.login("alice", binary=opcode == BINARY)
        await raw.send(payload, opcode)
        got, frame = await raw.reply()
        assert got == opcode
        check_error(frame, "bad_frame")
        _, frame = await raw.request({"cmd": "ping", "id": "after"}, binary=opcode == BINARY)
        assert frame["ok"] is True
    finally:
        await raw.aclose()
    async with harness.client("bob") as b1:
        await still_up(b1)


async def test_text_frame_that_is_not_utf8_answers_bad_frame(harness, users):
    await _bad_frame_then_still_up(harness, b'{"cmd": "ping", "id": "\xff\xfe"}', TEXT)


async def test_msgpack_string_that_is_not_utf8_answers_bad_frame(harness, users):
    await _bad_frame_then_still_up(harness, b"\x82\xa3cmd\xa4\xff\xfe\xfd\xfc\xa2id\xa1x", BINARY)


@pytest.mark.parametrize(
    "payload, opcode",
    [
        (b'{"cmd": "ping", "id": "deep", "data": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}", TEXT),
        (b"\x83\xa3cmd\xa4ping\xa2id\xa4deep\xa4data\x81\xa1x" + b"\x91" * 5000 + b"\x90", BINARY),
    ],
    ids=["json", "msgpack"],
)
async def test_deeply_nested_frame_answers_bad_frame(harness, users, payload, opcode):
    await _bad_frame_then_still_up(harness, payload, opcode)

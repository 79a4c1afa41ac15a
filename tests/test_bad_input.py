"""Bad input and limits, over real sockets against the real in-process server.

Every kind of mistake a client can make gets one documented error code (with
`field` naming the culprit where there is one), leaves the connection usable
(each case is followed by a request that succeeds on the same connection) and
writes nothing (the conversation tables are compared row by row before and
after). Only a frame over `server.max_frame_bytes` closes the connection
(1009), and the server keeps serving everyone else.

Some frames cannot be made with the client library (invalid UTF-8 in a text
frame, fragments, reserved bits, an offered extension): `RawSocket` speaks the
WebSocket protocol by hand for those.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import struct
from typing import Any

import msgspec
import pytest
import trio

from chatd.client import Client
from chatd.protocol.registry import REGISTRY

from .conftest import PASSWORD

# Codes any command may answer without listing them.
UNIVERSAL = {"bad_frame", "unknown_command", "not_implemented", "not_logged_in", "unavailable"}
ANY = object()
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8
# The tables a request can change; users and tokens change on every login and are left out.
TABLES = ("conversations", "members", "messages", "message_edits", "reactions", "hidden_messages")


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


# -- checks ----------------------------------------------------------------------------


def check_error(frame: dict[str, Any], code: str, field: Any = ANY, *, cmd: str | None = None) -> dict[str, Any]:
    """An error response with this code (and field); a command-specific code must be listed for the command."""
    assert frame.get("ok") is False, frame
    assert "data" not in frame, frame
    err = frame["error"]
    assert err["code"] == code, frame
    assert isinstance(err.get("message"), str) and err["message"], frame
    if field is not ANY:
        assert err.get("field") == field, frame
    cmd = cmd if cmd is not None else frame.get("cmd")
    command = REGISTRY.commands.get(cmd) if isinstance(cmd, str) else None
    if command is not None and command.implemented and code not in UNIVERSAL:
        assert code in command.errors, f"{cmd} answered {code}, which its registry entry does not list"
    return err


async def next_reply(client: Client, *, timeout: float = 10) -> dict[str, Any]:
    """The next response that no request waits for (a bad frame's answer has id null), skipping pushes."""
    while True:
        frame = await client.next_push(timeout=timeout)
        if "ok" in frame:
            return frame


async def still_up(client: Client) -> None:
    assert (await client.request("ping"))["pong"] is True


def _dump(path: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    finally:
        conn.close()


async def snapshot(harness: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a chat request can write, read with sqlite3 from the database file itself."""
    return await trio.to_thread.run_sync(_dump, str(harness.server.cfg.db_path))


async def expect_rejected(client: Client, cmd: str, data: Any, code: str, field: Any = ANY) -> dict[str, Any]:
    frame = await client.call(cmd, data)
    err = check_error(frame, code, field, cmd=cmd)
    assert frame["cmd"] == cmd
    await still_up(client)
    return err


# -- a WebSocket spoken by hand ----------------------------------------------------------


class RawSocket:
    """Client frames built byte by byte (masked, as RFC 6455 requires), server frames parsed likewise."""

    def __init__(self, stream: trio.SocketStream, status: bytes, headers: dict[bytes, bytes], buf: bytes):
        self.stream = stream
        self.status = status
        self.headers = headers
        self.buf = buf

    @classmethod
    async def open(cls, harness: Any, extra_headers: bytes = b"") -> RawSocket:
        host, port = harness.server.listener.address
        stream = await trio.open_tcp_stream(host, port)
        key = base64.b64encode(os.urandom(16))
        await stream.send_all(
            b"GET /ws HTTP/1.1\r\nHost: chatd.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + b"\r\n"
        )
        buf = b""
        with trio.fail_after(10):
            while b"\r\n\r\n" not in buf:
                chunk = await stream.receive_some(4096)
                assert chunk, f"connection closed during the handshake: {buf!r}"
                buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers: dict[bytes, bytes] = {}
        for line in lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return cls(stream, status, headers, rest)

    async def send(self, payload: bytes, opcode: int = TEXT, *, fin: bool = True, rsv1: bool = False) -> None:
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        mask = os.urandom(4)
        key = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
        await self.stream.send_all(head + mask + masked)

    async def _fill(self, n: int) -> bool:
        while len(self.buf) < n:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    async def recv(self, *, timeout: float = 10) -> tuple[int, bytes]:
        """The next whole frame as (opcode, payload); (0, b"") when the server closed the TCP stream."""
        with trio.fail_after(timeout):
            if not await self._fill(2):
                return 0, b""
            b0, b1 = self.buf[0], self.buf[1]
            assert not b1 & 0x80, "server frames are never masked"
            n, off = b1 & 0x7F, 2
            if n == 126:
                if not await self._fill(4):
                    return 0, b""
                (n,) = struct.unpack("!H", self.buf[2:4])
                off = 4
            elif n == 127:
                if not await self._fill(10):
                    return 0, b""
                (n,) = struct.unpack("!Q", self.buf[2:10])
                off = 10
            if not await self._fill(off + n):
                return 0, b""
            assert b0 & 0x80 and not b0 & 0x70, "the server sends final, uncompressed frames"
            payload, self.buf = self.buf[off : off + n], self.buf[off + n :]
            return b0 & 0x0F, payload

    async def reply(self) -> tuple[int, dict[str, Any]]:
        """The next frame, which must be a data frame; decoded with the codec its opcode names."""
        opcode, payload = await self.recv()
        assert opcode in (TEXT, BINARY), (opcode, payload)
        return opcode, (msgspec.json.decode(payload) if opcode == TEXT else msgspec.msgpack.decode(payload))

    async def close_code(self) -> int:
        """Read until the server's close frame; its status code."""
        while True:
            opcode, payload = await self.recv()
            assert opcode != 0, "the TCP stream ended without a close frame"
            if opcode == CLOSE:
                return struct.unpack("!H", payload[:2])[0]

    async def request(self, body: dict[str, Any], *, binary: bool = False) -> tuple[int, dict[str, Any]]:
        if binary:
            await self.send(msgspec.msgpack.encode(body), BINARY)
        else:
            await self.send(msgspec.json.encode(body), TEXT)
        return await self.reply()

    async def login(self, name: str, *, binary: bool = False) -> None:
        body = {"cmd": "login", "id": "login", "data": {"username": name, "password": PASSWORD}}
        _, frame = await self.request(body, binary=binary)
        assert frame["ok"] is True, frame

    async def aclose(self) -> None:
        await self.stream.aclose()


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


# -- commands that do not exist, or not yet ----------------------------------------------


async def test_unknown_and_unimplemented_commands(harness, users):
    pushes = [c.wire for c in REGISTRY.commands.values() if c.kind == "push"]
    unimplemented = [c.wire for c in REGISTRY.commands.values() if c.kind == "request" and not c.implemented]
    assert unimplemented == []  # every request of the protocol is implemented (the loop below walks any that is not)
    async with harness.client("alice") as a:
        for name in ("no_such_command", "", "CHAT_DM_SEND", "chat_dm_send ", "chat.dm.send", *pushes):
            frame = await a.call(name, {})
            assert frame["cmd"] == name
            check_error(frame, "unknown_command")
        await still_up(a)
        for name in unimplemented:
            frame = await a.call(name, {"peer": users["bob"]})
            assert frame["cmd"] == name
            check_error(frame, "not_implemented")
        await still_up(a)


# -- the registry walk: every field of every implemented request ----------------------------

# login, heartbeat and ping have only optional fields (login's are checked before logging in, above).
WALKED = [
    c
    for c in REGISTRY.commands.values()
    if c.kind == "request" and c.implemented and c.wire not in ("login", "heartbeat", "ping")
]
# A value of the wrong type for each field type the registry uses.
WRONG: dict[str, list[Any]] = {
    "int": ["1", 1.5, True, [1], {"n": 1}],
    "float": ["x", [1.0]],
    "str": [1, True, ["x"], {"s": "x"}],
    "bool": ["true", 1, [True]],
    "list[int]": ["1", 1, {"a": 1}],
    "list[str]": ["x", 1, {"a": "x"}],
    "Content": [5, "hello", ["text"]],
    "any": [],  # (a control message's data: any value is of the right type)
    "list[any]": ["x", 1, {"a": 1}],
}


def _required(spec: dict[str, Any]) -> bool:
    return not spec.get("optional") and "default" not in spec


def _valid(name: str, spec: dict[str, Any], ids: dict[str, int]) -> Any:
    """A value that decodes (what it names need not exist: decoding fails before any lookup)."""
    t = spec["type"]
    if name == "peer":
        return ids["bob"]
    if name == "language":
        return "en"
    if "enum" in spec:
        return spec["enum"][0] if t == "str" else spec["enum"][:1]
    if "pattern" in spec:  # the other patterns are those of conversation targets (kind:id)
        return f"dm:{ids['bob']}" if t == "str" else [f"dm:{ids['bob']}"]
    if t == "int":
        return max(1, spec.get("min", 1))
    if t == "str":
        return "x" * max(1, spec.get("min_length", 1))
    if t == "bool":
        return True
    if t == "list[int]":
        return [ids["bob"]]
    if t == "list[str]":
        return ["x"]
    if t == "Content":
        return text("x")
    if t == "any":  # (a form's values)
        return {}
    if t == "list[any]":
        return []
    raise AssertionError(f"the walk does not know the field type {t!r}: add it to WRONG and _valid")


# Thousands of frames on one connection as fast as the server answers: past the default frame budget.
@pytest.mark.parametrize("config_overrides", [{"limits": {"frames_burst": 1_000_000, "user_write_burst": 1_000_000}}])
@pytest.mark.parametrize("msgpack", [False, True], ids=["json", "msgpack"])
async def test_registry_walk_missing_and_mistyped_fields(harness, users, msgpack):
    assert {c.wire for c in WALKED} >= {"chat_dm_send", "chat_dm_history", "chat_dm_delete", "chat_message_edits"}
    async with harness.client("alice", msgpack=msgpack) as a:
        before = await snapshot(harness)
        checked = 0
        for cmd in WALKED:
            base = {name: _valid(name, spec, users) for name, spec in cmd.request.items() if _required(spec)}
            for name, spec in cmd.request.items():
                if _required(spec):
                    data = {k: v for k, v in base.items() if k != name}
                    await expect_rejected(a, cmd.wire, data, "bad_request", name)
                    checked += 1
                assert spec["type"] in WRONG, f"{cmd.wire}.{name}: no wrong values for type {spec['type']}"
                for wrong in WRONG[spec["type"]]:
                    await expect_rejected(a, cmd.wire, {**base, name: wrong}, "bad_request", name)
                    checked += 1
                if spec["type"] == "list[int]":  # a list of the wrong items
                    err = await expect_rejected(a, cmd.wire, {**base, name: ["x"]}, "bad_request")
                    assert err.get("field") in (name, f"{name}[0]"), err
            for not_an_object in ([], [base], "data", 5, True):
                await expect_rejected(a, cmd.wire, not_an_object, "bad_request", "data")
                checked += 1
        assert checked > 100
        # Unknown fields in data are ignored, as the protocol guide says.
        assert (await a.request("chat_dm_conversations", {"no_such_field": 1}))["conversations"] == []
        assert await snapshot(harness) == before


async def test_commands_without_fields_reject_data_that_is_not_an_object_with_a_listed_code(harness, users):
    async with harness.client("alice") as a:
        for cmd in ("heartbeat", "ping"):
            for not_an_object in ([], "data", 5):
                frame = await a.call(cmd, not_an_object)
                assert frame["ok"] is False and frame["error"]["code"] == "bad_request", frame
                assert frame["error"].get("field") == "data", frame
                await still_up(a)
                check_error(frame, "bad_request", "data")  # the code must be listed in the registry


# -- values out of range, and semantic mistakes that name a field ----------------------------


async def test_out_of_range_values(harness, users):
    a_id, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("hello")}))["id"]
        before = await snapshot(harness)
        send = {"peer": b, "content": text("x")}
        cases: list[tuple[str, Any, str]] = [
            ("chat_dm_history", {"peer": b, "limit": 0}, "limit"),
            ("chat_dm_history", {"peer": b, "limit": 101}, "limit"),
            ("chat_dm_history", {"peer": b, "limit": -1}, "limit"),
            ("chat_dm_history", {"peer": b, "before_seq": 0}, "before_seq"),
            ("chat_dm_history", {"peer": b, "after_seq": -1}, "after_seq"),
            ("chat_dm_history", {"peer": b, "num": 0}, "num"),
            ("chat_dm_history", {"peer": b, "num": 101}, "num"),
            ("chat_dm_history", {"peer": b, "begin": -1}, "begin"),
            ("chat_dm_history", {"peer": b, "lastid": -1}, "lastid"),
            ("chat_dm_history", {"peer": a_id}, "peer"),
            ("chat_dm_search", {"query": ""}, "query"),
            ("chat_dm_search", {"query": "x" * 201}, "query"),
            ("chat_dm_search", {"query": "x", "limit": 0}, "limit"),
            ("chat_dm_search", {"query": "x", "limit": 51}, "limit"),
            ("chat_dm_conversations", {"limit": 0}, "limit"),
            ("chat_dm_conversations", {"limit": 501}, "limit"),
            ("chat_dm_mark_read", {"peer": b, "seq": -1}, "seq"),
            ("chat_dm_typing", {"peer": a_id}, "peer"),
            ("chat_dm_delete", {"peer": b, "msg_ids": []}, "msg_ids"),
            ("chat_dm_delete", {"peer": b, "msg_ids": [m] * 101}, "msg_ids"),
            ("chat_dm_recall_batch", {"peer": b, "msg_ids": []}, "msg_ids"),
            ("chat_dm_recall_batch", {"peer": b, "msg_ids": [m] * 1001}, "msg_ids"),
            ("chat_dm_react", {"peer": b, "msg_id": m, "emoji": ""}, "emoji"),
            ("chat_dm_react", {"peer": b, "msg_id": m, "emoji": "\N{THUMBS UP SIGN}" * 33}, "emoji"),
            ("chat_message_edits", {"msg_id": m, "limit": 0}, "limit"),
            ("chat_message_edits", {"msg_id": m, "limit": 101}, "limit"),
            ("chat_message_edits", {"msg_id": m, "offset": -1}, "offset"),
            ("chat_dm_send", {**send, "client_msg_id": ""}, "client_msg_id"),
            ("chat_dm_send", {**send, "client_msg_id": "x" * 65}, "client_msg_id"),
            ("chat_dm_send", {**send, "mentions": [b] * 101}, "mentions"),
            ("chat_dm_send", {**send, "mentions": [c]}, "mentions"),
            ("chat_dm_send", {**send, "peer": a_id}, "peer"),
            ("chat_dm_send", {"peer": b, "content": text("")}, "content.text"),
            ("chat_dm_send", {"peer": b, "content": {"type": "text"}}, "content.text"),
            ("chat_dm_send", {"peer": b, "content": {"text": "x"}}, "content.type"),
            ("chat_dm_send", {"peer": b, "content": {"type": "no_such_type", "text": "x"}}, "content.type"),
            ("chat_dm_send", {"peer": b, "content": {"type": "system", "event": "joined"}}, "content.type"),
            ("chat_dm_send", {"peer": b, "content": {"type": "text", "text": "x", "extra": 1}}, "content"),
            ("chat_dm_send", {"peer": b, "content": {"type": "text", "text": 5}}, "content.text"),
            ("chat_dm_send", {"peer": b, "content": {"type": "image", "url": ""}}, "content.url"),
            ("chat_dm_send", {"peer": b, "content": {"type": "image", "url": "https://x/y.png", "width": -1}}, "content.width"),
            ("chat_dm_send", {"peer": b, "content": {"type": "buttons", "text": "t", "buttons": []}}, "content.buttons"),
            ("chat_dm_edit", {"peer": b, "msg_id": m, "content": text("")}, "content.text"),
            ("chat_dm_edit", {"peer": b, "msg_id": m, "content": {"type": "system", "event": "x"}}, "content.type"),
        ]
        for cmd, data, field in cases:
            await expect_rejected(a, cmd, data, "bad_request", field)
        # An edit may not change the content's type.
        markdown = {"type": "markdown", "text": "x"}
        await expect_rejected(a, "chat_dm_edit", {"peer": b, "msg_id": m, "content": markdown}, "not_editable", "content.type")
        assert await snapshot(harness) == before


# -- ids that name nothing, or nothing this user can see --------------------------------------


async def test_unknown_ids_answer_not_found(harness, users):
    b, c = users["bob"], users["carol"]
    nobody = 999_999
    async with harness.client("alice") as a:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("hello")}))["id"]
        before = await snapshot(harness)
        by_peer: list[tuple[str, dict[str, Any]]] = [
            ("chat_dm_send", {"content": text("x")}),
            ("chat_dm_history", {}),
            ("chat_dm_mark_read", {}),
            ("chat_dm_pin_set", {"pinned": True}),
            ("chat_dm_typing", {}),
            ("chat_dm_control", {"name": "x"}),
            ("chat_dm_edit", {"msg_id": m, "content": text("x")}),
            ("chat_dm_recall", {"msg_id": m}),
            ("chat_dm_recall_batch", {"msg_ids": [m]}),
            ("chat_dm_react", {"msg_id": m, "emoji": "x"}),
            ("chat_dm_delete", {"msg_ids": [m]}),
            ("chat_dm_search", {"query": "hello"}),
            ("rtc_call_invite", {}),
            ("chat_bot_commands_list", {}),
            ("chat_bot_command", {"bot_id": b, "name": "x"}),
            ("chat_dm_handover", {"bot_id": b}),
            ("chat_dm_release", {"bot_id": b}),
        ]
        # chat_stream_begin is refused to people whatever it names (only bots stream): its
        # unknown peers are walked by a bot in tests/test_streams.py.
        assert {cmd for cmd, _ in by_peer} | {"chat_stream_begin"} == {c.wire for c in WALKED if "peer" in c.request}
        for peer in (nobody, 0, -1, 2**62):
            for cmd, data in by_peer:
                await expect_rejected(a, cmd, {**data, "peer": peer}, "not_found", "peer")
        # carol exists, but alice has no conversation with her: nothing to act on.
        for cmd, data in by_peer:
            if cmd in ("chat_dm_send", "chat_dm_history", "rtc_call_invite", "chat_bot_commands_list", "chat_bot_command"):  # a first message or call needs none
                continue
            if cmd in ("chat_dm_handover", "chat_dm_release"):  # bob is no bot: walked in tests/test_dm_handover.py
                continue
            await expect_rejected(a, cmd, {**data, "peer": c}, "not_found", "peer")
        empty = await a.request("chat_dm_history", {"peer": c})
        assert empty["conv_id"] == 0 and empty["messages"] == [] and empty["last_seq"] == 0
        # Unknown message ids in a real conversation.
        for cmd, data, field in (
            ("chat_dm_edit", {"peer": b, "msg_id": nobody, "content": text("x")}, "msg_id"),
            ("chat_dm_recall", {"peer": b, "msg_id": nobody}, "msg_id"),
            ("chat_dm_react", {"peer": b, "msg_id": nobody, "emoji": "x"}, "msg_id"),
            ("chat_dm_delete", {"peer": b, "msg_ids": [nobody]}, "msg_ids"),
            ("chat_dm_delete", {"peer": b, "msg_ids": [m, nobody]}, "msg_ids"),  # all or nothing: m stays visible
            ("chat_message_edits", {"msg_id": nobody}, "msg_id"),
            ("chat_message_edits", {"msg_id": -1}, "msg_id"),
            ("chat_dm_send", {"peer": b, "content": text("x"), "quote_id": nobody}, "quote_id"),
            # A quote from another conversation; the new alice–carol conversation must not be left behind.
            ("chat_dm_send", {"peer": c, "content": text("x"), "quote_id": m}, "quote_id"),
        ):
            await expect_rejected(a, cmd, data, "not_found", field)
        assert await snapshot(harness) == before
        hist = await a.request("chat_dm_history", {"peer": b})
        assert [x["id"] for x in hist["messages"]] == [m]


async def test_a_third_user_cannot_touch_someone_elses_conversation(harness, users):
    a_id, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a, harness.client("bob") as bob, harness.client("carol") as carol:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("between alice and bob")}))["id"]
        await a.request("chat_dm_edit", {"peer": b, "msg_id": m, "content": text("between alice and bob only")})
        await bob.request("chat_dm_react", {"peer": a_id, "msg_id": m, "emoji": "x"})

        async def carol_tries(*, own_conversations: bool) -> None:
            for peer in (a_id, b):
                attempts = [
                    ("chat_dm_edit", {"msg_id": m, "content": text("carol was here")}),
                    ("chat_dm_recall", {"msg_id": m}),
                    ("chat_dm_react", {"msg_id": m, "emoji": "y"}),
                    ("chat_dm_react", {"msg_id": m, "emoji": "x", "remove": True}),
                    ("chat_dm_delete", {"msg_ids": [m]}),
                ]
                if not own_conversations:  # else these would be about her own conversation, and fine
                    attempts += [("chat_dm_mark_read", {"seq": 1}), ("chat_dm_pin_set", {"pinned": True})]
                for cmd, data in attempts:
                    frame = await carol.call(cmd, {**data, "peer": peer})
                    err = check_error(frame, frame.get("error", {}).get("code", "?"), cmd=cmd)
                    assert err["code"] in ("not_found", "forbidden"), frame
                    await still_up(carol)
                hist = await carol.request("chat_dm_history", {"peer": peer})
                assert all(x["id"] != m for x in hist["messages"])
            await expect_rejected(carol, "chat_message_edits", {"msg_id": m}, "not_found", "msg_id")
            found = await carol.request("chat_dm_search", {"query": "between"})
            assert found["results"] == []

        before = await snapshot(harness)
        await carol_tries(own_conversations=False)  # carol has no conversation with either of them
        assert await snapshot(harness) == before
        await carol.request("chat_dm_send", {"peer": a_id, "content": text("hi alice")})
        await carol.request("chat_dm_send", {"peer": b, "content": text("hi bob")})
        before = await snapshot(harness)
        await carol_tries(own_conversations=True)  # now she has one with each: the message is still not in them
        assert await snapshot(harness) == before

        # bob is in the conversation but did not send the message: he may not edit or recall it.
        await expect_rejected(bob, "chat_dm_edit", {"peer": a_id, "msg_id": m, "content": text("bob was here")}, "forbidden")
        await expect_rejected(bob, "chat_dm_recall", {"peer": a_id, "msg_id": m}, "forbidden")
        assert await snapshot(harness) == before
        msg = (await a.request("chat_dm_history", {"peer": b}))["messages"][0]
        assert msg["content"] == text("between alice and bob only") and msg["recalled_at"] is None
        assert msg["reactions"] == [{"emoji": "x", "count": 1, "user_ids": [b]}]
        assert (await a.request("chat_message_edits", {"msg_id": m}))["total"] == 1


# -- size limits on content ---------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"limits": {"max_text_chars": 100, "max_content_bytes": 300}}])
async def test_text_and_content_over_the_limits_are_too_large(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a:
        # At the limits exactly: stored.
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("a" * 100)}))["id"]
        before = await snapshot(harness)
        for content, field in (
            (text("a" * 101), "content.text"),
            ({"type": "markdown", "text": "b" * 101}, "content.text"),
            ({"type": "buttons", "text": "c" * 60, "buttons": [[{"text": "d" * 60}]]}, "content.text"),
            # 90 characters, but 360 bytes of UTF-8.
            (text("\N{GRINNING FACE}" * 90), "content"),
            ({"type": "image", "url": "https://example.test/" + "e" * 400}, "content"),
        ):
            await expect_rejected(a, "chat_dm_send", {"peer": b, "content": content}, "too_large", field)
            if content["type"] == "text":  # an edit keeps the type: only text can replace m
                await expect_rejected(a, "chat_dm_edit", {"peer": b, "msg_id": m, "content": content}, "too_large", field)
        assert await snapshot(harness) == before
        assert (await a.request("chat_dm_history", {"peer": b}))["messages"][0]["content"] == text("a" * 100)


# -- the send rate limit --------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"limits": {"send_rate_per_s": 4, "send_burst": 3}}])
async def test_sends_are_rate_limited_per_connection(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2:
        sent = 0
        for i in range(30):
            frame = await a1.call("chat_dm_send", {"peer": b, "content": text(f"m{i}"), "client_msg_id": f"r{i}"})
            if not frame["ok"]:
                break
            sent += 1
        else:
            pytest.fail("30 sends in a row were never rate limited")
        err = check_error(frame, "rate_limited")
        assert sent >= 3  # the burst
        assert 0 < err["retry_after_ms"] <= 250  # one token at 4 per second
        # The refused send wrote nothing; reads on the same connection still work.
        hist = await a1.request("chat_dm_history", {"peer": b})
        assert hist["last_seq"] == sent and len(hist["messages"]) == sent
        await still_up(a1)
        # Another connection of the same user has its own bucket.
        other = await a2.request("chat_dm_send", {"peer": b, "content": text("from a2")})
        assert other["seq"] == sent + 1
        # Typing notices are throttled apart from sends: the second within the interval is not sent.
        assert (await a1.request("chat_dm_typing", {"peer": b}))["sent"] is True
        assert (await a1.request("chat_dm_typing", {"peer": b}))["sent"] is False
        # Waiting as told, the same send (same client_msg_id) goes through.
        retry = err["retry_after_ms"]
        with trio.fail_after(10):
            while True:
                await trio.sleep(retry / 1000)
                frame = await a1.call("chat_dm_send", {"peer": b, "content": text(f"m{sent}"), "client_msg_id": f"r{sent}"})
                if frame["ok"]:
                    break
                retry = check_error(frame, "rate_limited")["retry_after_ms"]
                assert retry > 0
        assert frame["data"]["duplicate"] is False and frame["data"]["seq"] == sent + 2


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


# Every walked command three times per id field: more frames than the default burst.
@pytest.mark.parametrize("config_overrides", [{"limits": {"frames_burst": 1_000_000, "user_write_burst": 1_000_000}}])
async def test_ids_beyond_64_bits_are_a_client_mistake(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("hello")}))["id"]
        before = await snapshot(harness)
        huge = 2**64 - 1
        offenders = []
        for cmd in WALKED:
            base = {name: _valid(name, spec, users) for name, spec in cmd.request.items() if _required(spec)}
            if "msg_id" in base:
                base["msg_id"] = m
            if "msg_ids" in base:
                base["msg_ids"] = [m]
            for name, spec in cmd.request.items():
                if spec["type"] not in ("int", "list[int]"):
                    continue
                for value in (huge, -(2**63) - 1, 2**100):
                    data = {**base, name: [value] if spec["type"] == "list[int]" else value}
                    frame = await a.call(cmd.wire, data)
                    code = frame["error"]["code"] if not frame["ok"] else "ok"
                    if code not in ("ok", "bad_request", "not_found"):
                        offenders.append(f"{cmd.wire}.{name}={value}: {code}")
                    await still_up(a)
        assert await snapshot(harness) == before
        assert offenders == [], "\n".join(offenders)

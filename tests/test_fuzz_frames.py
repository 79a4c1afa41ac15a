"""A black-box frame fuzzer: generated requests for every implemented request command, over a real socket.

For each implemented request command in `clients/protocol.yaml`, hypothesis draws a `data` object
from the command's field specs (values inside and just outside the bounds) mixed with hostile
values: wrong types, missing and extra fields, huge and negative ints (beyond 64 bits in JSON),
deep nesting, empty and huge strings (under the frame limit), bytes in MessagePack. Some frames are
then corrupted at the byte level: a string made invalid UTF-8 (in a text frame or a MessagePack
str), a number replaced by the non-standard tokens NaN / Infinity, a key repeated in the raw JSON
text, or a broken envelope (`id` of a wrong type, `cmd` missing or odd).

Each frame goes, as JSON in a text frame or MessagePack in a binary frame, to one of two raw
connections of one in-process server (JSON as alice, who made a room, a group and a
direct message the values aim at; MessagePack as carol, who is in none of them). Checked for every frame:

* exactly one response carries the frame's `id` (id null, with `bad_frame`, only when the frame was
  corrupted so the envelope may be unreadable), nothing else is answered;
* the response is `ok`, or an error whose code is documented for the command (never `internal`),
  and it passes the registry's frame checker;
* the connection stays open and a ping on it answers afterwards;
* no `chatd` logger wrote at ERROR or above while the frame was handled.

At the end a bystander connection's ping answers. The raw connections are `RawSocket`s from
tests/bad_input.py (frames that the client library cannot make: invalid UTF-8 in a text frame); their
responses are put through the registry's frame checker here, as conftest does for the client.

The example count is fixed and the generation derandomized so CI runs the same frames every time.
For a longer run by hand set CHATD_FUZZ_EXAMPLES (default 150, per codec), e.g.

    CHATD_FUZZ_EXAMPLES=5000 pytest -q tests/test_fuzz_frames.py

and CHATD_FUZZ_SEED=<int> to draw other frames than CI's (`-s` prints how the frames were answered).

A failing frame is shrunk by hypothesis and printed (the `note` lines in the failure report).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any

import msgspec
import pytest
import trio
from hypothesis import HealthCheck, assume, given, note, seed, settings
from hypothesis import strategies as st

from chatd.protocol.registry import REGISTRY
from chatd.protocol.wirecheck import check_frame

from .bystander import watching
from .bad_input import BINARY, CLOSE, TEXT, UNIVERSAL, RawSocket, check_error

EXAMPLES = int(os.environ.get("CHATD_FUZZ_EXAMPLES", "150"))
SEED = os.environ.get("CHATD_FUZZ_SEED")  # other frames than CI's, by hand
LIMIT = 65536  # server.max_frame_bytes for this file; every frame sent stays under it
COMMANDS = [c for c in REGISTRY.commands.values() if c.kind == "request" and c.implemented]
INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1
HUGE_INTS = [2**63 - 1, 2**63, 2**64 - 1, -(2**63), -(2**63) - 1, 2**64, 2**100, -(2**100), 10**40]
# Markers put into a value by the generator, replaced in the encoded bytes afterwards.
BAD_UTF8 = "\x01BADUTF8\x01"  # 9 bytes, replaced by 9 bytes that are not UTF-8
BAD_UTF8_BYTES = [b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7", b"\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80", b"abc\x80defg\xc3"]
NUMBER = "@@NUMBER@@"  # in JSON only: replaced (with its quotes) by a non-standard number token
NUMBER_TOKENS = [b"NaN", b"-NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"nan", b"inf", b"0x10", b"+1", b"01"]
DEEP = "@@DEEP@@"  # replaced (with its quotes, or its MessagePack header) by thousands of nested arrays
DEEP_LEVELS = [1000, 5000, 20000]
IDS: dict[str, list[int]] = {}  # the real ids the fuzzer's values aim at, filled in by the test


# -- strategies ------------------------------------------------------------------------------


def _scalars(msgpack: bool) -> st.SearchStrategy[Any]:
    base = [
        st.none(),
        st.booleans(),
        st.integers(INT64_MIN, UINT64_MAX) if msgpack else st.integers(),
        st.floats(allow_nan=msgpack, allow_infinity=msgpack),  # JSON gets them as raw tokens
        st.text(max_size=20),
        st.just(BAD_UTF8),
    ]
    if msgpack:
        base.append(st.binary(max_size=20))
    else:
        base.append(st.just(NUMBER))
    return st.one_of(base)


def _hostile(msgpack: bool) -> st.SearchStrategy[Any]:
    """Any value at all: scalars, containers of them, and deep nesting."""
    nested = st.recursive(
        _scalars(msgpack),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
    deep = st.builds(_deep, st.sampled_from([20, 100, 400]), st.booleans())
    return st.one_of(nested, deep, st.just(DEEP))


def _deep(depth: int, as_map: bool) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value} if as_map else [value]
    return value


def _ints(spec: dict[str, Any], msgpack: bool) -> st.SearchStrategy[int]:
    lo, hi = spec.get("min"), spec.get("max")
    near = [v for b in (lo, hi) if b is not None for v in (b - 1, b, b + 1)]
    huge = [v for v in HUGE_INTS if not msgpack or INT64_MIN <= v <= UINT64_MAX]
    return st.one_of(
        st.sampled_from([0, 1, 2, 3, -1, *near]),
        st.sampled_from(sorted({i for ids in IDS.values() for i in ids}) or [1]),
        st.integers(-5, 1000),
        st.sampled_from(huge),
    )


def _strs(spec: dict[str, Any]) -> st.SearchStrategy[str]:
    lo, hi = spec.get("min_length", 0), spec.get("max_length")
    lengths = {0, lo, max(lo - 1, 0), 30000}
    if hi is not None:
        lengths |= {hi, hi + 1}
    choices = ["owner", "admin", "member", "pending", "all", "approved", "\N{GRINNING FACE}"]
    return st.one_of(
        st.text(max_size=40),
        st.builds(lambda n, c: c * n, st.sampled_from(sorted(lengths)), st.sampled_from(["x", "\u00e9", "\N{GRINNING FACE}"])),
        st.sampled_from(choices),
        st.just(BAD_UTF8),
    )


def _content(msgpack: bool) -> st.SearchStrategy[Any]:
    text = st.one_of(st.text(max_size=30), st.builds(lambda n: "t" * n, st.sampled_from([0, 16000, 16001, 30000])), st.just(BAD_UTF8))
    button = st.fixed_dictionaries({"text": text}, optional={"data": text, "url": text})
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("text"), "text": text}),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "markdown", "image", "file", "buttons", "card", "", "TEXT", "nope"])},
            optional={
                "text": text,
                "url": text,
                "name": text,
                "size": _ints({}, msgpack),
                "buttons": st.lists(st.lists(button | _hostile(msgpack), max_size=3), max_size=3) | _hostile(msgpack),
                "extra": _hostile(msgpack),
            },
        ),
    )


def _valid(spec: dict[str, Any], msgpack: bool) -> st.SearchStrategy[Any]:
    t = spec["type"]
    if t == "int":
        return _ints(spec, msgpack)
    if t == "str":
        return _strs(spec)
    if t == "bool":
        return st.booleans()
    if t == "float":
        return st.floats(allow_nan=False, allow_infinity=False)
    if t == "list[int]":
        hi = spec.get("max_length", 100)
        return st.one_of(
            st.lists(_ints(spec, msgpack), max_size=5),
            st.builds(lambda n, v: [v] * n, st.sampled_from([0, hi, hi + 1]), _ints(spec, msgpack)),
            st.lists(_hostile(msgpack), max_size=3),
        )
    if t == "list[str]":
        hi = spec.get("max_length", 100)
        return st.one_of(
            st.lists(_strs({}), max_size=5),
            st.builds(lambda n, v: [v] * n, st.sampled_from([0, hi, hi + 1]), st.sampled_from(["send", "kick"])),
            st.lists(_hostile(msgpack), max_size=3),
        )
    if t == "Content":
        return _content(msgpack)
    if t == "any":  # a control message's data: any value, of any size
        return st.one_of(_hostile(msgpack), st.text(max_size=5000), st.dictionaries(st.text(max_size=5), st.integers(), max_size=5))
    if t == "list[any]":  # a bot's commands
        item = st.one_of(_hostile(msgpack), st.fixed_dictionaries({"name": st.text(max_size=40)}, optional={"params": st.lists(_hostile(msgpack), max_size=3)}))
        return st.one_of(st.lists(item, max_size=5), _hostile(msgpack))
    raise AssertionError(f"the fuzzer does not know the field type {t!r}: add a strategy for it")


def _field(spec: dict[str, Any], msgpack: bool) -> st.SearchStrategy[Any]:
    return st.one_of(_valid(spec, msgpack), _valid(spec, msgpack), _valid(spec, msgpack), _hostile(msgpack))


def _inbounds(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value the decoder accepts, aimed at the ids that exist: requests that reach the handlers."""
    t = spec["type"]
    ids = sorted({i for v in IDS.values() for i in v}) or [1]
    if t == "int":
        lo, hi = spec.get("min", 0), spec.get("max", 2**31)
        return st.one_of(st.sampled_from(ids), st.integers(lo, min(hi, lo + 5)), st.integers(lo, hi))
    if t == "str":
        lo, hi = spec.get("min_length", 0), spec.get("max_length", 100)
        return st.one_of(st.text(min_size=lo, max_size=min(hi, 30)), st.sampled_from(["owner", "admin", "member", "all"]).filter(lambda v: lo <= len(v) <= hi))
    if t == "bool":
        return st.booleans()
    if t == "float":
        return st.floats(0, 1000)
    if t == "list[int]":
        return st.lists(st.sampled_from(ids), min_size=spec.get("min_length", 0), max_size=min(spec.get("max_length", 5), 5))
    if t == "list[str]":
        names = ["view_channel", "send", "read_history", "kick", "mute", "manage_roles", "administrator", "fly", "dm:2", "group:1", "channel:3"]
        return st.lists(st.sampled_from(names), max_size=min(spec.get("max_length", 5), 5))
    if t == "Content":
        return st.fixed_dictionaries({"type": st.sampled_from(["text", "markdown"]), "text": st.text(min_size=1, max_size=30)})
    if t == "any":
        return st.one_of(st.none(), st.integers(), st.text(max_size=30))
    if t == "list[any]":
        return st.lists(st.fixed_dictionaries({"name": st.sampled_from(["help", "weather", "x"])}), max_size=3)
    raise AssertionError(f"the fuzzer does not know the field type {t!r}: add a strategy for it")


@st.composite
def _data(draw: st.DrawFn, cmd: Any, msgpack: bool) -> Any:
    if draw(st.integers(0, 3)) == 0:  # decodable data, in bounds: past the decoder into the handler
        return draw(
            st.fixed_dictionaries(
                {n: _inbounds(s) for n, s in cmd.request.items() if not s.get("optional") and "default" not in s},
                optional={n: _inbounds(s) for n, s in cmd.request.items() if s.get("optional") or "default" in s},
            )
        )
    if draw(st.integers(0, 19)) == 0:
        return draw(_hostile(msgpack))  # data that is not an object
    required = {n: _field(s, msgpack) for n, s in cmd.request.items() if not s.get("optional") and "default" not in s}
    optional = {n: _field(s, msgpack) for n, s in cmd.request.items() if n not in required}
    data = draw(st.fixed_dictionaries(required, optional=optional))
    if required and draw(st.integers(0, 5)) == 0:
        data.pop(draw(st.sampled_from(sorted(required))))  # a missing field
    if draw(st.integers(0, 5)) == 0:
        data.update(draw(st.dictionaries(st.text(max_size=10), _hostile(msgpack), min_size=1, max_size=3)))  # extra ones
    return data


@st.composite
def frames(draw: st.DrawFn, msgpack: bool) -> tuple[bytes, int, Any, bool]:
    """(payload, opcode, id sent, whether the envelope may be unreadable)."""
    cmd = draw(st.sampled_from(COMMANDS))
    data = draw(_data(cmd, msgpack))
    rid: Any = draw(st.one_of(st.integers(1, 2**31), st.text(min_size=1, max_size=12).map(lambda s: "f" + s)))
    envelope: dict[str, Any] = {"cmd": cmd.wire, "id": rid, "data": data}
    broken = False
    if draw(st.integers(0, 14)) == 0:  # an envelope that is itself wrong
        broken = True
        how = draw(st.sampled_from(["id", "no_cmd", "cmd", "no_data", "extra"]))
        if how == "id":
            envelope["id"] = draw(_hostile(msgpack))
        elif how == "no_cmd":
            del envelope["cmd"]
        elif how == "cmd":
            envelope["cmd"] = draw(_hostile(msgpack) | st.sampled_from([cmd.wire.upper(), cmd.wire + " ", ""]))
        elif how == "no_data":
            del envelope["data"]
        else:
            envelope["zzz"] = draw(_hostile(msgpack))
    try:
        payload = msgspec.msgpack.encode(envelope) if msgpack else msgspec.json.encode(envelope)
    except (OverflowError, TypeError, RecursionError):
        assume(False)
    if BAD_UTF8.encode() in payload:
        broken = True
        bad = draw(st.sampled_from(BAD_UTF8_BYTES))
        payload = payload.replace(BAD_UTF8.encode(), bad)
    if msgpack:
        marker = b"\xa8" + DEEP.encode()
        while marker in payload:
            broken = True
            n = draw(st.sampled_from(DEEP_LEVELS))
            payload = payload.replace(marker, b"\x91" * n + b"\x90", 1)
    else:
        marker = b'"' + DEEP.encode() + b'"'
        while marker in payload:
            broken = True
            n = draw(st.sampled_from(DEEP_LEVELS))
            payload = payload.replace(marker, b"[" * n + b"]" * n, 1)
    if not msgpack:
        quoted = b'"' + NUMBER.encode() + b'"'
        while quoted in payload:
            broken = True
            payload = payload.replace(quoted, draw(st.sampled_from(NUMBER_TOKENS)), 1)
        if draw(st.integers(0, 9)) == 0 and payload.startswith(b'{"cmd":'):  # a repeated key, in the raw text
            broken = True
            dup = draw(st.sampled_from([b'"cmd":"ping",', b'"id":"dup",', b'"data":{},', b'"data":' + msgspec.json.encode(data) + b","]))
            payload = b"{" + dup + payload[1:]
    assume(len(payload) <= LIMIT)
    return payload, BINARY if msgpack else TEXT, envelope.get("id"), broken


# -- the exchange ------------------------------------------------------------------------------


class Fuzzed:
    """One raw connection; every frame sent on it is followed by a ping."""

    def __init__(self, raw: RawSocket, msgpack: bool, caplog: pytest.LogCaptureFixture):
        self.raw = raw
        self.caplog = caplog
        self.msgpack = msgpack
        self.n = 0
        self.codes: Counter[str] = Counter()  # what the frames were answered, shown with -s

    async def _next(self) -> dict[str, Any]:
        opcode, payload = await self.raw.recv(timeout=10)
        assert opcode != 0, "the server closed the TCP stream"
        assert opcode != CLOSE, f"the server closed the connection: {payload!r}"
        assert opcode in (TEXT, BINARY), (opcode, payload)
        frame = msgspec.json.decode(payload) if opcode == TEXT else msgspec.msgpack.decode(payload)
        assert not check_frame(frame), (check_frame(frame), frame)
        return frame

    async def exchange(self, payload: bytes, opcode: int, rid: Any, broken: bool) -> None:
        self.n += 1
        ping_id = f"ping-{self.n}"
        logged = len(self.caplog.records)
        await self.raw.send(payload, opcode)
        await self.raw.send(
            msgspec.msgpack.encode({"cmd": "ping", "id": ping_id}) if self.msgpack else msgspec.json.encode({"cmd": "ping", "id": ping_id}),
            BINARY if self.msgpack else TEXT,
        )
        answers: list[dict[str, Any]] = []
        pong = None
        while pong is None or not answers:
            frame = await self._next()
            if "ok" not in frame:
                continue  # a push
            if frame.get("id") == ping_id and frame.get("cmd") == "ping" and pong is None:
                pong = frame
                continue
            assert not answers, f"a second response to one frame: {answers[0]} then {frame}"
            answers.append(frame)
        assert pong["ok"] is True and pong["data"]["pong"] is True, pong
        # Checked per frame, so that hypothesis shrinks a frame that only makes the server log an error.
        assert not _errors_logged(self.caplog, logged), _errors_logged(self.caplog, logged)
        answer = answers[0]
        self.codes["ok" if answer["ok"] is True else answer["error"]["code"]] += 1
        if answer.get("id") is None and rid is not None:
            assert broken, f"a well-formed envelope answered with id null: {answer}"
            check_error(answer, "bad_frame")
            return
        assert answer.get("id") == rid, answer
        if answer["ok"] is not True:
            code = answer["error"]["code"]
            assert code != "internal", answer
            assert code in REGISTRY.errors, answer
            if not broken and isinstance(answer.get("cmd"), str) and answer["cmd"] in REGISTRY.commands:
                cmd = REGISTRY.commands[answer["cmd"]]
                assert code in UNIVERSAL or code in cmd.errors, f"{cmd.wire} answered {code}, not listed: {answer}"


@pytest.mark.parametrize(
    "config_overrides",
    [
        {
            "server": {"max_frame_bytes": LIMIT},
            "limits": {
                "frames_burst": 1_000_000,
                "frames_per_s": 1_000_000.0,
                "user_write_burst": 1_000_000,
                "user_write_rate_per_s": 1_000_000.0,
                "send_burst": 1_000_000,
                "send_rate_per_s": 1_000_000.0,
            },
        }
    ],
)
async def test_fuzzed_frames_get_one_documented_answer_and_break_nothing(harness, users, caplog):
    caplog.set_level(logging.ERROR, logger="chatd")
    b = users["bob"]
    IDS.clear()
    async with harness.client("alice") as a:
        for cmd, data in (
            ("chat_dm_send", {"peer": b, "content": {"type": "text", "text": "hello"}}),
            ("chat_room_create", {"name": "fuzz room"}),
            ("chat_group_create", {"name": "fuzz group", "members": [b]}),
        ):
            out = await a.request(cmd, data)
            IDS.setdefault(cmd, []).extend(v for v in _ints_in(out) if 0 < v < 10**6)
    IDS["users"] = list(users.values())

    conns: dict[bool, Fuzzed] = {}
    for msgpack in (False, True):
        raw = await RawSocket.open(harness)
        await raw.login("carol" if msgpack else "alice", binary=msgpack)  # carol owns nothing
        conns[msgpack] = Fuzzed(raw, msgpack, caplog)

    def run(msgpack: bool) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=not SEED,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(frame=frames(msgpack))
        def check(frame: tuple[bytes, int, Any, bool]) -> None:
            payload, opcode, rid, broken = frame
            note(f"{'msgpack' if msgpack else 'json'} frame ({len(payload)} bytes): {payload[:2000]!r}")
            trio.from_thread.run(conns[msgpack].exchange, payload, opcode, rid, broken)

        (seed(int(SEED))(check) if SEED else check)()

    try:
        async with watching(harness, "fuzzed frames on two connections"):
            for msgpack in (False, True):
                await trio.to_thread.run_sync(run, msgpack)
    finally:
        for conn in conns.values():
            await conn.raw.aclose()
    for msgpack, conn in conns.items():
        print(f"{'msgpack' if msgpack else 'json'}: {conn.n} frames, answered {dict(conn.codes.most_common())}")
    assert all(conn.n >= EXAMPLES // 2 for conn in conns.values()), {m: c.n for m, c in conns.items()}
    async with harness.client("bob") as bystander:
        assert (await bystander.request("ping"))["pong"] is True
    assert not _errors_logged(caplog), _errors_logged(caplog)


def _errors_logged(caplog: pytest.LogCaptureFixture, since: int = 0) -> str:
    records = [r for r in caplog.records[since:] if r.name.startswith("chatd") and r.levelno >= logging.ERROR]
    return "\n".join(f"{r.name}: {r.getMessage()}" for r in records)


def _ints_in(value: Any) -> list[int]:
    """Every int in a response body: the ids the fuzzer should aim at."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [i for v in value.values() for i in _ints_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in _ints_in(v)]
    return []

"""chatd/protocol/wire.py is generated from the registry and up to date, and the frame checker
that tests/conftest.py runs on every frame the test client receives rejects what it should.

Plain functions: no server, no sockets.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chatd.protocol import structgen, wire
from chatd.protocol.registry import REGISTRY
from chatd.protocol.wirecheck import allowed_errors, check_frame

ROOT = Path(__file__).resolve().parents[1]

USER = {"id": 2, "name": "bob", "display_name": "Bob", "is_admin": False}
MESSAGE = {
    "id": 211106232532992,
    "conv_id": 1,
    "seq": 1,
    "sender_id": 1,
    "content": {"type": "text", "text": "明天开会"},
    "client_msg_id": None,
    "quote_id": None,
    "quote": None,
    "mentions": [],
    "created_at": 1764000000000,
    "edited_at": None,
    "recalled_at": None,
    "reactions": [],
}
SEND_OK = {
    "cmd": "chat_dm_send",
    "id": "c1",
    "ok": True,
    "data": {"id": 1, "conv_id": 1, "seq": 1, "server_time": 1, "duplicate": False, "delivered": True, "message": MESSAGE},
}
PUSH = {"cmd": "chat_message", "data": {"event": "new", "kind": "dm", "conv_id": 1, "seq": 1, "peer": 1, "message": MESSAGE}}


def _changed(frame: dict, path: str, value: object = ...) -> dict:
    """A deep copy of `frame` with the dotted `path` set to `value` (or removed when value is ...)."""
    out = copy.deepcopy(frame)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out


# -- the generated module ----------------------------------------------------------------


def test_structgen_is_deterministic():
    assert structgen.render() == structgen.render()


def test_wire_py_is_up_to_date():
    expected = structgen.render()
    path = structgen.WIRE_PY
    actual = path.read_text(encoding="utf-8") if path.exists() else ""
    if actual != expected:
        old, new = actual.splitlines(), expected.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        pytest.fail(
            f"{path.relative_to(ROOT)} is stale (first difference at line {line + 1}): run `python -m chatd.protocol.structgen`",
            pytrace=False,
        )


def test_structgen_check_mode(tmp_path, capsys):
    target = tmp_path / "wire.py"
    assert structgen.main(["--check", "--output", str(target)]) == 1
    assert "stale" in capsys.readouterr().err
    assert structgen.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == structgen.render()
    assert structgen.main(["--check", "--output", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    assert structgen.main(["--check", "--output", str(target)]) == 1


def test_every_implemented_command_and_type_has_a_struct():
    for cmd in REGISTRY.commands.values():
        table = wire.RESPONSES if cmd.kind == "request" else wire.PUSHES
        if cmd.implemented:
            assert table[cmd.wire].__name__ == structgen.class_name(cmd), cmd.wire
            assert set(table[cmd.wire].__struct_fields__) == set(cmd.response), cmd.wire
        else:
            assert cmd.wire not in table
    for name, spec in REGISTRY.types.items():
        if spec.get("fields"):
            assert set(getattr(wire, name).__struct_fields__) == set(spec["fields"]), name


def test_nullable_is_only_for_what_the_server_sends():
    bad = [f"{c.wire}.{f}" for c in REGISTRY.commands.values() for f, spec in c.request.items() if "nullable" in spec]
    assert not bad, f"`nullable:` in request fields (use `optional: true` there): {bad}"


def test_examples_pass_the_checker():
    """Examples may abbreviate nested objects for people (`message: {}`); apart from that they
    must be frames the checker accepts."""
    problems = []
    for cmd in REGISTRY.commands.values():
        if cmd.implemented:
            frame = cmd.example["response" if cmd.kind == "request" else "push"]
            problems += [p for p in check_frame(frame) if "missing required field" not in p]
    assert not problems, "\n".join(problems)


# -- the checker -------------------------------------------------------------------------


def test_good_frames_pass():
    assert check_frame(SEND_OK) == []
    assert check_frame(PUSH) == []
    recalled = _changed(_changed(PUSH, "data.message.content", None), "data.message.recalled_at", 5)
    assert check_frame(recalled) == []
    delete = {"cmd": "chat_message", "data": {"event": "delete", "kind": "dm", "conv_id": 1, "seq": 3, "peer": 2, "msg_ids": [7]}}
    assert check_frame(delete) == []


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (_changed(SEND_OK, "data.message.extra", 1), "unknown field `extra` - at `data.message`"),
        (_changed(SEND_OK, "data.message.seq", "1"), "Expected `int`, got `str` - at `data.message.seq`"),
        (_changed(SEND_OK, "data.message.created_at", None), "Expected `int`, got `null` - at `data.message.created_at`"),
        (_changed(SEND_OK, "data.duplicate", 0), "Expected `bool`, got `int` - at `data.duplicate`"),
        (_changed(SEND_OK, "data.delivered"), "missing required field `delivered`"),
        (_changed(SEND_OK, "data.message.content.text", 5), "at `data.message.content.text`"),
        (_changed(SEND_OK, "data.message.content", {"type": "nope"}), "Invalid value 'nope' - at `data.message.content.type`"),
        (_changed(SEND_OK, "ok", 1), "at `frame.ok`"),
        (_changed(SEND_OK, "cmd", "no_such_command"), "not an implemented request"),
        (_changed(PUSH, "data.kind", ["dm"]), "Expected `str`, got `array` - at `data.kind`"),
        (_changed(PUSH, "data.message.mentions", [1, "2"]), "at `data.message.mentions[1]`"),
        (_changed(PUSH, "data.peer", None), "got `null` - at `data.peer`"),
        (_changed(PUSH, "cmd", "no_such_push"), "not an implemented push"),
        (_changed(PUSH, "id", "c3"), "unknown field `id`"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_frames_are_rejected_with_their_path(frame, expected):
    problems = check_frame(frame)
    assert len(problems) == 1, problems
    assert repr(frame["cmd"]) in problems[0]
    assert expected in problems[0]


def test_error_codes_are_checked_against_the_registry():
    def failed(cmd, code, **extra):
        return {"cmd": cmd, "id": "c1", "ok": False, "error": {"code": code, "message": "m", **extra}}

    assert check_frame(failed("chat_dm_send", "not_found", field="peer")) == []
    assert check_frame(failed("chat_dm_send", "rate_limited", retry_after_ms=10)) == []
    assert check_frame(failed("chat_dm_send", "internal")) == []
    assert check_frame(failed("no_such_command", "unknown_command", field="cmd")) == []
    assert check_frame(failed(None, "bad_frame")) == []
    assert "not listed under the command's errors" in check_frame(failed("push_device_register", "not_implemented"))[0]  # implemented
    assert "not one of the registry's error codes" in check_frame(failed("chat_dm_send", "oops"))[0]
    assert "not listed under the command's errors" in check_frame(failed("chat_dm_send", "banned"))[0]
    assert "not listed under the command's errors" in check_frame(failed("chat_dm_send", "unknown_command"))[0]
    assert "unknown field `hint`" in check_frame(failed("chat_dm_send", "not_found", hint="x"))[0]
    assert "at `frame.error.retry_after_ms`" in check_frame(failed("chat_dm_send", "rate_limited", retry_after_ms="10"))[0]
    assert allowed_errors("chat_dm_send") >= {"not_found", "unavailable", "internal"}


def test_the_suite_hook_fails_a_test_that_received_a_bad_frame(tmp_path):
    """The autouse fixture in tests/conftest.py: a test whose client received a frame the registry
    does not promise fails, naming the cmd and the path of the bad field."""
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "test_frames.py").write_text(
        textwrap.dedent(
            """
            from chatd.client import Client

            def _client():
                return Client(None)

            def test_bad_push():
                _client()._handle({"cmd": "chat_typing", "data": {"kind": "dm", "conv_id": 1, "user_id": "2", "typing": True}})

            def test_good_push():
                _client()._handle({"cmd": "chat_typing", "data": {"kind": "dm", "conv_id": 1, "user_id": 2, "typing": True}})

            def test_bad_response_and_a_failing_test():
                _client()._handle({"cmd": "ping", "id": "c1", "ok": True, "data": {"pong": True}})
                assert False, "the test's own failure"
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 failed, 1 passed" in out, out
    assert "push 'chat_typing': Expected `int`, got `str` - at `data.user_id`" in out, out
    assert "response 'ping': Object missing required field `server_time` - at `data`" in out, out
    assert "the test's own failure" in out, out

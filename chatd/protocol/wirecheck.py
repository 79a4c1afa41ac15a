"""Check a frame the server sent against the registry, strictly.

    problems = check_frame(frame)     # [] when the frame is what the registry promises

A successful response's `data` must match the generated Struct of its `cmd`
(chatd/protocol/wire.py: RESPONSES), a push's `data` the Struct of its push
(PUSHES): unknown fields, missing fields, wrong types and nulls the registry does
not allow are all problems. An error response's `error.code` must be one of the
registry's codes, and one that its command lists under `errors:` (any command may
also answer `unavailable`, `internal` and, before login, `not_logged_in`). The
tests run every frame chatd's own client receives through this (tests/conftest.py).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from .registry import REGISTRY, Registry
from .wire import PUSHES, RESPONSES

GENERAL_ERRORS = frozenset({"unavailable", "internal", "not_logged_in"})


class _Ok(msgspec.Struct, forbid_unknown_fields=True):
    cmd: str
    id: str | int | None
    ok: Literal[True]
    data: Any


class _Error(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    message: str
    field: str | UnsetType = UNSET
    retry_after_ms: int | UnsetType = UNSET
    missing: str | UnsetType = UNSET
    by: str | UnsetType = UNSET


class _Failed(msgspec.Struct, forbid_unknown_fields=True):
    cmd: str | None
    id: str | int | None
    ok: Literal[False]
    error: _Error


class _Push(msgspec.Struct, forbid_unknown_fields=True):
    cmd: str
    data: Any


_AT = re.compile(r"`\$")


def _why(exc: msgspec.ValidationError, root: str) -> str:
    """A msgspec message with its `$` path rooted at `root`: "... - at `data.message.seq`"."""
    text = str(exc)
    return _AT.sub("`" + root, text) if " - at `$" in text else f"{text} - at `{root}`"


def allowed_errors(cmd: str | None, reg: Registry = REGISTRY) -> frozenset[str]:
    """The error codes a response to `cmd` may carry."""
    command = reg.commands.get(cmd) if cmd is not None else None
    if command is None or command.kind != "request":
        return GENERAL_ERRORS | {"bad_frame", "unknown_command"}
    if not command.implemented:
        return GENERAL_ERRORS | {"not_implemented"}
    return GENERAL_ERRORS | set(command.errors)


def check_frame(frame: Any, reg: Registry = REGISTRY) -> list[str]:
    """What is wrong with one decoded frame (a response or a push); empty when nothing is."""
    if not isinstance(frame, dict):
        return [f"a frame that is not an object: {type(frame).__name__}"]
    cmd = frame.get("cmd")
    if "ok" not in frame:
        try:
            push = msgspec.convert(frame, _Push)
        except msgspec.ValidationError as exc:
            return [f"push {cmd!r}: {_why(exc, 'frame')}"]
        shape = PUSHES.get(push.cmd)
        if shape is None:
            return [f"push {cmd!r}: not an implemented push in the registry"]
        try:
            msgspec.convert(push.data, shape)
        except msgspec.ValidationError as exc:
            return [f"push {cmd!r}: {_why(exc, 'data')}"]
        return []
    if frame["ok"] is True:
        try:
            ok = msgspec.convert(frame, _Ok)
        except msgspec.ValidationError as exc:
            return [f"response {cmd!r}: {_why(exc, 'frame')}"]
        shape = RESPONSES.get(ok.cmd)
        if shape is None:
            return [f"response {cmd!r}: ok, but not an implemented request in the registry"]
        try:
            msgspec.convert(ok.data, shape)
        except msgspec.ValidationError as exc:
            return [f"response {cmd!r}: {_why(exc, 'data')}"]
        return []
    try:
        failed = msgspec.convert(frame, _Failed)
    except msgspec.ValidationError as exc:
        return [f"error response {cmd!r}: {_why(exc, 'frame')}"]
    code = failed.error.code
    if code not in reg.errors:
        return [f"error response {cmd!r}: code {code!r} is not one of the registry's error codes"]
    if code not in allowed_errors(cmd, reg):
        return [f"error response {cmd!r}: code {code!r} is not listed under the command's errors: in protocol.yaml"]
    return []

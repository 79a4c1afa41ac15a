"""The wire envelope: decode a request once, encode responses and pushes.

Text frames carry JSON, binary frames MessagePack, with the same shape:

    request   {"cmd": "...", "id": "c17", "data": {...}}
    response  {"cmd": "...", "id": "c17", "ok": true, "data": {...}}
              {"cmd": "...", "id": "c17", "ok": false, "error": {"code": ..., "message": ..., "field": ...}}
    push      {"cmd": "...", "data": {...}}

This module imports neither trio nor sqlite3.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..errors import ChatError
from .requests import ONE_OF, REQUESTS, UNIMPLEMENTED

JSON = 0
MSGPACK = 1


class Envelope(msgspec.Struct):
    cmd: str
    id: str | int | None = None
    data: msgspec.Raw = msgspec.Raw(b"")


_env_decoders = (msgspec.json.Decoder(Envelope), msgspec.msgpack.Decoder(Envelope))
_encoders = (msgspec.json.Encoder(), msgspec.msgpack.Encoder())
_EMPTY = (b"{}", b"\x80")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_WHOLE_FLOAT = re.compile(r"Expected `[^`]*\bint\b[^`]*`, got `float`")


def _whole_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: _whole_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_ints(v) for v in value]
    return value


class Request:
    __slots__ = ("cmd", "id", "data", "codec")

    def __init__(self, cmd: str, id: Any, data: Any, codec: int):
        self.cmd = cmd
        self.id = id
        self.data = data
        self.codec = codec


class Codec:
    """Decoders for every implemented request command, built once.

    The payload Structs come from chatd/protocol/requests.py, generated from the registry
    (chatd.protocol.requestgen), so serving never reads clients/protocol.yaml."""

    def __init__(self, structs: dict[str, type[msgspec.Struct]] = REQUESTS, unimplemented: frozenset[str] = UNIMPLEMENTED):
        self.unimplemented = unimplemented
        self._decoders: dict[str, tuple[Any, Any]] = {
            wire: (msgspec.json.Decoder(struct), msgspec.msgpack.Decoder(struct)) for wire, struct in structs.items()
        }

    def decode(self, payload: bytes | str, codec: int) -> Request:
        """Decode a frame. Raises ChatError(bad_frame | unknown_command | not_implemented | bad_request);
        when the envelope could be read, the error carries `.cmd` and `.req_id` for the response."""
        try:
            env = _env_decoders[codec].decode(payload)
        except msgspec.ValidationError as exc:
            raise ChatError("bad_frame", f"not a request envelope: {exc}") from None
        except msgspec.DecodeError as exc:
            kind = "JSON" if codec == JSON else "MessagePack"
            raise ChatError("bad_frame", f"malformed {kind}: {exc}") from None
        except UnicodeDecodeError:
            raise ChatError("bad_frame", "the frame holds text that is not UTF-8") from None
        except RecursionError:
            raise ChatError("bad_frame", "the frame is nested too deeply") from None
        try:
            data = self.decode_data(env.cmd, bytes(env.data), codec)
        except ChatError as err:
            err.cmd = env.cmd  # type: ignore[attr-defined]
            err.req_id = env.id  # type: ignore[attr-defined]
            raise
        return Request(env.cmd, env.id, data, codec)

    def decode_data(self, cmd: str, raw: bytes, codec: int) -> Any:
        """Decode a request's `data` (empty: `{}`) with the Struct of `cmd` (the WebSocket's frames
        and the REST route, chatd.http.rest). Raises ChatError(unknown_command | not_implemented |
        bad_request, with `field`)."""
        decoders = self._decoders.get(cmd)
        if decoders is None:
            if cmd not in self.unimplemented:
                raise ChatError("unknown_command", f"no command named {cmd!r}", field="cmd")
            raise ChatError("not_implemented", f"{cmd} is not implemented by this server yet")
        raw = raw or _EMPTY[codec]
        data = self._decode(decoders, raw, codec)
        rule = ONE_OF.get(cmd)
        if rule is not None:
            exact, fields = rule
            given = sum(getattr(data, f) is not None for f in fields)
            if given == 0 or (exact and given > 1):
                raise ChatError("bad_request", f"give {'exactly' if exact else 'at least'} one of {', '.join(fields)}", field=fields[0])
        return data

    @staticmethod
    def _decode(decoders: tuple[Any, Any], raw: bytes, codec: int) -> Any:
        try:
            try:
                return decoders[codec].decode(raw)
            except msgspec.ValidationError as exc:
                if codec != JSON or not _WHOLE_FLOAT.match(str(exc)):
                    raise
                # JSON has one kind of number: 44.0 is the integer 44 (JSON Schema agrees), 44.5 is not.
                return msgspec.convert(_whole_floats_as_ints(msgspec.json.decode(raw)), decoders[codec].type)
        except msgspec.ValidationError as exc:
            text = str(exc)
            m = _AT.search(text)
            field = m.group(1) if m else None
            msg = _AT.sub("", text)
            if field:
                missing = re.match(r"Object missing required field `(\w+)`", msg)
                field = f"{field}.{missing.group(1)}" if missing else field
            elif (missing := re.match(r"Object missing required field `(\w+)`", msg)) :
                field = missing.group(1)
            elif msg.startswith("Expected `object`"):
                field = "data"
            raise ChatError("bad_request", msg, field=field) from None
        except msgspec.DecodeError as exc:
            raise ChatError("bad_request", f"data: {exc}", field="data") from None
        except UnicodeDecodeError:
            raise ChatError("bad_request", "data holds text that is not UTF-8", field="data") from None
        except RecursionError:
            raise ChatError("bad_request", "data is nested too deeply", field="data") from None


def encode(obj: Any, codec: int) -> bytes:
    return _encoders[codec].encode(obj)


def ok_body(cmd: str, req_id: Any, data: Any) -> dict[str, Any]:
    return {"cmd": cmd, "id": req_id, "ok": True, "data": data}


def error_body(cmd: str | None, req_id: Any, err: ChatError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": err.code, "message": err.message}
    if err.field:
        error["field"] = err.field
    if err.retry_after_ms is not None:
        error["retry_after_ms"] = err.retry_after_ms
    if err.missing is not None:
        error["missing"] = err.missing
    if err.by is not None:
        error["by"] = err.by
    return {"cmd": cmd, "id": req_id, "ok": False, "error": error}


def push_body(cmd: str, data: Any) -> dict[str, Any]:
    return {"cmd": cmd, "data": data}

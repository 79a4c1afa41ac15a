"""A reader's answer to a message's buttons or form (docs/bots.md), checked here and pushed to the
message's sender (the bot that sent it): a button click names a callback button of the message;
a form submission gives each field a value its type and options allow. Nothing is stored."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..store import messages
from ..store.users import public_user
from .message_reads import readable

MAX_INPUT_CHARS = 4000  # an input or textarea field's value


def _readable_content(conn: sqlite3.Connection, msg_id: int, reader: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the message, the push's data so far: where it is and who answers) for a reader who may see it."""
    at = readable(conn, msg_id, reader["id"])
    msg = messages.load(conn, msg_id)
    if msg is None or msg["content"] is None or msg["content"]["type"] != kind:
        raise ChatError("bad_request", f"the message has no {'buttons' if kind == 'buttons' else 'form'}", field="msg_id")
    return msg, {"msg_id": msg_id, "kind": at.kind, "conv_id": at.conv_id, "user": public_user(reader)}


def click(conn: sqlite3.Connection, msg_id: int, reader: dict[str, Any], value: str) -> tuple[int, dict[str, Any]]:
    """(the sender to tell, the push's data) for a click on the callback button `value`."""
    msg, data = _readable_content(conn, msg_id, reader, "buttons")
    callbacks = {b.get("value", "") for row in msg["content"]["buttons"] for b in row if b.get("action", "callback") == "callback"}
    if value not in callbacks:
        raise ChatError("bad_request", "no callback button of the message has this value", field="value")
    return msg["sender_id"], {**data, "value": value}


def submit(conn: sqlite3.Connection, msg_id: int, reader: dict[str, Any], values: Any) -> tuple[int, dict[str, Any]]:
    """(the sender to tell, the push's data) for a form's values, each checked against its field."""
    msg, data = _readable_content(conn, msg_id, reader, "form")
    if not isinstance(values, dict):
        raise ChatError("bad_request", "values is an object of field id to value", field="values")
    fields = {f["id"]: f for f in msg["content"]["fields"]}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ChatError("bad_request", f"the form has no field {unknown[0]!r}", field=f"values.{unknown[0]}")
    out: dict[str, Any] = {}
    for fid, field in fields.items():
        value = values.get(fid, field.get("default"))
        out[fid] = _checked(fid, field, value)
    return msg["sender_id"], {**data, "values": out}


def _checked(fid: str, field: dict[str, Any], value: Any) -> Any:
    at = f"values.{fid}"
    kind = field["type"]
    if value is None:
        return None
    if kind == "switch":
        if not isinstance(value, bool):
            raise ChatError("bad_request", f"{fid} is a switch: true or false", field=at)
        return value
    if not isinstance(value, str):
        raise ChatError("bad_request", f"{fid} takes text", field=at)
    if kind in ("radio", "select"):
        if value not in (field.get("options") or []):
            raise ChatError("bad_request", f"{value[:40]!r} is not one of {fid}'s options", field=at)
    elif len(value) > MAX_INPUT_CHARS:
        raise ChatError("too_large", f"{fid} holds at most {MAX_INPUT_CHARS} characters", field=at)
    return value

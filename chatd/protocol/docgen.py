"""Generate the API reference, docs/api.md, from the registry (clients/protocol.yaml).

    python -m chatd.protocol.docgen            rewrite docs/api.md
    python -m chatd.protocol.docgen --check    exit 1 when docs/api.md is stale

The output depends only on the YAML, so it is the same on every machine;
tests/test_registry.py fails when the file and the registry disagree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from . import generated
from .registry import REGISTRY, Command, Registry

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
COMMAND = "python -m chatd.protocol.docgen"
_CONSTRAINTS = ("min", "max", "min_length", "max_length", "pattern", "enum")


def _text(value: Any) -> str:
    """One line of prose: whitespace collapsed."""
    return " ".join(str(value or "").split())


def _cell(value: Any) -> str:
    """A table cell: one line, pipes escaped."""
    return _text(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out + [""]


def _type(spec: str, reg: Registry) -> str:
    """A field type in code style, with named types linked to their section."""
    out: list[str] = []
    plain = ""
    for part in re.split(r"(\w+)", _text(spec)):
        if part in reg.types:
            out += [f"`{plain}`"] if plain else []
            out.append(f"[`{part}`](#{part.lower()})")
            plain = ""
        else:
            plain += part
    return "".join(out + ([f"`{plain}`"] if plain else []))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _required(spec: dict[str, Any]) -> str:
    if spec.get("optional"):
        return "optional"
    if "default" in spec:
        return f"default `{json.dumps(spec['default'], ensure_ascii=False)}`"
    return "required"


def _constraints(spec: dict[str, Any]) -> str:
    return ", ".join(f"{key} {', '.join(spec[key]) if key == 'enum' else spec[key]}" for key in _CONSTRAINTS if key in spec)


def _request_table(fields: dict[str, dict[str, Any]], reg: Registry) -> list[str]:
    rows = [
        [f"`{name}`", _type(spec["type"], reg), _required(spec), _cell(_constraints(spec)), _cell(spec.get("doc"))]
        for name, spec in fields.items()
    ]
    return _table(["field", "type", "required", "constraints", "description"], rows)


def _sent_type(spec: dict[str, Any], reg: Registry) -> str:
    """The type of a field the server sends, with whether it may be null or left out."""
    out = _type(spec["type"], reg)
    if spec.get("nullable"):
        out += " or `null`"
    if spec.get("optional"):
        out += " (may be absent)"
    return out


def _fields_table(fields: dict[str, dict[str, Any]], reg: Registry) -> list[str]:
    rows = [[f"`{name}`", _sent_type(spec, reg), _cell(spec.get("doc"))] for name, spec in fields.items()]
    return _table(["field", "type", "description"], rows)


def _intro(reg: Registry) -> list[str]:
    return [
        "# chatd WebSocket API reference",
        "",
        f"<!-- Generated from clients/protocol.yaml by `{COMMAND}`. Do not edit by hand. -->",
        "",
        f"This file is generated from `clients/protocol.yaml` (protocol version {reg.version}); "
        f"edit the YAML and run `{COMMAND}` instead of editing it. "
        "How to connect, log in, keep a session alive and catch up after a disconnect is "
        "described in the [client guide](protocol.md).",
        "",
        "Every frame is one object: JSON in a text frame, MessagePack with the same shape in a binary frame.",
        "",
        "```",
        'request   {"cmd": "chat_dm_send", "id": "c17", "data": {...}}',
        'response  {"cmd": "chat_dm_send", "id": "c17", "ok": true, "data": {...}}',
        '          {"cmd": "chat_dm_send", "id": "c17", "ok": false, "error": {"code": "not_found", "message": "...", "field": "peer"}}',
        'push      {"cmd": "chat_message", "data": {...}}',
        "```",
        "",
        "A response echoes the request's `cmd` and `id`. Below, *request fields* describe "
        "the request's `data`, *response fields* the `data` of a successful response, "
        "and *push fields* the `data` of a push. A response or push field is always there and "
        "never null unless its type says `or null` (it may be null) or *may be absent* "
        "(it may be left out).",
        "",
        "Every request has a *cost*: what it takes from the user's write budget, which all of "
        "the user's connections share (`limits.user_write_rate_per_s` units per second, bursts "
        "of up to `limits.user_write_burst`). Requests that write nothing cost 0. A request over "
        "the budget answers `rate_limited` with `retry_after_ms` and does nothing; see "
        "[rate limits](protocol.md#rate-limits).",
        "",
    ]


def _errors(reg: Registry) -> list[str]:
    out = [
        "## Error codes",
        "",
        "An error response carries `error.code` (one of these), `error.message` (for people, "
        "not for branching), and where it applies `error.field` (the offending field, e.g. "
        "`content.text`) and `error.retry_after_ms`. Any command may also answer `unavailable` "
        "or `internal`; each command below lists the other codes it can answer.",
        "",
    ]
    return out + _table(["code", "meaning"], [[f"`{code}`", _cell(doc)] for code, doc in reg.errors.items()])


def _types(reg: Registry) -> list[str]:
    out = ["## Shared types", ""]
    for name, spec in reg.types.items():
        out += [f"### {name}", ""]
        if spec.get("doc"):
            out += [_text(spec["doc"]), ""]
        if spec.get("fields"):
            out += _fields_table(spec["fields"], reg)
    return out


def _status(cmd: Command) -> str:
    if cmd.implemented:
        return "implemented"
    return "not implemented yet (answers `not_implemented`)" if cmd.kind == "request" else "not implemented yet (never sent)"


def _command(cmd: Command, reg: Registry) -> list[str]:
    out = [f"### `{cmd.wire}`", "", f"**{cmd.name}** · {cmd.kind}", ""]
    if cmd.summary:
        out += [cmd.summary, ""]
    if cmd.kind == "request":
        if cmd.request:
            out += ["Request fields:", ""] + _request_table(cmd.request, reg)
            if cmd.at_least_one_of:
                out += ["At least one of " + ", ".join(f"`{f}`" for f in cmd.at_least_one_of) + " must be given.", ""]
            if cmd.exactly_one_of:
                out += ["Exactly one of " + ", ".join(f"`{f}`" for f in cmd.exactly_one_of) + " must be given.", ""]
        else:
            out += ["Request fields: none (`data` may be `{}` or left out).", ""]
    label = "Response fields" if cmd.kind == "request" else "Push fields"
    if cmd.response:
        out += [f"{label}:", ""] + _fields_table(cmd.response, reg)
    else:
        out += [f"{label}: none.", ""]
    if cmd.kind == "request":
        codes = ", ".join(f"`{code}`" for code in cmd.errors) or "none besides the general ones"
        out += [f"Errors: {codes} ([error codes](#error-codes)).", ""]
        out += [f"Cost: {cmd.cost} (write budget).", ""]
    for key, example in cmd.example.items():
        out += [f"Example {key}:", "", "```json", _json(example), "```", ""]
    return out


def _group(group: dict[str, str], reg: Registry) -> list[str]:
    title = _text(group["title"])
    seed = _text(group.get("seed"))
    out = [f"## {title}" + (f" ({seed})" if seed and seed != title else ""), ""]
    commands = reg.by_group(group["id"])
    if not commands:
        return out + ["No commands yet.", ""]
    rows = []
    for cmd in commands:
        wire = f"[`{cmd.wire}`](#{cmd.wire})" if cmd.implemented else f"`{cmd.wire}`"
        rows.append([cmd.name, wire, cmd.kind, _status(cmd)])
    out += _table(["command", "wire", "kind", "status"], rows)
    for cmd in commands:
        if cmd.implemented:
            out += _command(cmd, reg)
    return out


def render(reg: Registry = REGISTRY) -> str:
    """The full text of docs/api.md."""
    lines = _intro(reg) + _errors(reg) + _types(reg)
    for group in reg.groups:
        lines += _group(group, reg)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, command=COMMAND, description="Generate docs/api.md from clients/protocol.yaml.", default=API_MD, render=render)


if __name__ == "__main__":
    sys.exit(main())

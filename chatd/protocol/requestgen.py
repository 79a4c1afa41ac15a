"""Generate chatd/protocol/requests.py, what the server needs of the registry at run time, from it.

    python -m chatd.protocol.requestgen            rewrite chatd/protocol/requests.py
    python -m chatd.protocol.requestgen --check    exit 1 when chatd/protocol/requests.py is stale

requests.py holds the payload Struct of every implemented request (`<name>Request`,
the same fields, types, limits and defaults the registry builds from its `request:`
fields), each request's `cost:`, and the names of the requests that are not
implemented. The server imports it instead of reading clients/protocol.yaml: no YAML
parser and no parsed document stay in its memory, and starting takes no parsing.
The output depends only on the YAML.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from pathlib import Path
from typing import Any

from . import generated
from .registry import INT64, REGISTRY, Command, Registry

REQUESTS_PY = Path(__file__).resolve().with_name("requests.py")
COMMAND = "python -m chatd.protocol.requestgen"
_SCALARS = {"int": "int", "float": "float", "str": "str", "bool": "bool", "any": "Any"}
_NAMED = {"Content": "Content"}  # chatd.protocol.content, as registry._NAMED
_META_KEYS = (("min", "ge"), ("max", "le"), ("min_length", "min_length"), ("max_length", "max_length"))


def _type(spec: str) -> str:
    """The Python text of a registry type (registry._parse_type)."""
    spec = spec.strip()
    m = re.fullmatch(r"list\[(.+)\]", spec)
    if m:
        item = _type(m.group(1))
        return "list[Annotated[int, INT64]]" if item == "int" else f"list[{item}]"
    if spec in _SCALARS:
        return _SCALARS[spec]
    if spec in _NAMED:
        return _NAMED[spec]
    raise ValueError(f"unknown type {spec!r} in protocol.yaml")


def _field_type(spec: dict[str, Any]) -> str:
    """The Python text of a request field's type, limits included (registry._field_type)."""
    tp = _type(spec["type"])
    meta: dict[str, Any] = dict(INT64) if tp == "int" else {}
    for key, meta_key in _META_KEYS:
        if key in spec:
            meta[meta_key] = spec[key]
    if meta == INT64:
        tp = "Annotated[int, INT64]"
    elif meta:
        tp = f"Annotated[{tp}, msgspec.Meta({', '.join(f'{k}={v!r}' for k, v in meta.items())})]"
    return f"{tp} | None" if spec.get("optional") else tp


def _default(spec: dict[str, Any]) -> str | None:
    """The text after `=` of a field with a default, None for a required field (registry._build_struct)."""
    if spec.get("optional"):
        return "None"
    if "default" not in spec:
        return None
    value = spec["default"]
    if isinstance(value, (list, dict)):
        return f"msgspec.field(default_factory={type(value).__name__})"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _class(cmd: Command) -> list[str]:
    required, optional = [], []
    for name, spec in cmd.request.items():
        if keyword.iskeyword(name) or not name.isidentifier():
            raise ValueError(f"{cmd.wire}: request field {name!r} is not a Python name")
        default = _default(spec)
        line = f"    {name}: {_field_type(spec)}" + (f" = {default}" if default is not None else "")
        (required if default is None else optional).append(line)
    return ["", "", f"class {cmd.name}Request(msgspec.Struct, kw_only=True):"] + (required + optional or ["    pass"])


def implemented_requests(reg: Registry = REGISTRY) -> list[Command]:
    return [c for c in reg.commands.values() if c.kind == "request" and c.implemented]


def render(reg: Registry = REGISTRY) -> str:
    """The full text of chatd/protocol/requests.py."""
    commands = implemented_requests(reg)
    lines = [
        f'"""Request payloads: generated from clients/protocol.yaml by `{COMMAND}`. Do not edit by hand.',
        "",
        "What the server needs of the registry while it runs: the payload Struct of every implemented",
        "request (REQUESTS), what each takes from the user's write budget (COSTS, `cost:`), and the",
        "requests that are not implemented (UNIMPLEMENTED: `not_implemented`, not `unknown_command`).",
        "A request's fields that its Struct does not know are ignored.",
        '"""',
        "",
        "from typing import Annotated",
        "",
        "import msgspec",
        "",
        "from .content import Content",
        "",
        f"INT64 = msgspec.Meta({', '.join(f'{k}={v!r}' for k, v in INT64.items())})",
    ]
    for cmd in commands:
        lines += _class(cmd)
    lines += ["", "", "REQUESTS: dict[str, type[msgspec.Struct]] = {"]
    lines += [f"    {json.dumps(c.wire)}: {c.name}Request," for c in commands]
    lines += ["}", "", "COSTS: dict[str, int] = {"]
    lines += [f"    {json.dumps(c.wire)}: {c.cost}," for c in commands]
    lines += ["}", "", "UNIMPLEMENTED: frozenset[str] = frozenset("]
    unimplemented = [c.wire for c in reg.commands.values() if c.kind == "request" and not c.implemented]
    lines += ["    {"] + [f"        {json.dumps(w)}," for w in unimplemented] + ["    }", ")"] if unimplemented else ["    ()", ")"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, command=COMMAND, description="Generate chatd/protocol/requests.py from clients/protocol.yaml.", default=REQUESTS_PY, render=render)


if __name__ == "__main__":
    sys.exit(main())

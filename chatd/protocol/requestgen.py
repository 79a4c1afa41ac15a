"""Generate chatd/protocol/requests.py, what the server needs of the registry at run time, from it.

    python -m chatd.protocol.requestgen            rewrite chatd/protocol/requests.py
    python -m chatd.protocol.requestgen --check    exit 1 when chatd/protocol/requests.py is stale

requests.py holds the payload Struct of every implemented request (`<name>Request`):
the Struct the registry builds from the command's `request:` fields, written out as
code, so its fields, types, limits and defaults are the registry's. Besides, each
request's `cost:`, and the names of the requests that are not implemented. The server imports it instead of reading clients/protocol.yaml: no YAML
parser and no parsed document stay in its memory, and starting takes no parsing.
The output depends only on the YAML.
"""

from __future__ import annotations

import json
import keyword
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from . import generated
from .content import ClientContent
from .registry import INT64, REGISTRY, Command, Registry

REQUESTS_PY = Path(__file__).resolve().with_name("requests.py")
COMMAND = "python -m chatd.protocol.requestgen"
_META_KEYS = ("gt", "ge", "lt", "le", "multiple_of", "pattern", "min_length", "max_length")


def _meta(meta: msgspec.Meta) -> str:
    if meta == msgspec.Meta(**INT64):
        return "INT64"
    args = ", ".join(f"{k}={getattr(meta, k)!r}" for k in _META_KEYS if getattr(meta, k) is not None)
    return f"msgspec.Meta({args})"


def _type(tp: Any) -> str:
    """The Python text of a type the registry built (registry._field_type)."""
    if tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    if tp == ClientContent:
        return "ClientContent"
    origin = get_origin(tp)
    if origin is Literal:
        return f"Literal[{', '.join(repr(v) for v in get_args(tp))}]"
    if origin is Annotated:
        base, meta = get_args(tp)
        return f"Annotated[{_type(base)}, {_meta(meta)}]"
    if origin in (Union, types.UnionType):
        return " | ".join(_type(arg) for arg in get_args(tp))
    if origin is list:
        return f"list[{_type(get_args(tp)[0])}]"
    if isinstance(tp, type) and tp in (int, float, str, bool):
        return tp.__name__
    raise ValueError(f"no text for the type {tp!r}")


def _default(field: msgspec.structs.FieldInfo) -> str | None:
    """The text after `=` of a field with a default; None for a required field."""
    if field.default_factory is not msgspec.NODEFAULT:
        return f"msgspec.field(default_factory={field.default_factory.__name__})"
    if field.default is msgspec.NODEFAULT:
        return None
    return json.dumps(field.default, ensure_ascii=False) if isinstance(field.default, str) else repr(field.default)


def _class(cmd: Command) -> list[str]:
    """The class statement of the payload Struct the registry built for cmd (registry._build_struct)."""
    assert cmd.struct is not None
    lines = []
    for field in msgspec.structs.fields(cmd.struct):
        if keyword.iskeyword(field.name) or not field.name.isidentifier():
            raise ValueError(f"{cmd.wire}: request field {field.name!r} is not a Python name")
        default = _default(field)
        lines.append(f"    {field.name}: {_type(field.type)}" + (f" = {default}" if default is not None else ""))
    return ["", "", f"class {cmd.struct.__name__}(msgspec.Struct, kw_only=True):"] + (lines or ["    pass"])


def implemented_requests(reg: Registry = REGISTRY) -> list[Command]:
    return [c for c in reg.commands.values() if c.kind == "request" and c.implemented]


def render(reg: Registry = REGISTRY) -> str:
    """The full text of chatd/protocol/requests.py."""
    commands = implemented_requests(reg)
    body = [line for cmd in commands for line in _class(cmd)]
    lines = [
        f'"""Request payloads: generated from clients/protocol.yaml by `{COMMAND}`. Do not edit by hand.',
        "",
        "What the server needs of the registry while it runs: the payload Struct of every implemented",
        "request (REQUESTS), what each takes from the user's write budget (COSTS, `cost:`), the optional",
        "fields of which one must be given (ONE_OF), and the requests that are not implemented",
        "(UNIMPLEMENTED: `not_implemented`, not `unknown_command`).",
        "A request's fields that its Struct does not know are ignored.",
        '"""',
        "",
        "from typing import " + ", ".join(["Annotated"] + [n for n in ("Any", "Literal") if any(f"{n}[" in line or f" {n}" in line for line in body)]),
        "",
        "import msgspec",
        "",
        "from .content import ClientContent",
        "",
        f"INT64 = msgspec.Meta({', '.join(f'{k}={v!r}' for k, v in INT64.items())})",
    ]
    lines += body
    lines += ["", "", "REQUESTS: dict[str, type[msgspec.Struct]] = {"]
    lines += [f"    {json.dumps(c.wire)}: {c.struct.__name__}," for c in commands if c.struct is not None]
    lines += ["}", "", "COSTS: dict[str, int] = {"]
    lines += [f"    {json.dumps(c.wire)}: {c.cost}," for c in commands]
    lines += ["}", "", "# Optional fields of which at least one (False), or exactly one (True), must be given.", "ONE_OF: dict[str, tuple[bool, tuple[str, ...]]] = {"]
    for c in commands:
        for exact, fields in ((False, c.at_least_one_of), (True, c.exactly_one_of)):
            if fields:
                lines.append(f"    {json.dumps(c.wire)}: ({exact}, {tuple(fields)!r}),")
    lines += ["}", "", "UNIMPLEMENTED: frozenset[str] = frozenset("]
    unimplemented = [c.wire for c in reg.commands.values() if c.kind == "request" and not c.implemented]
    lines += ["    {"] + [f"        {json.dumps(w)}," for w in unimplemented] + ["    }", ")"] if unimplemented else ["    ()", ")"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, command=COMMAND, description="Generate chatd/protocol/requests.py from clients/protocol.yaml.", default=REQUESTS_PY, render=render)


if __name__ == "__main__":
    sys.exit(main())

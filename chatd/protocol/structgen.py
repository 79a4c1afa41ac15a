"""Generate chatd/protocol/wire.py, the typed shapes of what the server sends, from the registry.

    python -m chatd.protocol.structgen            rewrite chatd/protocol/wire.py
    python -m chatd.protocol.structgen --check    exit 1 when chatd/protocol/wire.py is stale

wire.py holds one msgspec Struct for every named type in `types:`, for the `data`
of every implemented request's successful response (`<name>Response`) and for the
`data` of every implemented push (`<name>Push`). The Structs are strict: unknown
fields are errors. A field is required and never null unless the registry marks
it `nullable: true` (it may be null) or `optional: true` (it may be absent); see
the header of clients/protocol.yaml. The output depends only on the YAML.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from pathlib import Path
from typing import Any

from . import generated
from .registry import REGISTRY, Command, Registry

WIRE_PY = Path(__file__).resolve().with_name("wire.py")
COMMAND = "python -m chatd.protocol.structgen"
_SCALARS = {"int": "int", "float": "float", "str": "str", "bool": "bool", "any": "Any"}
_IMPORTED = {"Content": "from .content import Content"}  # named types defined by hand, not by fields


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _refs(spec: str) -> list[str]:
    """The named types a field type mentions."""
    return [w for w in re.findall(r"\w+", spec) if w not in _SCALARS and w != "list"]


def _annotation(spec: str, reg: Registry) -> str:
    spec = spec.strip()
    m = re.fullmatch(r"list\[(.+)\]", spec)
    if m:
        return f"list[{_annotation(m.group(1), reg)}]"
    if spec in _SCALARS:
        return _SCALARS[spec]
    if spec in reg.types:
        return spec
    raise ValueError(f"unknown type {spec!r} in protocol.yaml")


def _field_lines(fields: dict[str, dict[str, Any]], reg: Registry) -> list[str]:
    out: list[str] = []
    for name, spec in fields.items():
        tp = _annotation(str(spec["type"]), reg)
        nullable = spec.get("nullable") and tp != "Any"
        if nullable:
            tp += " | None"
        py_name = name + "_" if keyword.iskeyword(name) else name
        if spec.get("optional"):
            tp += " | UnsetType"
            default = f" = msgspec.field(name={json.dumps(name)}, default=UNSET)" if py_name != name else " = UNSET"
        else:
            default = f" = msgspec.field(name={json.dumps(name)})" if py_name != name else ""
        doc = _text(spec.get("doc"))
        out.append(f"    {py_name}: {tp}{default}" + (f"  # {doc}" if doc else ""))
    return out or ["    pass"]


def _class(name: str, doc: str, fields: dict[str, dict[str, Any]], reg: Registry) -> list[str]:
    doc = _text(doc).replace('"""', "'''").replace("\\", "\\\\")
    out = ["", "", f"class {name}(Shape, kw_only=True):"]
    if doc:
        out.append(f'    """{doc}"""')
        out.append("")
    return out + _field_lines(fields, reg)


def _ordered_types(reg: Registry) -> list[str]:
    """Named types with fields, each after the types it refers to (YAML order otherwise)."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in _IMPORTED:
            return
        if name in visiting:
            raise ValueError(f"types refer to each other in a cycle through {name!r}")
        spec = reg.types[name]
        if not spec.get("fields"):
            raise ValueError(f"type {name!r} has no fields and is not one of {sorted(_IMPORTED)}")
        visiting.add(name)
        for fspec in spec["fields"].values():
            for ref in _refs(str(fspec["type"])):
                visit(ref)
        visiting.discard(name)
        done.append(name)

    for name in reg.types:
        visit(name)
    return done


def class_name(cmd: Command) -> str:
    """The Struct name for a command's response (requests) or data (pushes)."""
    return cmd.name + ("Response" if cmd.kind == "request" else "Push")


def shaped_commands(reg: Registry = REGISTRY) -> list[Command]:
    """The commands wire.py has a Struct for: every implemented request and push."""
    return [c for c in reg.commands.values() if c.implemented]


def render(reg: Registry = REGISTRY) -> str:
    """The full text of chatd/protocol/wire.py."""
    lines = [
        f'"""Typed wire shapes: generated from clients/protocol.yaml by `{COMMAND}`. Do not edit by hand.',
        "",
        "One Struct per named type, per implemented request's response `data` (<name>Response)",
        "and per implemented push's `data` (<name>Push). Unknown fields are errors; a field may be",
        "null only where the registry says `nullable: true`, and absent (UNSET) only where it says",
        "`optional: true`.",
        '"""',
        "",
        "from typing import Any",
        "",
        "import msgspec",
        "from msgspec import UNSET, UnsetType",
        "",
    ]
    lines += sorted(_IMPORTED[n] for n in _IMPORTED if n in reg.types)
    lines += [
        "",
        "",
        "class Shape(msgspec.Struct, forbid_unknown_fields=True):",
        '    """A strict wire object: every field declared, no others."""',
        "",
        "",
        "# -- shared types " + "-" * 83,
    ]
    for name in _ordered_types(reg):
        spec = reg.types[name]
        lines += _class(name, spec.get("doc", ""), spec["fields"], reg)
    names = set(reg.types)
    responses: list[tuple[str, str]] = []
    pushes: list[tuple[str, str]] = []
    for kind, title, table in (("request", "responses", responses), ("push", "pushes", pushes)):
        lines += ["", "", f"# -- {title} " + "-" * (95 - len(title))]
        for cmd in shaped_commands(reg):
            if cmd.kind != kind:
                continue
            cls = class_name(cmd)
            if cls in names:
                raise ValueError(f"{cls!r} (for {cmd.wire}) is also the name of another Struct")
            names.add(cls)
            table.append((cmd.wire, cls))
            what = "the `data` of a successful response" if kind == "request" else "the push's `data`"
            lines += _class(cls, f"`{cmd.wire}`: {what}.", cmd.response, reg)
    lines += ["", "", "RESPONSES: dict[str, type[Shape]] = {"]
    lines += [f"    {json.dumps(wire)}: {cls}," for wire, cls in responses]
    lines += ["}", "", "PUSHES: dict[str, type[Shape]] = {"]
    lines += [f"    {json.dumps(wire)}: {cls}," for wire, cls in pushes]
    lines += ["}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, command=COMMAND, description="Generate chatd/protocol/wire.py from clients/protocol.yaml.", default=WIRE_PY, render=render)


if __name__ == "__main__":
    sys.exit(main())

"""The command registry, loaded from clients/protocol.yaml.

The YAML file is the contract: each request command's payload Struct is built
from its `request:` fields here, and the generated files (docs/api.md,
chatd/protocol/wire.py, and chatd/protocol/requests.py, which the decoder uses)
are written from this registry, so they all read the same definition. Serving
does not import this module: it needs only requests.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml

from . import content as content_types

_SCALARS: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "any": Any}
_NAMED: dict[str, Any] = {"Content": content_types.ClientContent}  # the named types of request fields


@dataclass(frozen=True)
class Command:
    name: str
    wire: str
    group: str
    kind: str  # "request" | "push"
    implemented: bool
    summary: str = ""
    request: dict[str, dict[str, Any]] = field(default_factory=dict)
    response: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)
    struct: type | None = None
    cost: int | None = None  # what the request takes from the user's write budget (requests only)
    at_least_one_of: tuple[str, ...] = ()  # optional request fields of which one must be given (not null)
    exactly_one_of: tuple[str, ...] = ()  # optional request fields of which one, and only one, must be given


@dataclass(frozen=True)
class Registry:
    version: int
    groups: list[dict[str, str]]
    errors: dict[str, str]
    types: dict[str, Any]
    commands: dict[str, Command]

    def by_group(self, group: str) -> list[Command]:
        return [c for c in self.commands.values() if c.group == group]


INT64 = {"ge": -(2**63), "le": 2**63 - 1}  # what SQLite can store: larger ints are bad_request, not a crash


def _parse_type(spec: str) -> Any:
    spec = spec.strip()
    m = re.fullmatch(r"list\[(.+)\]", spec)
    if m:
        item = _parse_type(m.group(1))
        return list[Annotated[int, msgspec.Meta(**INT64)]] if item is int else list[item]
    if spec in _SCALARS:
        return _SCALARS[spec]
    if spec in _NAMED:
        return _NAMED[spec]
    raise ValueError(f"unknown type {spec!r} in protocol.yaml")


def _field_type(spec: dict[str, Any]) -> Any:
    tp = _parse_type(spec["type"])
    meta: dict[str, Any] = {}
    if tp is int:
        meta.update(INT64)
    for key, meta_key in (("min", "ge"), ("max", "le"), ("min_length", "min_length"), ("max_length", "max_length")):
        if key in spec:
            meta[meta_key] = spec[key]
    if "pattern" in spec or "enum" in spec:  # what a str, or each str of a list[str], must be
        if tp not in (str, list[str]):
            raise ValueError(f"pattern, enum: only for str and list[str] fields, not {spec['type']!r}")
        item: Any = Literal[tuple(spec["enum"])] if "enum" in spec else str
        if "pattern" in spec and tp is str:
            meta["pattern"] = spec["pattern"]
        elif "pattern" in spec:
            item = Annotated[item, msgspec.Meta(pattern=spec["pattern"])]
        tp = list[item] if tp == list[str] else item
    if meta:
        tp = Annotated[tp, msgspec.Meta(**meta)]
    if spec.get("optional"):
        tp = tp | None
    return tp


def _build_struct(name: str, fields: dict[str, dict[str, Any]]) -> type:
    required, optional = [], []
    for fname, spec in fields.items():
        tp = _field_type(spec)
        if spec.get("optional"):
            optional.append((fname, tp, None))
        elif "default" in spec:
            default = spec["default"]
            if isinstance(default, (list, dict)):
                optional.append((fname, tp, msgspec.field(default_factory=type(default))))
            else:
                optional.append((fname, tp, default))
        else:
            required.append((fname, tp))
    return msgspec.defstruct(name, required + optional, forbid_unknown_fields=False, kw_only=True)


def _cost(item: dict[str, Any]) -> int | None:
    """`cost:` of a command: every implemented request must declare it (0 for one that writes
    nothing), so no command that writes can be added without a place in the write budget."""
    cost = item.get("cost")
    if item["kind"] != "request":
        if cost is not None:
            raise ValueError(f"{item['wire']}: only requests have a cost in protocol.yaml")
        return None
    if cost is None:
        if item.get("implemented"):
            raise ValueError(f"{item['wire']}: an implemented request must declare `cost:` in protocol.yaml (0 when it writes nothing)")
        return None
    if type(cost) is not int or cost < 0:
        raise ValueError(f"{item['wire']}: `cost:` must be an integer of 0 or more, got {cost!r}")
    return cost


def load_registry(path: str | Path | None = None) -> Registry:
    if path is None:
        raw = resources.files("chatd.protocol").joinpath("protocol.yaml").read_text(encoding="utf-8")
    else:
        raw = Path(path).read_text(encoding="utf-8")
    doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # the C loader when libyaml is there
    commands: dict[str, Command] = {}
    for item in doc["commands"]:
        wire = item["wire"]
        if wire in commands:
            raise ValueError(f"duplicate wire name {wire!r} in protocol.yaml")
        request = item.get("request") or {}
        cost = _cost(item)
        struct = None
        one_of = tuple(item.get("at_least_one_of") or ())
        only_one = tuple(item.get("exactly_one_of") or ())
        if any(not request.get(f, {}).get("optional") for f in one_of + only_one):
            raise ValueError(f"{wire}: at_least_one_of and exactly_one_of name only optional request fields")
        if item["kind"] == "request" and item.get("implemented"):
            struct = _build_struct(item["name"] + "Request", request)
        commands[wire] = Command(
            name=item["name"],
            wire=wire,
            group=item["group"],
            kind=item["kind"],
            implemented=bool(item.get("implemented")),
            summary=" ".join(str(item.get("summary", "")).split()),
            request=request,
            response=item.get("response") or {},
            errors=tuple(item.get("errors") or ()),
            example=item.get("example") or {},
            struct=struct,
            cost=cost,
            at_least_one_of=one_of,
            exactly_one_of=only_one,
        )
    return Registry(
        version=doc["version"],
        groups=doc["groups"],
        errors=doc["errors"],
        types=doc.get("types") or {},
        commands=commands,
    )


REGISTRY = load_registry()

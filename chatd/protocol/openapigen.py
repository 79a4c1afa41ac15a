"""Generate chatd/protocol/openapi.json, the OpenAPI 3.1 document of the REST API, from the registry.

    python -m chatd.protocol.openapigen            rewrite chatd/protocol/openapi.json
    python -m chatd.protocol.openapigen --check    exit 1 when it is stale

Every implemented request but those that need a WebSocket connection (chatd.protocol.rest.WS_ONLY)
is one operation, POST /api/v1/commands/{wire} (docs/rest.md); each resource route of
chatd.protocol.rest.RESOURCES is one more, with the same schemas and responses, its request's
fields split into path parameters, query parameters (without a body) and the body. The request body's schema is the
JSON Schema of the payload Struct the registry builds from the command's `request:` fields (types,
min/max, lengths, defaults; chatd/protocol/requests.py holds the same Structs), its 200 response's
the JSON Schema of the response Struct of chatd/protocol/wire.py, and its error responses the
statuses of the codes the command lists (with those every command can answer). The server serves
the file as it is at GET /api/v1/openapi.json, so it never builds the document in memory.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import msgspec

from . import generated, wire
from .registry import REGISTRY, Command, Registry
from .rest import RESOURCES, WS_ONLY, Resource

OPENAPI_JSON = Path(__file__).resolve().with_name("openapi.json")
COMMAND = "python -m chatd.protocol.openapigen"
REF = "#/components/schemas/{name}"

# The error codes every command can answer over REST, besides those it lists in the registry.
ALWAYS = ("bad_request", "auth_failed", "rate_limited", "internal", "unavailable")


def _status_of() -> dict[str, int]:
    from ..http.app import _STATUS  # the table the server answers with

    return _STATUS


def rest_commands(reg: Registry = REGISTRY) -> list[Command]:
    return [c for c in reg.commands.values() if c.kind == "request" and c.implemented and c.wire not in WS_ONLY]


def document(reg: Registry = REGISTRY) -> dict[str, Any]:
    commands = rest_commands(reg)
    structs: list[Any] = []
    for cmd in commands:
        assert cmd.struct is not None
        structs += [cmd.struct, wire.RESPONSES[cmd.wire]]
    schemas, components = msgspec.json.schema_components(structs, ref_template=REF)
    status = _status_of()
    components["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(reg.errors)},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "The request field at fault."},
                    "retry_after_ms": {"type": "integer", "description": "With rate_limited, muted, banned."},
                    "missing": {"type": "string", "description": "A refused permission: the capability lacking."},
                    "by": {"type": "string", "description": "... and where it was denied."},
                },
            }
        },
    }
    paths: dict[str, Any] = {}
    operations: dict[str, dict[str, Any]] = {}
    for i, cmd in enumerate(commands):
        req_schema, resp_schema = schemas[2 * i], schemas[2 * i + 1]
        for fields, key in ((cmd.at_least_one_of, "anyOf"), (cmd.exactly_one_of, "oneOf")):
            if fields:  # the handler answers bad_request when none (or, for oneOf, more than one) is given
                components[req_schema["$ref"].rsplit("/", 1)[1]][key] = [{"required": [f], "properties": {f: {"not": {"type": "null"}}}} for f in fields]
        op = _operation(cmd, req_schema, resp_schema, status)
        operations[cmd.wire] = op
        paths[f"/api/v1/commands/{cmd.wire}"] = {"post": op}
    for res in RESOURCES:
        op = operations[res.wire]
        paths.setdefault(res.path, {})[res.method.lower()] = _resource_operation(res, op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatd REST API",
            "version": f"v1 (protocol {reg.version})",
            "description": "Every WebSocket request that needs no connection, as POST /api/v1/commands/{wire} (docs/rest.md). "
            "Authenticate with the token of POST /api/v1/auth/login as `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": g["id"], "description": g["title"]} for g in reg.groups if any(c.group == g["id"] for c in commands)],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "The token of POST /api/v1/auth/login."}},
        },
    }


def _operation(cmd: Command, req_schema: dict[str, Any], resp_schema: dict[str, Any], status: dict[str, int]) -> dict[str, Any]:
    """The operation POST /api/v1/commands/{wire} of one command."""
    codes = sorted(set(cmd.errors) | set(ALWAYS), key=lambda c: (status[c], c))
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(status[code], []).append(code)
    by_status.setdefault(415, []).append("bad_request")
    responses: dict[str, Any] = {
        "200": {"description": "The command's response `data`.", "content": {"application/json": {"schema": resp_schema}}}
    }
    for st in sorted(by_status):
        responses[str(st)] = {
            "description": "415: the body is not sent as application/json" if st == 415 else "Error codes: " + ", ".join(by_status[st]),
            "content": {"application/json": {"schema": {"$ref": REF.format(name="Error")}}},
        }
    return {
        "operationId": cmd.wire,
        "summary": cmd.summary.split(". ")[0].rstrip(".")[:120] if cmd.summary else cmd.wire,
        "description": cmd.summary + f"\n\nWrite budget cost: {cmd.cost}.",
        "tags": [cmd.group],
        "requestBody": {"required": True, "content": {"application/json": {"schema": req_schema}}},
        "responses": responses,
    }


def _resource_operation(res: Resource, op: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A resource route's operation: its command's, with the request's fields split into path
    parameters, query parameters (without a body) or the JSON body (POST, PATCH)."""
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = components[ref.rsplit("/", 1)[1]]
    props: dict[str, Any] = request.get("properties", {})
    required = set(request.get("required", ()))
    in_path = re.findall(r"\{(\w+)\}", res.path)
    rest = [name for name in props if name not in in_path and name not in dict(res.fixed)]
    params = [{"name": name, "in": "path", "required": True, "schema": _text_schema(props[name])} for name in in_path]
    out = {k: v for k, v in op.items() if k != "requestBody"}
    out["operationId"] = f"{res.wire}__{res.method.lower()}"
    out["description"] = f"Runs `{res.wire}` (POST /api/v1/commands/{res.wire}); " + op["description"]
    if res.takes_body:
        body = {**request, "properties": {name: props[name] for name in rest}, "required": sorted(required & set(rest))}
        if not body["required"]:
            del body["required"]
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}  # JSON, if only {}
    else:
        params += [{"name": name, "in": "query", "required": name in required, "schema": _text_schema(props[name])} for name in rest]
        out["responses"] = {st: r for st, r in op["responses"].items() if st != "415"}  # no body, no Content-Type to refuse
    out["parameters"] = params
    return out


def _text_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema as a path or query parameter: text cannot say null, an absent
    parameter does (the field's default), so a nullable field's parameter is its other type."""
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        kept = [o for o in options if o != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}
    return schema


def render(reg: Registry = REGISTRY) -> str:
    return json.dumps(document(reg), indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, command=COMMAND, description="Generate chatd/protocol/openapi.json from clients/protocol.yaml.", default=OPENAPI_JSON, render=render)


if __name__ == "__main__":
    sys.exit(main())

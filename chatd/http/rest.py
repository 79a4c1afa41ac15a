"""The REST route (docs/rest.md): POST /api/v1/commands/{wire} runs a WebSocket request.

The caller sends the command's `data` as the JSON body and its login token as
`Authorization: Bearer <token>` (chatd.http.files); the answer is the command's
response `data` (200), or `{"error": {...}}` with the HTTP status of its code
(chatd.http.app). What runs is what a WebSocket frame of that command runs
(chatd.server): the same decoding (the Structs of chatd/protocol/requests.py:
bad_request with `field`), the same write budget (the request's `cost`, shared
with the user's WebSocket connections), the same handler with its checks and its
writer op, and the pushes it causes go to the user's connections as usual.

The REST caller is a connection of its own kind: a Session that no hub knows, so
no push reaches it (the pushes of its own request included) and it is never "in"
a room. The per-connection send budget (limits.send_rate_per_s, send_burst) is
one per user for all of the user's REST requests. The requests that need a
connection (chatd.protocol.rest.WS_ONLY) answer 400 bad_request with `field` cmd;
GET /api/v1/openapi.json serves the OpenAPI document generated from the registry
(chatd.protocol.openapigen), read from disk at each request.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec

import trio

from ..errors import ChatError
from ..logs import MODERATION, moderation
from ..handlers import HANDLERS, Call
from ..net.session import Session, UserBuckets
from ..protocol.envelope import JSON
from ..protocol.requests import COSTS
from ..protocol.requests import REQUESTS
from ..protocol.rest import RESOURCES, WS_ONLY, Resource

if TYPE_CHECKING:
    from ..server import Server
    from .files import Files

log = logging.getLogger("chatd.http.rest")

PREFIX = "/api/v1/commands/"
Route = Callable[[dict[str, Any], Any], Awaitable[tuple[int, Any]]]
OPENAPI_PATH = "/api/v1/openapi.json"


class Rest:
    def __init__(self, server: Server, files: Files):
        self.server = server
        self.files = files
        lim = server.cfg.limits
        self.send_budget = UserBuckets(lim.send_rate_per_s, lim.send_burst)  # one "connection" per user
        self._resources = [(_pattern(res.path), res) for res in RESOURCES]

    async def command(self, scope: dict[str, Any], receive: Any) -> tuple[int, Any]:
        from .app import _read_body

        wire = scope["path"][len(PREFIX):]
        user = await self.files.bearer(scope)
        raw = await _read_body(receive, self.server.cfg.server.max_frame_bytes)
        if wire in WS_ONLY:
            raise ChatError("bad_request", f"{wire} is not available over REST: {WS_ONLY[wire]}", field="cmd")
        return await self._run(user, wire, self.server.codec.decode_data(wire, raw, JSON))

    def find(self, method: str, path: str) -> tuple[Route, bool] | None:
        """The resource route of `method path` and whether it takes a JSON body; None when none."""
        for pattern, res in self._resources:
            m = pattern.fullmatch(path)
            if m is not None and res.method == method:
                params = m.groupdict()
                return (lambda scope, receive: self.resource(res, params, scope, receive)), res.takes_body
        return None

    def knows(self, path: str) -> bool:
        """Whether some resource route has this path (another method on it answers 405)."""
        return any(pattern.fullmatch(path) for pattern, _ in self._resources)

    async def resource(self, res: Resource, params: dict[str, str], scope: dict[str, Any], receive: Any) -> tuple[int, Any]:
        """A resource route: the request's fields from the path, the query (GET, DELETE, PUT) or the
        JSON body (POST, PATCH), decoded by the same Struct as the command's WebSocket frames."""
        from .app import _read_body

        user = await self.files.bearer(scope)
        fields = {f.name: f.type for f in msgspec.structs.fields(REQUESTS[res.wire])}
        obj: dict[str, Any] = {}
        if res.takes_body:
            raw = await _read_body(receive, self.server.cfg.server.max_frame_bytes)
            try:
                obj = msgspec.json.decode(raw) if raw else {}
            except msgspec.DecodeError as exc:
                raise ChatError("bad_request", f"data: {exc}", field="data") from None
            if not isinstance(obj, dict):
                raise ChatError("bad_request", "the body must be a JSON object", field="data")
        else:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            unknown = sorted(set(query) - set(fields) - set(params) - {k for k, _ in res.fixed})
            if unknown:  # (a misspelt parameter would silently mean its default)
                raise ChatError("bad_request", f"{res.method} {res.path} takes no parameter {unknown[0]!r}", field=unknown[0])
            obj = {key: _from_text(key, fields[key], values) for key, values in query.items()}
        obj.update({key: _from_text(key, fields[key], [value]) for key, value in params.items()})
        obj.update(res.fixed)
        data = self.server.codec.decode_data(res.wire, msgspec.json.encode(obj), JSON)
        return await self._run(user, res.wire, data)

    async def _run(self, user: dict[str, Any], wire: str, data: Any) -> tuple[int, Any]:
        """Run one decoded request as the user's REST connection: its write budget, its handler, its pushes."""
        server = self.server
        cost = COSTS.get(wire, 0)
        if cost:
            wait_ms = server.write_budget.take(user["id"], cost)
            if wait_ms:
                server.limit_log.hit("limits.user_write_rate_per_s", f"user {user['name']!r}")
                raise ChatError("rate_limited", "too many requests from this user; slow down", retry_after_ms=wait_ms)
        session = Session(None, self.send_budget.bucket(user["id"]))
        session.user = user
        session.device = "rest"
        call = Call(server.ctx, session, wire, None, data, JSON, cost)
        started = time.perf_counter()
        try:
            try:
                out = await HANDLERS[wire](call)
            except ChatError as err:
                server.metrics.command(wire, err.code, time.perf_counter() - started)
                if err.code == "rate_limited":
                    server.limit_log.hit(wire, f"user {user['name']!r}", err.message)
                raise
            except Exception:  # noqa: BLE001 - a bug fails this command only
                log.exception("handler %s failed (REST)", wire)
                server.metrics.command(wire, "internal", time.perf_counter() - started)
                raise ChatError("internal", "the server failed on this command") from None
            server.metrics.command(wire, "ok", time.perf_counter() - started)
            if wire in MODERATION:
                moderation(wire, user, "rest", data)
        finally:
            server.delivery.flush()  # the pushes of this request's write (chatd.core.delivery)
        if call.effects:
            server.delivery.apply(call.effects, session)
        return 200, out

    async def openapi(self, scope: dict[str, Any], receive: Any) -> tuple[int, Any]:
        from .files import Streamed

        path = resources.files("chatd.protocol").joinpath("openapi.json")
        size = (await trio.Path(str(path)).stat()).st_size
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-cache")]
        return 0, Streamed(200, headers, str(path), 0, size)


def _pattern(path: str) -> re.Pattern[str]:
    """A resource path as a regular expression: each `{name}` one path segment, named."""
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)))


def _from_text(key: str, type_: Any, values: list[str]) -> Any:
    """A request field given as text (a path segment or query parameters), as the value of its
    type: a list field takes repeated parameters or one comma-separated value."""
    if len(values) > 1:
        candidates: list[Any] = [values]
    else:
        candidates = [values[0], values[0].split(",")]
    first: msgspec.ValidationError | None = None
    for value in candidates:
        try:
            return msgspec.convert(value, type_, strict=False)
        except msgspec.ValidationError as exc:
            first = first or exc
    raise ChatError("bad_request", f"{key}: {first}", field=key) from None

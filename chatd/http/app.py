"""The HTTP side: an ASGI app served by hypercorn on the same address as the WebSocket.

Routes: GET /healthz (liveness: the process answers), GET /readyz (readiness: 503 while
the database cannot be written, chatd.store.writer), GET /metrics when enabled on this address
(chatd.http.metrics), POST /api/v1/auth/login, uploaded
files (chatd.http.files): POST /api/v1/files, GET /api/v1/files/{key}[/thumb], and the REST
API (chatd.http.rest): POST /api/v1/commands/{wire}, the resource routes of
chatd.protocol.rest.RESOURCES (GET /api/v1/conversations, POST /api/v1/groups/{group_id}/messages,
...), GET /api/v1/openapi.json, the first start's setup (chatd.http.setup): GET and POST
/api/v1/setup, and the web client (chatd.http.web): GET / and GET /assets/... Errors use the
protocol's error codes: {"error": {"code": ..., "message": ..., "field": ...}} (and
"retry_after_ms" with rate_limited, which is 429 with a Retry-After header).

Routes that take a body take JSON only: another Content-Type, or none, is
refused with 415 before the body is read (a web page can make a browser send
text/plain, form or multipart bodies to any address without asking; JSON it
cannot without the server's consent). A request whose Origin is foreign
(chatd.net.origin, `server.allowed_origins`) is refused with 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from .. import __version__, auth
from ..errors import ChatError
from ..net.forwarded import client_ip, parse_networks
from ..net.origin import origin_allowed
from ..store.users import public_user
from .files import PREFIX as FILES_PREFIX
from .files import Files, Streamed
from .metrics import PATH as METRICS_PATH
from .metrics import MetricsEndpoint
from .rest import OPENAPI_PATH, Rest
from .rest import PREFIX as COMMANDS_PREFIX
from .setup import SETUP_PATH, Setup, SetupBody
from .web import WebClient, send_response

if TYPE_CHECKING:
    from ..server import Server

T = TypeVar("T")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_JSON_BODY = 64 * 1024
# The HTTP status of every protocol error code (docs/rest.md lists them with their reasons).
_STATUS = {
    "bad_frame": 400,
    "bad_request": 400,
    "unknown_command": 404,
    "not_implemented": 501,
    "not_logged_in": 401,
    "already_logged_in": 409,
    "auth_failed": 401,
    "user_disabled": 403,
    "not_found": 404,
    "forbidden": 403,
    "not_member": 403,
    "rate_limited": 429,
    "too_large": 413,
    "quota_exceeded": 413,
    "recall_window_passed": 409,
    "not_editable": 409,
    "conflict": 409,
    "privacy_restricted": 403,
    "answered_elsewhere": 409,
    "muted": 403,
    "banned": 403,
    "owner_must_transfer": 409,
    "handed_over": 409,
    "unavailable": 503,
    "internal": 500,
}
_JSON_ROUTES = {("POST", "/api/v1/auth/login"), ("POST", SETUP_PATH)}


class HttpError(ChatError):
    """A ChatError with an HTTP status of its own (415 has no protocol error code)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(code, message)
        self.status = status


class LoginBody(msgspec.Struct, forbid_unknown_fields=False):
    username: str
    password: str
    device: str = ""


class HttpApp:
    def __init__(self, server: Server):
        self.server = server
        self.trusted_proxies = parse_networks(server.cfg.server.trusted_proxies)
        self.files = Files(server, self.trusted_proxies)
        self.rest = Rest(server, self.files)
        self.setup = Setup(server)
        self._web: WebClient | None = None  # read at the first page load
        metrics = server.cfg.metrics
        self.metrics = MetricsEndpoint(server) if metrics.enabled and not metrics.listen else None
        self.routes: dict[tuple[str, str], Callable[[Scope, Receive], Awaitable[tuple[int, Any]]]] = {
            ("GET", "/healthz"): self.healthz,
            ("GET", "/readyz"): self.readyz,
            ("POST", "/api/v1/auth/login"): self.login,
            ("POST", FILES_PREFIX): self.files.upload,
            ("GET", OPENAPI_PATH): self.rest.openapi,
            ("GET", SETUP_PATH): self.setup_state,
            ("POST", SETUP_PATH): self.setup_admin,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            # WebSocket upgrades on /ws never reach hypercorn; anything else is refused.
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if method in ("GET", "HEAD") and self.web.serves(path):
            status, headers, page = self.web.response(path, scope["headers"])
            await send_response(send, status, headers, b"" if method == "HEAD" else page)
            return
        if path == METRICS_PATH and self.metrics is not None:
            await self.metrics(scope, receive, send)
            return
        route = self.routes.get((method, path))
        takes_json = (method, path) in _JSON_ROUTES
        if route is None and method == "GET" and path.startswith(FILES_PREFIX + "/"):
            route = self.files.fetch
        elif route is None and method == "POST" and path.startswith(COMMANDS_PREFIX):
            route, takes_json = self.rest.command, True
        elif route is None and (found := self.rest.find(method, path)) is not None:
            route, takes_json = found
        if route is None:
            if any(p == path for _, p in self.routes) or path.startswith((FILES_PREFIX + "/", COMMANDS_PREFIX)) or self.rest.knows(path):
                status, body = 405, _error("bad_request", f"{method} is not allowed on {path}")
            elif path == "/ws":
                status, body = 426, _error("bad_request", "connect with a WebSocket upgrade")
            else:
                status, body = 404, _error("not_found", f"no route {path}")
        else:
            try:
                self._check_request(scope, takes_json)
                status, body = await route(scope, receive)
            except ChatError as err:
                status = err.status if isinstance(err, HttpError) else _STATUS.get(err.code, 400)
                body = _error(err.code, err.message, err.field, err.retry_after_ms, err.missing, err.by)
        if isinstance(body, Streamed):
            await body.send(send)
            return
        payload = msgspec.json.encode(body)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), (b"cache-control", b"no-store")]
        if status == 429:
            retry_ms = body["error"].get("retry_after_ms") or 1000
            headers.append((b"retry-after", str((retry_ms + 999) // 1000).encode()))
        if status == 401 and path.startswith("/api/v1/") and path != "/api/v1/auth/login":
            headers.append((b"www-authenticate", b'Bearer realm="chatd"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _check_request(self, scope: Scope, takes_json: bool) -> None:
        origins = [v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"]
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
        if not origin_allowed(origins, hosts[0] if len(hosts) == 1 else None, self.server.cfg.server.allowed_origins):
            raise HttpError(403, "forbidden", "this Origin is not allowed (server.allowed_origins)")
        if takes_json:
            types = [v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"]
            media = types[0].split(";", 1)[0].strip().lower() if len(types) == 1 else ""
            if media != "application/json":
                raise HttpError(415, "bad_request", "send the body as JSON, with Content-Type: application/json")

    async def healthz(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        return 200, {"status": "ok", "version": __version__}

    async def readyz(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        problem = "the server is shutting down" if self.server.stopping else self.server.writer.health.problem(2 * self.server.cfg.storage.write_probe_s)
        if problem is not None:
            return 503, {"status": "unavailable", "version": __version__, **_error("unavailable", problem)}
        return 200, {"status": "ready", "version": __version__}

    async def login(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        body = _decode(await _read_body(receive, MAX_JSON_BODY), LoginBody)
        user, token = await auth.login(
            self.server.ctx, username=body.username, password=body.password, token=None, device=body.device, address=self._address(scope), via="http"
        )
        return 200, {"token": token, "user": public_user(user)}

    def _address(self, scope: Scope) -> str:
        client = scope.get("client")
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        return client_ip(client[0] if client else "", forwarded, self.trusted_proxies)

    @property
    def web(self) -> WebClient:
        if self._web is None:
            self._web = WebClient()
        return self._web

    async def setup_state(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        return 200, await self.setup.state()

    async def setup_admin(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        body = _decode(await _read_body(receive, MAX_JSON_BODY), SetupBody)
        return 201, await self.setup.create(body, self._address(scope))


def _error(
    code: str, message: str, field: str | None = None, retry_after_ms: int | None = None, missing: str | None = None, by: str | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    if retry_after_ms is not None:
        err["retry_after_ms"] = retry_after_ms
    if missing is not None:
        err["missing"] = missing
    if by is not None:
        err["by"] = by
    return {"error": err}


def _decode(raw: bytes, type_: type[T]) -> T:
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        raise ChatError("bad_request", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ChatError("bad_frame", f"malformed JSON: {exc}") from None


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ChatError("bad_request", "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ChatError("too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)

"""The HTTP side: an ASGI app served by hypercorn on the same address as the WebSocket.

Routes: GET /healthz (liveness: the process answers), GET /readyz (readiness: 503 while
the database cannot be written, chatd.store.writer), POST /api/v1/auth/login. Errors use the protocol's error
codes: {"error": {"code": ..., "message": ..., "field": ...}}.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from .. import __version__, auth
from ..errors import ChatError
from ..store.users import public_user

if TYPE_CHECKING:
    from ..server import Server

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_JSON_BODY = 64 * 1024
_STATUS = {"bad_request": 400, "bad_frame": 400, "auth_failed": 401, "user_disabled": 403, "forbidden": 403, "not_found": 404, "too_large": 413, "unavailable": 503}


class LoginBody(msgspec.Struct, forbid_unknown_fields=False):
    username: str
    password: str
    device: str = ""


class HttpApp:
    def __init__(self, server: Server):
        self.server = server
        self.routes: dict[tuple[str, str], Callable[[Scope, Receive], Awaitable[tuple[int, Any]]]] = {
            ("GET", "/healthz"): self.healthz,
            ("GET", "/readyz"): self.readyz,
            ("POST", "/api/v1/auth/login"): self.login,
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
        route = self.routes.get((method, path))
        if route is None:
            if any(p == path for _, p in self.routes):
                status, body = 405, _error("bad_request", f"{method} is not allowed on {path}")
            elif path == "/ws":
                status, body = 426, _error("bad_request", "connect with a WebSocket upgrade")
            else:
                status, body = 404, _error("not_found", f"no route {path}")
        else:
            try:
                status, body = await route(scope, receive)
            except ChatError as err:
                status, body = _STATUS.get(err.code, 400), _error(err.code, err.message, err.field)
        payload = msgspec.json.encode(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), (b"cache-control", b"no-store")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def healthz(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        return 200, {"status": "ok", "version": __version__}

    async def readyz(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        problem = self.server.writer.health.problem(2 * self.server.cfg.storage.write_probe_s)
        if problem is not None:
            return 503, {"status": "unavailable", "version": __version__, **_error("unavailable", problem)}
        return 200, {"status": "ready", "version": __version__}

    async def login(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        raw = await _read_body(receive, MAX_JSON_BODY)
        try:
            body = msgspec.json.decode(raw, type=LoginBody)
        except msgspec.ValidationError as exc:
            raise ChatError("bad_request", str(exc)) from None
        except msgspec.DecodeError as exc:
            raise ChatError("bad_frame", f"malformed JSON: {exc}") from None
        user, token = await auth.login(self.server.ctx, username=body.username, password=body.password, token=None, device=body.device)
        return 200, {"token": token, "user": public_user(user)}


def _error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    return {"error": err}


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

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
from importlib import resources
from typing import TYPE_CHECKING, Any

import trio

from ..errors import ChatError
from ..handlers import HANDLERS, Call
from ..net.session import Session, UserBuckets
from ..protocol.envelope import JSON
from ..protocol.requests import COSTS
from ..protocol.rest import WS_ONLY

if TYPE_CHECKING:
    from ..server import Server
    from .files import Files

log = logging.getLogger("chatd.http.rest")

PREFIX = "/api/v1/commands/"
OPENAPI_PATH = "/api/v1/openapi.json"


class Rest:
    def __init__(self, server: Server, files: Files):
        self.server = server
        self.files = files
        lim = server.cfg.limits
        self.send_budget = UserBuckets(lim.send_rate_per_s, lim.send_burst)  # one "connection" per user

    async def command(self, scope: dict[str, Any], receive: Any) -> tuple[int, Any]:
        from .app import _read_body

        wire = scope["path"][len(PREFIX):]
        user = await self.files.bearer(scope)
        server = self.server
        raw = await _read_body(receive, server.cfg.server.max_frame_bytes)
        if wire in WS_ONLY:
            raise ChatError("bad_request", f"{wire} is not available over REST: {WS_ONLY[wire]}", field="cmd")
        data = server.codec.decode_data(wire, raw, JSON)
        cost = COSTS.get(wire, 0)
        if cost:
            wait_ms = server.write_budget.take(user["id"], cost)
            if wait_ms:
                raise ChatError("rate_limited", "too many requests from this user; slow down", retry_after_ms=wait_ms)
        session = Session(None, self.send_budget.bucket(user["id"]))
        session.user = user
        session.device = "rest"
        call = Call(server.ctx, session, wire, None, data, JSON, cost)
        try:
            try:
                out = await HANDLERS[wire](call)
            except ChatError:
                raise
            except Exception:  # noqa: BLE001 - a bug fails this command only
                log.exception("handler %s failed (REST)", wire)
                raise ChatError("internal", "the server failed on this command") from None
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

"""GET /metrics (docs/operations.md#metrics): the Prometheus exposition of chatd.metrics.

Off unless `metrics.enabled`. With `metrics.listen` empty it is a route of the main HTTP
side; otherwise an address of its own, served by hypercorn (so it can stay on loopback or a
management network while the server faces the internet). Either way only clients whose
address is in `metrics.allow_from` get an answer (the address is the one chatd.net.forwarded
works out, behind a trusted proxy too); others get 403.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import trio

from ..net.forwarded import client_ip, parse_networks
from .web import send_response

if TYPE_CHECKING:
    from ..server import Server

PATH = "/metrics"
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class MetricsEndpoint:
    """An ASGI app answering GET /metrics from allowed addresses."""

    def __init__(self, server: Server):
        self.server = server
        self.allowed = parse_networks(server.cfg.metrics.allow_from)
        self.trusted_proxies = parse_networks(server.cfg.server.trusted_proxies)

    def allows(self, scope: dict[str, Any]) -> bool:
        client = scope.get("client")
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        address = client_ip(client[0] if client else "", forwarded, self.trusted_proxies)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.allowed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                await send({"type": kind + ".complete"})  # lifespan.startup / lifespan.shutdown
                if kind == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        if scope["path"] != PATH or scope["method"] not in ("GET", "HEAD"):
            await send_response(send, 404, [(b"content-type", b"text/plain")], b"not found\n")
        elif not self.allows(scope):
            await send_response(send, 403, [(b"content-type", b"text/plain")], b"metrics are not served to this address (metrics.allow_from)\n")
        else:
            from ..metrics import exposition

            body = exposition(self.server)
            headers = [(b"content-type", CONTENT_TYPE), (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
            await send_response(send, 200, headers, b"" if scope["method"] == "HEAD" else body)

    async def serve(self, listen: str, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve on an address of its own until cancelled; started() with the address bound."""
        from hypercorn.config import Config as HypercornConfig
        from hypercorn.trio import serve

        config = HypercornConfig()
        config.bind = [listen]
        config.accesslog = None
        config.errorlog = None
        await serve(self, config, task_status=task_status, mode="asgi")  # type: ignore[arg-type]

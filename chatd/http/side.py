"""The HTTP side as the listener sees it: hypercorn is loaded when the first HTTP connection comes.

hypercorn with h11, h2, wsproto and their dependencies takes about 4 MB once
imported (docs/memory.md). A server that only ever serves WebSockets never loads
them; the first HTTP connection imports them in a worker thread, so the
connections already served are not held up while it does, and from then on every
HTTP connection goes straight to chatd.http.bridge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from .bridge import HttpBridge


def _load_bridge() -> type[HttpBridge]:
    from .bridge import HttpBridge

    return HttpBridge


class HttpSide:
    """Serves each HTTP connection with an HttpBridge made at the first one (same arguments)."""

    def __init__(self, asgi_app: Any, **options: Any):
        self.asgi_app = asgi_app
        self.options = options
        self.bridge: HttpBridge | None = None
        self._closed = False

    async def serve(self, stream: trio.SocketStream, prefix: bytes) -> None:
        if self.bridge is None:
            bridge_type = await trio.to_thread.run_sync(_load_bridge)
            if self.bridge is None:  # another connection may have made it meanwhile
                self.bridge = bridge_type(self.asgi_app, **self.options)
                if self._closed:
                    await self.bridge.shutdown()
        await self.bridge.serve(stream, prefix)

    async def shutdown(self) -> None:
        """Ask kept-alive HTTP connections to finish and close (none, when none ever came)."""
        self._closed = True
        if self.bridge is not None:
            await self.bridge.shutdown()

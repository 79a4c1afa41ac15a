"""Command handlers, one module per command group.

A handler is `async def handler(call) -> data`: it checks through readers,
writes through one writer op, returns the response data, and registers pushes
with `call.after(...)`, which run once the response has been written.
Handlers never call other handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..server import Server
    from ..session import Session

Handler = Callable[["Call"], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}


def handler(wire: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        assert wire not in HANDLERS, wire
        HANDLERS[wire] = fn
        return fn

    return register


class Call:
    """One request being handled."""

    __slots__ = ("server", "session", "data", "cmd", "id", "codec", "_after")

    def __init__(self, server: Server, session: Session, cmd: str, req_id: Any, data: Any, codec: int = 0):
        self.server = server
        self.session = session
        self.cmd = cmd
        self.id = req_id
        self.data = data
        self.codec = codec
        self._after: list[Callable[[], None]] | None = None

    @property
    def user_id(self) -> int:
        return self.session.user_id

    def after(self, fn: Callable[[], None]) -> None:
        """Run fn after the response is sent (pushes to others go here)."""
        if self._after is None:
            self._after = []
        self._after.append(fn)

    def run_after(self) -> None:
        if self._after:
            for fn in self._after:
                fn()


def load_all() -> None:
    """Import every handler module of this package, which registers its handlers."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")

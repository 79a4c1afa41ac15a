"""Command handlers, one module per command group.

A handler is `async def handler(call) -> data`: it checks through readers,
writes through one writer op (`call.write`), and returns the response data.
The op's effects (pushes, membership changes) are delivered by the pipeline
after the commit, in commit order (chatd.core.delivery); a request that writes
nothing adds its pushes with `call.push(...)`, sent after the response.
Handlers never call other handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..core.effects import Audience, Effect, Outcome, Push

if TYPE_CHECKING:
    from ..core.context import Context
    from ..net.session import Session

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

    __slots__ = ("ctx", "session", "data", "cmd", "id", "codec", "cost", "effects")

    def __init__(self, ctx: Context, session: Session, cmd: str, req_id: Any, data: Any, codec: int = 0, cost: int = 0):
        self.ctx = ctx
        self.session = session
        self.cmd = cmd
        self.id = req_id
        self.data = data
        self.codec = codec
        self.cost = cost  # taken from the user's write budget before the handler ran (chatd.server)
        self.effects: list[Effect] = []  # applied after the response (chatd.server)

    @property
    def user_id(self) -> int:
        return self.session.user_id

    async def write(self, op: Callable[..., Outcome], *args: Any) -> Any:
        """Run a writer op for this request; returns its result once committed. Its effects
        are delivered after every ack of its batch, in commit order."""
        if not self.cost:
            # Every request that writes must take from the write budget (chatd.server): give it a
            # `cost:` above 0 in clients/protocol.yaml.
            raise AssertionError(f"{self.cmd} writes, but its cost in protocol.yaml is 0")
        out: Outcome = await self.ctx.writer.submit(op, *args, origin=self.session)
        return out.result

    def push(self, cmd: str, data: Any, to: Audience, **kw: Any) -> None:
        """A push of a request that writes nothing, sent after the response."""
        self.effects.append(Push(cmd, data, to, **kw))


KindVerb = Callable[["Call", Any], Awaitable[Any]]


def register_for_kinds(kinds: Any, verbs: dict[str, KindVerb], has: Callable[[Any, str], bool] = lambda kind, verb: True) -> None:
    """Register verb(call, kind) under kind.wire(name) for every kind (chatd.core.kinds) that has it."""

    def bind(verb: KindVerb, kind: Any) -> Handler:
        async def run(call: Call) -> Any:
            return await verb(call, kind)

        run.__name__ = f"{kind.name}_{verb.__name__}"
        return run

    for kind in kinds:
        for name, verb in verbs.items():
            if has(kind, name):
                handler(kind.wire(name))(bind(verb, kind))


def load_all() -> None:
    """Import every handler module of this package, which registers its handlers."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")

"""Effects as the nodes of one chatd pass them to each other (docs/scaling.md): the part of a
committed batch's effects that other nodes must apply to their own connections and memory,
in MessagePack, and back.

Shared: pushes to users, to a conversation's members or viewers, to a room's present
connections, to a device (a call's: Device) and to everyone (a push's data as it would be encoded for a client; a `Live`
payload by its function's name, made again on each node from that node's memory); the member
lists that changed (Joined, Left, Emptied); read pointers that moved (each node sends the read
receipts of its own connections); accounts disabled (each node closes its own connections),
DMs handed over (each node ends the streams it runs), who is connected to the node
(PresenceOf: chatd.services.node_presence) and which of its devices are in a group call
(MeshDevice: chatd.services.mesh).

Not shared: pushes to given connections (streams: their connections are the node's own), the requesting connection's entering a room, and notifications for offline devices (the
push service of the node that committed them sends them).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Any

import msgspec

from .kinds import KINDS
from .effects import Deactivated, Device, Emptied, Everyone, HandedOver, Joined, Left, Live, Members, MeshDevice, Present, PresenceOf, Push, ReadMoved, Users, Viewers

_AUDIENCES: dict[str, Any] = {"u": Users, "m": Members, "p": Present, "v": Viewers, "e": Everyone, "s": Device}
_TAGS = {cls: tag for tag, cls in _AUDIENCES.items()}
_CHANGES: dict[str, Any] = {"j": Joined, "l": Left, "x": Emptied, "r": ReadMoved, "d": Deactivated, "h": HandedOver, "n": PresenceOf, "g": MeshDevice}
_CHANGE_TAGS = {cls: tag for tag, cls in _CHANGES.items()}
_encode = msgspec.msgpack.Encoder().encode
log = logging.getLogger("chatd.cluster")
_decode = msgspec.msgpack.Decoder().decode


def _audience(to: Any) -> list[Any] | None:
    tag = _TAGS.get(type(to))
    if tag is None:
        return None  # Connections: another node's connections are not this node's
    fields = [list(v) if isinstance(v, (tuple, list, set, frozenset)) else v for v in to]
    return [tag, *fields]


def _push(p: Push) -> list[Any] | None:
    to = _audience(p.to)
    if to is None:
        return None
    data = p.data
    if type(data) is Live:
        data = {"__live__": [*_function(data.fn), list(data.args)]}
    reached = _push(p.if_reached) if p.if_reached is not None else None
    return ["push", p.cmd, data, to, p.skip_user, reached]


def shared(effects: Iterable[Any]) -> list[Any]:
    """The effects other nodes apply, as plain lists (in order)."""
    out: list[Any] = []
    for effect in effects:
        kind = type(effect)
        if kind is Push:
            try:
                item = _push(effect)
            except TypeError:
                log.exception("a push other nodes cannot be told of: %r", effect)
                continue
            if item is not None:
                out.append(item)
        elif kind in _CHANGE_TAGS:
            out.append([_CHANGE_TAGS[kind], *(list(v) if isinstance(v, (tuple, list)) else v for v in effect)])
    return out


def encode(items: list[Any]) -> bytes:
    return _encode(items)


def _function(fn: Any) -> list[str]:
    """How another node finds a Live payload's function: a module's function by its name, a
    conversation kind's method by the kind's name."""
    owner = getattr(fn, "__self__", None)
    if owner is None:
        return [fn.__module__, fn.__qualname__]
    if owner in KINDS:
        return ["kind", owner.name, fn.__name__]
    raise TypeError(f"a Live payload's function other nodes cannot find: {fn!r}")


def _live(spec: list[Any]) -> Live:
    if spec[0] == "kind":
        _, kind, method, args = spec
        return Live(getattr(next(k for k in KINDS if k.name == kind), method), tuple(args))
    module, name, args = spec
    fn: Any = importlib.import_module(module)
    for part in name.split("."):
        fn = getattr(fn, part)
    return Live(fn, tuple(args))


def _to(item: list[Any]) -> Any:
    cls = _AUDIENCES[item[0]]
    args = [tuple(a) if isinstance(a, list) else a for a in item[1:]]
    return cls(*args)


def _push_of(item: list[Any]) -> Push:
    _, cmd, data, to, skip_user, reached = item
    if type(data) is dict and "__live__" in data:
        data = _live(data["__live__"])
    return Push(cmd, data, _to(to), skip_origin=False, skip_user=skip_user, if_reached=_push_of(reached) if reached else None)


def decode(body: bytes) -> list[Any]:
    """The effects of another node's batch, to apply here."""
    out: list[Any] = []
    for item in _decode(body):
        tag = item[0]
        if tag == "push":
            out.append(_push_of(item))
        else:
            out.append(_CHANGES[tag](*(tuple(a) if isinstance(a, list) else a for a in item[1:])))
    return out

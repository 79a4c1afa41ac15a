"""Requests from one node to another (docs/scaling.md): a device's request about a call that
another node holds is run by that node, and its answer comes back.

Both ride notifications on ASK_CHANNEL, `from:to:q|a:number:payload` with the payload in
MessagePack and base64 (at most PAYLOAD_MAX bytes in all, chatd.store.cluster): a question names what answers it
(`answerers`, e.g. "call": chatd.services.calls.Calls.answer) and its body; the answer is
[True, value] or [False, [code, message, field]], raised as that ChatError where it was asked.
A node that does not answer within ASK_TIMEOUT_S (gone, or not listening) makes the request
fail with `unavailable`. `ask_all` asks every other live node (a user's calls, wherever they
are held).
"""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
import trio

from ..errors import ChatError
from ..store import cluster as store
from ..store.db import now_ms

if TYPE_CHECKING:
    from ..store.readers import Readers

log = logging.getLogger("chatd.cluster")

ASK_TIMEOUT_S = 5.0
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


class NodeAsks:
    def __init__(self, node: int, readers: Readers):
        self.node = node
        self.readers = readers
        self.answerers: dict[str, Callable[[Any], Awaitable[Any]]] = {}
        self._numbers = itertools.count(1)
        self._waiting: dict[int, list[Any]] = {}  # number -> [answered (Event), answer]
        self.nursery: trio.Nursery | None = None  # where questions are answered (Cluster.run's)

    async def ask(self, node: int, what: str, body: Any) -> Any:
        """Node `node`'s answer to (what, body)."""
        number = next(self._numbers)
        payload = self._payload(node, "q", number, [what, body])
        if len(payload) > store.PAYLOAD_MAX:
            raise ChatError("too_large", "the request is too large to pass to the node that holds what it is about")
        box: list[Any] = [trio.Event(), None]
        self._waiting[number] = box
        try:
            await self.readers.read(store.notify_ask, payload)
            with trio.move_on_after(ASK_TIMEOUT_S):
                await box[0].wait()
        finally:
            del self._waiting[number]
        if box[1] is None:
            raise ChatError("unavailable", f"node {node}, which holds what this request is about, did not answer")
        ok, value = box[1]
        if not ok:
            code, message, field = value
            raise ChatError(code, message, field=field)
        return value

    async def ask_all(self, what: str, body: Any) -> list[Any]:
        """Every other live node's answer (those that fail or do not answer are left out)."""
        nodes = [n for n in await self.readers.read(store.live_nodes, now_ms()) if n != self.node]
        answers: list[Any] = []

        async def one(node: int) -> None:
            try:
                answers.append(await self.ask(node, what, body))
            except ChatError as err:
                log.warning("node %d did not answer %s: %s", node, what, err.message)

        async with trio.open_nursery() as nursery:
            for node in nodes:
                nursery.start_soon(one, node)
        return answers

    def heard(self, payload: str) -> None:
        """A notification on ASK_CHANNEL (the listener's callback: never waits)."""
        try:
            sender, to, kind, number, data = payload.split(":", 4)
            if int(to) != self.node:
                return
            body = _decode(base64.b64decode(data))
        except Exception:  # noqa: BLE001 - one bad payload is dropped, the listener goes on
            log.exception("a request between nodes could not be read")
            return
        if kind == "a":
            box = self._waiting.get(int(number))
            if box is not None and box[1] is None:
                box[1] = body
                box[0].set()
        elif kind == "q" and self.nursery is not None:
            self.nursery.start_soon(self._answer, int(sender), int(number), body)

    async def _answer(self, node: int, number: int, question: list[Any]) -> None:
        try:
            what, body = question
            answer = [True, await self.answerers[what](body)]
        except ChatError as err:
            answer = [False, [err.code, err.message, err.field]]
        except Exception:  # noqa: BLE001 - one request's bug fails that request
            log.exception("answering node %d's request %r failed", node, question)
            answer = [False, ["internal", "the node that holds what this request is about failed", None]]
        try:
            await self.readers.read(store.notify_ask, self._payload(node, "a", number, answer))
        except Exception:  # noqa: BLE001 - the asking node's wait runs out
            log.exception("answering node %d failed", node)

    def _payload(self, to: int, kind: str, number: int, body: Any) -> str:
        return f"{self.node}:{to}:{kind}:{number}:" + base64.b64encode(_encode(body)).decode()

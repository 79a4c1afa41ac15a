"""1:1 calls: the calls that ring or are live, in memory (docs/calls.md).

The rules are the transition table of chatd.policy.calls; this service applies its events,
says what to push, and keeps the clock. Each call is one task in the service's nursery: it
sleeps until the call's next deadline (the ring timeout while it rings, the reconnect grace
while a side's device is gone) or until the call changes, and when the call ends it writes the
call's record into the DM (chatd.core.call_records) and is gone. Nothing about a call outlives
its task. Signaling never touches the database.

Pushes are returned as effects (the handlers add them to their request's, delivered after the
response); the clock's go through `apply` (the delivery pipeline's).

Several nodes (docs/scaling.md): a call lives on the node where it was placed, whose number is
its id modulo MAX_NODES. A request about a call another node holds goes to that node (`ask`,
chatd.services.node_asks), which runs it as its own for the asking device (`answer`) and delivers
its pushes, the other nodes included (a device is named by its session id, unique across
nodes); the answer comes back to the request. When such a device's connection ends, its node
tells the call's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import trio

from ..core import call_records
from ..core.effects import Device, Notify, Push, Users
from ..errors import ChatError
from ..policy import calls as machine
from ..policy.calls import ENDED, RINGING, Call, CallError, Event
from ..store.db import MAX_NODES, now_ms

if TYPE_CHECKING:
    from ..config import CallsConfig
    from ..net.hub import Hub
    from ..net.session import Session
    from ..store.writer import Writer

log = logging.getLogger("chatd.calls")

_EVENTS = {"accept": Event.ACCEPT, "reject": Event.REJECT, "hangup": Event.HANGUP}
_SIGNALS = {"offer": Event.OFFER, "answer": Event.ANSWER, "ice": Event.ICE}


def _ids(node: int) -> Iterator[int]:
    """Call ids: unique, increasing across restarts, and this node's number modulo MAX_NODES."""
    return itertools.count(time.time_ns() // 1_000_000 * MAX_NODES + node, MAX_NODES)


class _Away:
    """A device connected to another node, as a call of this node sees it: its session id."""

    __slots__ = ("id", "user_id")

    def __init__(self, device: str, user_id: int):
        self.id = device
        self.user_id = user_id


def turn_credentials(secret: bytes, user_id: int, ttl_s: int, now_s: int) -> tuple[str, str]:
    """TURN REST credentials (coturn's use-auth-secret): username `<expiry>:<user>`, password
    base64(HMAC-SHA1(secret, username))."""
    username = f"{now_s + ttl_s}:{user_id}"
    return username, base64.b64encode(hmac.new(secret, username.encode(), hashlib.sha1).digest()).decode()


class Calls:
    def __init__(self, cfg: CallsConfig, hub: Hub, writer: Writer):
        self.cfg = cfg
        self.hub = hub
        self.writer = writer
        self.apply: Callable[[list[Any]], None] = lambda effects: None  # the delivery pipeline's (chatd.server)
        self.calls: dict[int, Call] = {}
        self.node = 0
        self._ids = _ids(0)
        self.ask: Callable[[int, str, dict[str, Any]], Awaitable[Any]] | None = None  # several nodes: chatd.services.node_asks
        self.ask_all: Callable[[str, dict[str, Any]], Awaitable[list[Any]]] | None = None
        self._away: dict[str, set[tuple[int, int]]] = {}  # this node's device -> (node, call id) of the calls other nodes hold
        self._wake: dict[int, trio.Event] = {}
        self._candidates: dict[tuple[int, str], int] = {}  # (call, device) -> candidates sent
        self._nursery: trio.Nursery | None = None
        self._turn_secret: bytes | None = None
        if cfg.turn_urls:
            self._turn_secret = Path(cfg.turn_secret_file).expanduser().read_bytes().strip()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    # -- what clients are given ---------------------------------------------------------------

    def ice_servers(self, user_id: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{k: v for k, v in msgspec.to_builtins(s).items() if v} for s in self.cfg.ice_servers]
        if self._turn_secret is not None:
            username, credential = turn_credentials(self._turn_secret, user_id, self.cfg.turn_ttl_s, int(time.time()))
            out.append({"urls": list(self.cfg.turn_urls), "username": username, "credential": credential})
        return out

    @staticmethod
    def view(call: Call) -> dict[str, Any]:
        return {
            "call_id": call.call_id,
            "caller_id": call.caller,
            "callee_id": call.callee,
            "media": call.media,
            "state": call.state,
            "reason": call.reason,
            "ended_by": call.ended_by,
            "started_at": call.started_at,
            "ring_until": call.ring_until,
            "accepted_at": call.accepted_at,
            "ended_at": call.ended_at,
            "duration_ms": call.duration_ms,
            "caller_device": call.caller_device,
            "callee_device": call.callee_device,
            "server_time": now_ms(),
        }

    def of_user(self, user_id: int) -> list[Call]:
        return [c for c in self.calls.values() if user_id in (c.caller, c.callee)]

    def get(self, call_id: int, user_id: int) -> Call:
        call = self.calls.get(call_id)
        if call is None or user_id not in (call.caller, call.callee):
            raise ChatError("not_found", "no such call (it may have ended: its record is in the DM)", field="call_id")
        return call

    # -- events -----------------------------------------------------------------------------

    def invite(self, caller: int, session: Session, callee: int, media: str, caller_view: dict[str, Any]) -> tuple[Call, bool, list[Any]]:
        """A new ringing call, or (glare) the callee's ringing call to the caller, accepted here."""
        for call in self.of_user(caller):
            if call.caller == callee and call.state == RINGING:
                effects = self._event(call, Event.GLARE, caller, session)
                return call, True, effects
            if callee in (call.caller, call.callee):
                raise ChatError("conflict", "you are already in a call with this user", field="peer")
        now = now_ms()
        ring_until = now + int(self.cfg.ring_timeout_s * 1000)
        call = Call(next(self._ids), caller, callee, media, session.id, now, ring_until)
        self.calls[call.call_id] = call
        self._wake[call.call_id] = trio.Event()
        assert self._nursery is not None, "the calls service is not running"
        self._nursery.start_soon(self._watch, call)
        view = self.view(call)
        effects: list[Any] = [
            Push("rtc_call_incoming", {"call": view, "caller": caller_view, "ice_servers": self.ice_servers(callee)}, Users((callee,))),
            Push("rtc_call_update", {"call": view}, Users((caller,))),  # the caller's other devices
            Notify("call", (callee,), ref_id=call.call_id, sender_id=caller, until=ring_until),  # the callee's offline devices
        ]
        return call, False, effects

    def event(self, call_id: int, event: Event, user_id: int, session: Session) -> tuple[Call, list[Any]]:
        call = self.get(call_id, user_id)
        return call, self._event(call, event, user_id, session)

    def _event(self, call: Call, event: Event, user_id: int, session: Session | None) -> list[Any]:
        try:
            result = machine.step(call, event, user_id, session.id if session else "", now_ms())
        except CallError as err:
            raise ChatError(err.code, err.message, field="call_id") from None
        effects: list[Any] = []
        if result.changed:
            effects.append(Push("rtc_call_update", {"call": self.view(call)}, Users((call.caller, call.callee))))
            self._wake[call.call_id].set()
            if event in (Event.ACCEPT, Event.GLARE) and call.buffered and session is not None:
                # The caller's offer and candidates that waited, to the device that answered, in order.
                effects += [self._signal(call, call.caller, kind, body, session, skip_origin=False) for kind, body in call.buffered]
                call.buffered.clear()
        return effects

    def signal(self, call_id: int, event: Event, user_id: int, session: Session, body: dict[str, Any]) -> tuple[bool, list[Any]]:
        """An offer, answer or candidate from a device of the call: relayed to the other device,
        or kept until the callee answers. Returns (relayed, effects)."""
        call = self.get(call_id, user_id)
        if "sdp" in body and len(body["sdp"].encode()) > self.cfg.max_sdp_bytes:
            raise ChatError("too_large", f"sdp is over {self.cfg.max_sdp_bytes} bytes", field="sdp")
        key = (call.call_id, session.id)
        if event is Event.ICE and self._candidates.get(key, 0) >= self.cfg.max_candidates:
            raise ChatError("too_large", f"more than {self.cfg.max_candidates} candidates from this device in this call", field="candidate")
        if call.device_of(user_id) == session.id and call.state == RINGING and len(call.buffered) >= self.cfg.max_buffered_signals:
            raise ChatError("too_large", f"more than {self.cfg.max_buffered_signals} signals wait for an answer", field="call_id")
        try:
            result = machine.step(call, event, user_id, session.id, now_ms())
        except CallError as err:
            raise ChatError(err.code, err.message, field="call_id") from None
        if event is Event.ICE:  # counted once accepted, so a refused one changes nothing
            self._candidates[key] = self._candidates.get(key, 0) + 1
        kind = {Event.OFFER: "offer", Event.ANSWER: "answer", Event.ICE: "candidate"}[event]
        if result.buffer:
            call.buffered.append((kind, body))
            return False, []
        effects = [self._signal(call, user_id, kind, body, session)]
        if result.changed:
            effects.insert(0, Push("rtc_call_update", {"call": self.view(call)}, Users((call.caller, call.callee))))
        return True, effects

    def _signal(self, call: Call, sender: int, kind: str, body: dict[str, Any], session: Session, skip_origin: bool = True) -> Push:
        """An rtc_signal from the sender's device in the call to the other side's device."""
        from_device = call.device_of(sender)
        to_device = call.device_of(call.peer_of(sender))
        data = {"call_id": call.call_id, "conv_id": 0, "type": kind, "from_user": sender, "from_device": from_device, **body}
        return Push("rtc_signal", data, Device(call.peer_of(sender), to_device or ""), skip_origin=skip_origin)

    def resume(self, call_id: int, user_id: int, session: Session) -> tuple[Call, bool, list[Any]]:
        call = self.get(call_id, user_id)
        before = call.device_of(user_id)
        effects = self._event(call, Event.RESUME, user_id, session)
        return call, before is None and call.device_of(user_id) == session.id, effects

    # -- the clock and the connections -------------------------------------------------------------

    def session_ended(self, session: Session) -> None:
        """A connection ended: the calls it was a device of lose that device (the grace begins);
        those other nodes hold are told."""
        if session.user is None:
            return
        effects: list[Any] = []
        for call in self.of_user(session.user_id):
            if session.id in (call.caller_device, call.callee_device):
                effects += self._event(call, Event.DEVICE_LOST, session.user_id, session)
        if effects:
            self.apply(effects)
        for node, call_id in self._away.pop(session.id, ()):
            if self._nursery is not None:
                self._nursery.start_soon(self._tell_lost, node, call_id, session.user_id, session.id)

    # -- several nodes -------------------------------------------------------------------------

    def across(self, node: int, ask: Callable[[int, str, dict[str, Any]], Awaitable[Any]], ask_all: Callable[[str, dict[str, Any]], Awaitable[list[Any]]]) -> None:
        """This node is `node` of several: its call ids say so, and `ask` reaches another node."""
        self.node, self._ids, self.ask, self.ask_all = node, _ids(node), ask, ask_all

    async def views_of(self, user_id: int) -> list[dict[str, Any]]:
        """The user's calls, on this node and (several nodes) on the others."""
        views = [self.view(c) for c in self.of_user(user_id)]
        if self.ask_all is not None:
            for answer in await self.ask_all("call", {"what": "list", "user_id": user_id}):
                views += answer
        return views

    def held_by(self, call_id: int) -> int | None:
        """The other node holding this call, or None if it is this node's (or none's)."""
        node = call_id % MAX_NODES
        if self.ask is None or node == self.node or call_id in self.calls:
            return None
        return node

    def request(self, what: str, call_id: int, user_id: int, session: Any, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Any]]:
        """A device's request about one of this node's calls: (the answer, its effects)."""
        if what in _EVENTS:
            call, effects = self.event(call_id, _EVENTS[what], user_id, session)
            out = {"call": self.view(call)}
            if what == "accept":
                out["ice_servers"] = self.ice_servers(user_id)
            return out, effects
        if what == "state":
            call, resumed, effects = self.resume(call_id, user_id, session)
            return {"calls": [self.view(call)], "resumed": resumed, "ice_servers": self.ice_servers(user_id)}, effects
        relayed, effects = self.signal(call_id, _SIGNALS[what], user_id, session, body or {})
        return {"relayed": relayed}, effects

    async def forward(self, node: int, what: str, call_id: int, user_id: int, session: Session, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The request, run by the node holding the call; its answer."""
        assert self.ask is not None
        out = await self.ask(node, "call", {"what": what, "call_id": call_id, "user_id": user_id, "device": session.id, "body": body})
        if self.hub.is_registered(session):
            self._away.setdefault(session.id, set()).add((node, call_id))
        return out  # type: ignore[no-any-return]

    async def answer(self, request: dict[str, Any]) -> Any:
        """Another node's request about a call of this node (its pushes delivered here, and by
        the other nodes to their devices)."""
        if request["what"] == "list":
            return [self.view(c) for c in self.of_user(request["user_id"])]
        call_id, user_id, device = request["call_id"], request["user_id"], _Away(request["device"], request["user_id"])
        if request["what"] == "lost":
            call = self.calls.get(call_id)
            if call is not None and device.id in (call.caller_device, call.callee_device):
                self.apply(self._event(call, Event.DEVICE_LOST, user_id, device))  # type: ignore[arg-type]
            return None
        out, effects = self.request(request["what"], call_id, user_id, device, request["body"])
        self.apply(effects)
        return out

    async def _tell_lost(self, node: int, call_id: int, user_id: int, device: str) -> None:
        assert self.ask is not None
        try:
            await self.ask(node, "call", {"what": "lost", "call_id": call_id, "user_id": user_id, "device": device, "body": None})
        except Exception:  # noqa: BLE001 - the call goes on until its other side hangs up
            log.warning("node %d was not told that device %s of call %s is gone", node, device, call_id)

    async def _watch(self, call: Call) -> None:
        """The call's task: its deadlines, then its record."""
        try:
            while call.state != ENDED:
                wake = self._wake[call.call_id]
                if call.state == RINGING and not call.vacant_since:
                    deadline_ms, event = call.ring_until, Event.TIMEOUT
                elif call.vacant_since:
                    grace_end = call.vacant_since + int(self.cfg.reconnect_grace_s * 1000)
                    deadline_ms, event = (min(grace_end, call.ring_until), None) if call.state == RINGING else (grace_end, Event.GRACE_OVER)
                else:
                    deadline_ms, event = 0, None
                with trio.move_on_after((deadline_ms - now_ms()) / 1000 if deadline_ms else float("inf")):
                    await wake.wait()
                if wake.is_set():
                    self._wake[call.call_id] = trio.Event()
                    continue
                if event is None:  # a ringing call whose caller's device is gone: whichever comes first
                    event = Event.TIMEOUT if now_ms() >= call.ring_until else Event.GRACE_OVER
                self.apply(self._event(call, event, 0, None))
                self._wake[call.call_id] = trio.Event()
            await self.writer.submit(call_records.op_record, self.view(call))
        except Exception:  # noqa: BLE001 - one call's failure must not end the others
            log.exception("call %s failed", call.call_id)
        finally:
            self.calls.pop(call.call_id, None)
            self._wake.pop(call.call_id, None)
            for key in [k for k in self._candidates if k[0] == call.call_id]:
                del self._candidates[key]

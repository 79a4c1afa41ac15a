"""The 1:1 call state machine (docs/calls.md): a transition table. Pure: no trio, no sqlite3.

    ringing ──accept──▶ accepted ──answer──▶ connected
       │                   │                    │
       ├─reject/timeout/cancel──▶ ended ◀──hangup/lost──┘

A call is between a caller and a callee (users). While it rings, every device of the callee
rings; the first device to accept is bound to the call, and from then on offer, answer and ICE
candidates go only between the caller's device and that one. Every (state, event) pair below is
a transition, an event ignored, or a refusal with a documented error code; `step` applies one.

Glare (A invites B while B's invite to A rings) is the `GLARE` event of B's ringing call: the
call is accepted by A's inviting device, and A's invite answers that call.

A device that vanishes (its connection ended) leaves its side of a live call `vacant`: the call
goes on for `grace` and ends as `lost` unless a device of that user comes back (`RESUME`, by
rtc_call_state). The service (chatd.services.calls) keeps the clock and does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

RINGING, ACCEPTED, CONNECTED, ENDED = "ringing", "accepted", "connected", "ended"
STATES = (RINGING, ACCEPTED, CONNECTED, ENDED)
LIVE = frozenset({ACCEPTED, CONNECTED})

# Why a call ended (its record in the DM says it).
MISSED = "missed"  # rang until the ring timeout
CANCELLED = "cancelled"  # the caller hung up while it rang
REJECTED = "rejected"  # the callee declined
HANGUP = "hangup"  # a side hung up a live call
LOST = "lost"  # a side's device vanished and did not come back within the grace period
REASONS = (MISSED, CANCELLED, REJECTED, HANGUP, LOST)


class Event(Enum):
    ACCEPT = "accept"  # a callee device answers
    REJECT = "reject"  # the callee declines
    HANGUP = "hangup"  # either side ends it (the caller while ringing: cancel; the callee while ringing: reject)
    TIMEOUT = "timeout"  # the ring timeout passed
    GLARE = "glare"  # the callee invited the caller while this call rang
    OFFER = "offer"  # SDP offer from a bound device (re-offers and ICE restarts too)
    ANSWER = "answer"  # SDP answer from a bound device
    ICE = "ice"  # an ICE candidate from a bound device
    DEVICE_LOST = "device_lost"  # a bound device's connection ended
    RESUME = "resume"  # a device of a side whose device vanished comes back
    GRACE_OVER = "grace_over"  # a side stayed vacant for the grace period


class CallError(Exception):
    """A refused event: one error code of the protocol and a message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Call:
    call_id: int
    caller: int
    callee: int
    media: str
    caller_device: str | None  # the session id bound on each side (None: vacant, or the callee's while ringing)
    started_at: int
    ring_until: int
    callee_device: str | None = None
    state: str = RINGING
    accepted_at: int = 0
    ended_at: int = 0
    reason: str = ""
    ended_by: int = 0
    vacant_since: int = 0  # when a bound side became vacant (0: both bound)
    buffered: list[tuple[str, object]] = field(default_factory=list)  # the caller's signals (kind, body) before an accept

    def side(self, user_id: int) -> str:
        if user_id == self.caller:
            return "caller"
        if user_id == self.callee:
            return "callee"
        raise CallError("not_found", "no such call")

    def device_of(self, user_id: int) -> str | None:
        return self.caller_device if user_id == self.caller else self.callee_device

    def peer_of(self, user_id: int) -> int:
        return self.callee if user_id == self.caller else self.caller

    @property
    def duration_ms(self) -> int:
        return max(0, self.ended_at - self.accepted_at) if self.accepted_at else 0


@dataclass(frozen=True)
class Outcome:
    """What one event did: `changed` (the state moved: push it), `relay` (pass the signal on to
    the peer's bound device), `buffer` (keep the signal until a callee device accepts)."""

    changed: bool = False
    relay: bool = False
    buffer: bool = False


NOTHING = Outcome()

# (state, event) -> what happens; a string is the refusal's error code.
ENDED_ERROR = "conflict"
TABLE: dict[tuple[str, Event], str] = {
    (RINGING, Event.ACCEPT): "accept",
    (RINGING, Event.REJECT): "end_rejected",
    (RINGING, Event.HANGUP): "cancel_or_reject",
    (RINGING, Event.TIMEOUT): "end_missed",
    (RINGING, Event.GLARE): "accept",
    (RINGING, Event.OFFER): "buffer",
    (RINGING, Event.ANSWER): "error:bad_request",
    (RINGING, Event.ICE): "buffer",
    (RINGING, Event.DEVICE_LOST): "vacate",
    (RINGING, Event.RESUME): "resume",
    (RINGING, Event.GRACE_OVER): "end_lost",
    (ACCEPTED, Event.ACCEPT): "error:answered_elsewhere",
    (ACCEPTED, Event.REJECT): "error:answered_elsewhere",
    (ACCEPTED, Event.HANGUP): "end_hangup",
    (ACCEPTED, Event.TIMEOUT): "ignore",
    (ACCEPTED, Event.GLARE): "error:conflict",
    (ACCEPTED, Event.OFFER): "relay",
    (ACCEPTED, Event.ANSWER): "connect",
    (ACCEPTED, Event.ICE): "relay",
    (ACCEPTED, Event.DEVICE_LOST): "vacate",
    (ACCEPTED, Event.RESUME): "resume",
    (ACCEPTED, Event.GRACE_OVER): "end_lost",
    (CONNECTED, Event.ACCEPT): "error:answered_elsewhere",
    (CONNECTED, Event.REJECT): "error:answered_elsewhere",
    (CONNECTED, Event.HANGUP): "end_hangup",
    (CONNECTED, Event.TIMEOUT): "ignore",
    (CONNECTED, Event.GLARE): "error:conflict",
    (CONNECTED, Event.OFFER): "relay",
    (CONNECTED, Event.ANSWER): "relay",
    (CONNECTED, Event.ICE): "relay",
    (CONNECTED, Event.DEVICE_LOST): "vacate",
    (CONNECTED, Event.RESUME): "resume",
    (CONNECTED, Event.GRACE_OVER): "end_lost",
}
for _event in Event:
    # An ended call takes no event: its timers and lost devices are ignored, the rest refused.
    TABLE[(ENDED, _event)] = "ignore" if _event in (Event.TIMEOUT, Event.DEVICE_LOST, Event.GRACE_OVER) else f"error:{ENDED_ERROR}"


def step(call: Call, event: Event, user_id: int, device: str, now: int) -> Outcome:
    """Apply one event by `device` of `user_id` (for TIMEOUT and GRACE_OVER, the clock: user 0)
    at `now` (ms). Raises CallError for a refusal; the call is then unchanged."""
    action = TABLE[(call.state, event)]
    if event is Event.ACCEPT and call.state in LIVE and device == call.callee_device:
        return NOTHING  # the same device accepting again (a resent request)
    if action.startswith("error:"):
        code = action[6:]
        raise CallError(code, _MESSAGES.get((code, event), _MESSAGES.get((code, None), code)))
    if action == "ignore":
        return NOTHING
    side = call.side(user_id) if user_id else ""
    if event in (Event.OFFER, Event.ANSWER, Event.ICE):
        if call.device_of(user_id) != device:
            raise CallError("forbidden", "only the devices in the call exchange its signals")
        if action == "buffer":
            if side != "caller":
                raise CallError("bad_request", "answer the call with rtc_call_accept first")
            return Outcome(buffer=True)
        if action == "connect":
            call.state = CONNECTED
            return Outcome(changed=True, relay=True)
        return Outcome(relay=True)
    if action == "accept":
        if side != "callee":
            raise CallError("forbidden", "only the callee answers a call")
        call.state, call.callee_device, call.accepted_at = ACCEPTED, device, now
        return Outcome(changed=True)
    if action == "end_rejected":
        if side != "callee":
            raise CallError("forbidden", "only the callee declines a call; the caller hangs up")
        return _end(call, REJECTED, user_id, now)
    if action == "cancel_or_reject":
        return _end(call, CANCELLED if side == "caller" else REJECTED, user_id, now)
    if action == "end_hangup":
        return _end(call, HANGUP, user_id, now)
    if action == "end_missed":
        return _end(call, MISSED, 0, now)
    if action == "vacate":
        if device not in (call.caller_device, call.callee_device):
            return NOTHING  # a device that was not in the call (a callee device that rang)
        if device == call.caller_device:
            call.caller_device = None
        else:
            call.callee_device = None
        call.vacant_since = call.vacant_since or now
        return Outcome(changed=True)
    if action == "resume":
        if call.device_of(user_id) is not None:
            return NOTHING  # nothing vacant on this side: the device in the call stays
        if side == "callee" and call.state == RINGING:
            return NOTHING  # a ringing callee has no device in the call yet
        if side == "caller":
            call.caller_device = device
        else:
            call.callee_device = device
        if call.caller_device is not None and (call.callee_device is not None or call.state == RINGING):
            call.vacant_since = 0
        return Outcome(changed=True)
    if action == "end_lost":
        if not call.vacant_since:
            return NOTHING  # came back in time
        return _end(call, CANCELLED if call.state == RINGING else LOST, 0, now)
    raise AssertionError(action)


def _end(call: Call, reason: str, by: int, now: int) -> Outcome:
    call.state, call.reason, call.ended_by, call.ended_at = ENDED, reason, by, now
    call.buffered.clear()
    return Outcome(changed=True)


_MESSAGES: dict[tuple[str, Event | None], str] = {
    ("answered_elsewhere", Event.ACCEPT): "the call was answered on another device",
    ("answered_elsewhere", Event.REJECT): "the call was answered on another device",
    ("conflict", Event.GLARE): "this call is already live",
    ("conflict", None): "the call has ended",
    ("bad_request", Event.ANSWER): "no offer to answer yet: the callee answers after accepting",
}

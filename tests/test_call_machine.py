"""The 1:1 call state machine (chatd.policy.calls), pure: its table, its refusals, and random
event orders across the caller's devices, the callee's devices and the clock (hypothesis)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chatd.errors import CODES
from chatd.policy import calls as m
from chatd.policy.calls import ACCEPTED, CONNECTED, ENDED, RINGING, Call, CallError, Event

CALLER, CALLEE = 1, 2
DEVICES = {CALLER: ("a1", "a2"), CALLEE: ("b1", "b2", "b3")}


def ringing() -> Call:
    return Call(7, CALLER, CALLEE, "audio", "a1", started_at=1000, ring_until=46_000)


def test_every_state_and_event_has_an_entry_and_every_error_is_a_protocol_code():
    assert set(m.TABLE) == {(s, e) for s in m.STATES for e in Event}
    for action in m.TABLE.values():
        if action.startswith("error:"):
            assert action[6:] in CODES


def test_a_call_answered_then_hung_up():
    call = ringing()
    assert m.step(call, Event.OFFER, CALLER, "a1", 1100).buffer
    assert m.step(call, Event.ACCEPT, CALLEE, "b2", 2000).changed
    assert (call.state, call.callee_device, call.accepted_at) == (ACCEPTED, "b2", 2000)
    with pytest.raises(CallError) as exc:
        m.step(call, Event.ACCEPT, CALLEE, "b1", 2001)
    assert exc.value.code == "answered_elsewhere"
    assert m.step(call, Event.ACCEPT, CALLEE, "b2", 2002) is m.NOTHING  # the same device again
    with pytest.raises(CallError) as exc:
        m.step(call, Event.ICE, CALLEE, "b1", 2003)
    assert exc.value.code == "forbidden"
    out = m.step(call, Event.ANSWER, CALLEE, "b2", 2100)
    assert out.changed and out.relay and call.state == CONNECTED
    assert m.step(call, Event.TIMEOUT, 0, "", 46_000) is m.NOTHING
    assert m.step(call, Event.HANGUP, CALLEE, "b3", 62_000).changed  # any device of a side hangs up
    assert (call.state, call.reason, call.ended_by, call.duration_ms) == (ENDED, m.HANGUP, CALLEE, 60_000)


@pytest.mark.parametrize(
    ("event", "user", "reason"),
    [(Event.TIMEOUT, 0, m.MISSED), (Event.REJECT, CALLEE, m.REJECTED), (Event.HANGUP, CALLER, m.CANCELLED), (Event.HANGUP, CALLEE, m.REJECTED)],
)
def test_ways_a_ringing_call_ends(event, user, reason):
    call = ringing()
    m.step(call, event, user, DEVICES.get(user, ("",))[0], 5000)
    assert (call.state, call.reason, call.duration_ms) == (ENDED, reason, 0)


def test_glare_accepts_the_ringing_call_with_the_callees_inviting_device():
    call = ringing()
    with pytest.raises(CallError):
        m.step(call, Event.GLARE, CALLER, "a2", 1500)  # the caller cannot meet its own call
    m.step(call, Event.GLARE, CALLEE, "b3", 1500)
    assert (call.state, call.callee_device) == (ACCEPTED, "b3")


def test_a_vanished_device_is_replaced_or_the_call_ends_lost():
    call = ringing()
    m.step(call, Event.ACCEPT, CALLEE, "b1", 2000)
    m.step(call, Event.DEVICE_LOST, CALLEE, "b2", 3000)  # a device that only rang: nothing
    assert call.vacant_since == 0
    m.step(call, Event.DEVICE_LOST, CALLEE, "b1", 3000)
    assert (call.callee_device, call.vacant_since) == (None, 3000)
    m.step(call, Event.RESUME, CALLEE, "b9", 4000)
    assert (call.callee_device, call.vacant_since) == ("b9", 0)
    assert m.step(call, Event.GRACE_OVER, 0, "", 23_000) is m.NOTHING
    m.step(call, Event.DEVICE_LOST, CALLER, "a1", 5000)
    m.step(call, Event.GRACE_OVER, 0, "", 25_000)
    assert (call.state, call.reason, call.duration_ms) == (ENDED, m.LOST, 23_000)


def test_an_ended_call_takes_no_event():
    call = ringing()
    m.step(call, Event.HANGUP, CALLER, "a1", 2000)
    for event in Event:
        before = copy.deepcopy(call)
        try:
            assert m.step(call, event, CALLEE, "b1", 3000) is m.NOTHING
            assert event in (Event.TIMEOUT, Event.DEVICE_LOST, Event.GRACE_OVER)
        except CallError as err:
            assert err.code == "conflict"
        assert call == before


class CallMachine(RuleBasedStateMachine):
    """Random events from every device of both users and the clock; after each, the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.call = ringing()
        self.now = 1000
        self.accepted_by: list[str] = []
        self.was_live = False

    @rule(
        event=st.sampled_from(list(Event)),
        user=st.sampled_from([CALLER, CALLEE, 0]),
        device=st.integers(0, 2),
        dt=st.integers(0, 30_000),
    )
    def event(self, event: Event, user: int, device: int, dt: int) -> None:
        self.now += dt
        clock = event in (Event.TIMEOUT, Event.GRACE_OVER)
        if clock:
            user = 0
        elif user == 0:
            user = CALLER
        names = DEVICES.get(user, ("",))
        name = names[device % len(names)]
        before = copy.deepcopy(self.call)
        try:
            out = m.step(self.call, event, user, name, self.now)
        except CallError as err:
            assert err.code in CODES
            assert self.call == before, "a refused event changed the call"
            return
        if not out.changed:
            assert (self.call.state, self.call.caller_device, self.call.callee_device) == (before.state, before.caller_device, before.callee_device)
        if event in (Event.ACCEPT, Event.GLARE) and out.changed:
            self.accepted_by.append(self.call.callee_device or "")
        if before.callee_device is not None:
            assert self.call.callee_device in (None, before.callee_device), "another device took the answered call"
        if before.caller_device is not None:
            assert self.call.caller_device in (None, before.caller_device), "another device took the caller's side"
        if self.call.state in (ACCEPTED, CONNECTED):
            self.was_live = True

    @invariant()
    def consistent(self) -> None:
        call = self.call
        assert call.state in m.STATES
        assert len(self.accepted_by) <= 1, "answered twice"
        if call.state == ENDED:
            assert call.reason in m.REASONS and call.ended_at >= call.started_at and not call.buffered
            assert call.duration_ms >= 0
            assert (call.reason in (m.HANGUP, m.LOST)) == self.was_live
        else:
            assert call.reason == "" and call.ended_at == 0
        if call.state in (ACCEPTED, CONNECTED):
            assert call.accepted_at and (call.callee_device is not None or call.vacant_since)
        if call.state == RINGING:
            assert call.callee_device is None and call.accepted_at == 0
        if call.caller_device is not None and call.callee_device is not None:
            assert call.vacant_since == 0


TestCallMachine = CallMachine.TestCase
TestCallMachine.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)

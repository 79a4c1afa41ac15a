"""chatd.policy.push: who is notified of what, urgency, TTL, the endpoint address guard, the
retry back-off and the device fields. Pure: plain pytest and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.policy import push as policy
from chatd.policy.push import Settings

DEFAULT, DND, MENTIONS, NONE = Settings(), Settings(dnd=True), Settings(groups="mentions"), Settings(groups="none")


@pytest.mark.parametrize(
    "settings, muted, expected",
    [
        # a DM, a group message that mentions the user, a plain group message, a call, a friend request
        (DEFAULT, False, (True, True, True, True, True)),
        (DEFAULT, True, (False, False, False, True, True)),  # a muted conversation: its messages only
        (DND, False, (False, False, False, False, False)),
        (MENTIONS, False, (True, True, False, True, True)),
        (NONE, False, (True, False, False, True, True)),
    ],
)
def test_the_table_of_settings_by_kind(settings, muted, expected):
    got = (
        policy.notifies("message", "dm", settings, muted, False),
        policy.notifies("message", "group", settings, muted, True),
        policy.notifies("message", "group", settings, muted, False),
        policy.notifies("call", "", settings, False, False),
        policy.notifies("friend_request", "", settings, False, False),
    )
    assert got == expected


@given(st.booleans(), st.sampled_from(policy.GROUP_SETTINGS), st.booleans(), st.booleans(), st.sampled_from(["dm", "group"]))
def test_a_read_always_clears(dnd, groups, muted, mentioned, kind):
    assert policy.notifies("read", kind, Settings(dnd, groups), muted, mentioned)


def test_urgency_and_ttl():
    assert policy.urgency("message", "dm", False) == "high"
    assert policy.urgency("message", "group", True) == "high"
    assert policy.urgency("message", "group", False) == "normal"
    assert policy.urgency("call", "", False) == "high"
    assert policy.urgency("read", "dm", False) == "low"
    assert policy.ttl_s("call", 1_000, 46_000) == 45  # the ring time left
    assert policy.ttl_s("call", 46_000, 46_000) == 0  # rings no more: not sent
    assert policy.ttl_s("message", 0, 0) > 0 and policy.ttl_s("friend_request", 0, 0) > 0
    assert policy.topic(17) == "conv17" and len(policy.topic(2**53)) <= 32


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::ffff:127.0.0.1",
     "::ffff:10.0.0.1", "fe80::1", "fc00::1", "2002:7f00:1::1", "224.0.0.1", "not an address"],
)  # fmt: skip
def test_private_addresses_are_refused_unless_allowed(address):
    assert not policy.address_allowed(address, False)
    assert policy.address_allowed(address, True) is (address != "not an address")


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:93.184.215.14"])
def test_public_addresses_are_allowed(address):
    assert policy.address_allowed(address, False)


@given(st.integers(1, 20), st.floats(0.001, 10), st.floats(0, 1), st.none() | st.floats(0, 1000))
def test_backoff_doubles_honours_retry_after_and_is_capped(attempt, base, jitter, retry_after):
    cap = 300.0
    wait = policy.backoff_s(attempt, base, cap, retry_after, jitter)
    assert 0 <= wait <= cap
    assert wait >= min(cap, base * 2 ** (attempt - 1) / 2)
    if retry_after is not None:
        assert wait >= min(cap, retry_after)


def test_retry_after_in_seconds_or_as_a_date():
    assert policy.retry_after_s("120", 0) == 120
    assert policy.retry_after_s(None, 0) is None and policy.retry_after_s("soon", 0) is None
    assert policy.retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10.0


def test_device_fields():
    assert policy.missing_device_field("webpush", "k", "a", "", "") is None
    assert policy.missing_device_field("unifiedpush", "", "a", "", "") == ("p256dh", "a unifiedpush device needs the subscription's p256dh and auth keys")
    assert policy.missing_device_field("webpush", "k", "a", "t", "")[0] == "pushkey"  # type: ignore[index]
    assert policy.missing_device_field("gateway", "", "", "t", "app") is None
    assert policy.missing_device_field("gateway", "", "", "t", "")[0] == "app_id"  # type: ignore[index]
    assert policy.missing_device_field("gateway", "k", "", "t", "app")[0] == "p256dh"  # type: ignore[index]

"""The pure login-throttle decisions (chatd.policy.login_throttle): budgets, back-off, expiry, bounds."""

from __future__ import annotations

import pytest

from chatd.policy.login_throttle import LoginThrottle, ThrottleLimits, account_key, address_key, backoff_ms

LIMITS = ThrottleLimits(address_failures=4, account_failures=2, backoff_base_ms=1000, backoff_max_ms=8000, forget_after_s=60, max_keys=100)


def test_backoff_doubles_from_the_budget_up_to_the_cap():
    assert [backoff_ms(n, 3, 1000, 10_000) for n in range(1, 9)] == [0, 0, 1000, 2000, 4000, 8000, 10_000, 10_000]
    assert backoff_ms(10**6, 3, 1000, 10_000) == 10_000


def test_account_budget_then_back_off():
    t = LoginThrottle(LIMITS)
    assert t.check("1.2.3.4", "alice", 0) == 0
    assert t.failed("1.2.3.4", "alice", 0) == 0
    assert t.check("1.2.3.4", "alice", 0) == 0
    assert t.failed("1.2.3.4", "alice", 0) == 1000  # the budget's last failure starts the wait
    assert t.check("1.2.3.4", "alice", 0.2) == 800
    assert t.check("5.6.7.8", "alice", 0.2) == 800, "the account waits whatever the address"
    assert t.check("1.2.3.4", "bob", 0.2) == 0, "the address has budget left for other accounts"
    assert t.check("1.2.3.4", "alice", 1.0) == 0
    assert t.failed("5.6.7.8", "alice", 1.0) == 2000
    assert t.failed("5.6.7.8", "alice", 3.0) == 4000
    assert t.failed("5.6.7.8", "alice", 7.0) == 8000
    assert t.failed("5.6.7.8", "alice", 15.0) == 8000  # capped
    assert t.check("9.9.9.9", "alice", 16.0) == 7000


def test_address_budget_covers_every_account_and_token_logins():
    t = LoginThrottle(LIMITS)
    for i in range(3):
        assert t.failed("1.2.3.4", f"user{i}", 0) == 0
    assert t.failed("1.2.3.4", None, 0) == 1000  # a bad token counts for the address
    assert t.check("1.2.3.4", None, 0.5) == 500
    assert t.check("1.2.3.4", "someone-new", 0.5) == 500
    assert t.check("1.2.3.5", "someone-new", 0.5) == 0


def test_success_clears_the_account_but_not_the_address():
    t = LoginThrottle(LIMITS)
    for _ in range(3):
        t.failed("1.2.3.4", "alice", 0)
    t.succeeded("1.2.3.4", "alice", 10)
    assert t.check("1.2.3.5", "alice", 10) == 0
    assert t.failed("1.2.3.4", "bob", 10) == 1000, "the address's fourth failure"


def test_keys_are_forgotten_after_their_last_failure_but_not_while_blocked():
    limits = ThrottleLimits(address_failures=1, account_failures=1, backoff_base_ms=1000, backoff_max_ms=120_000, forget_after_s=10, max_keys=100)
    t = LoginThrottle(limits)
    for i in range(8):  # blocked for 128 s -> 120 s (the cap), beyond forget_after_s
        t.failed("1.2.3.4", "alice", i * 0.001)
    t.failed("9.9.9.9", "bob", 50)  # expiry runs as failures are counted
    assert t.check("1.2.3.4", "alice", 50) > 0, "still blocked: not forgotten"
    t.failed("9.9.9.9", "bob", 130)
    assert len(t.accounts.entries) == 1 and "alice" not in t.accounts.entries
    assert t.check("1.2.3.4", "alice", 130) == 0


def test_the_tables_are_bounded():
    t = LoginThrottle(ThrottleLimits(max_keys=50))
    for i in range(1000):
        t.failed(f"10.0.{i // 256}.{i % 256}", f"user{i}", i * 0.001)
    assert len(t.addresses.entries) == 50 and len(t.accounts.entries) == 50
    assert "user999" in t.accounts.entries and "user0" not in t.accounts.entries


@pytest.mark.parametrize(
    "address, key",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", ""),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_address_key(address, key):
    assert address_key(address) == key


def test_account_key_is_case_folded_and_bounded():
    assert account_key(" Alice ") == account_key("ALICE") == "alice"
    assert len(account_key("x" * 70_000)) == 128

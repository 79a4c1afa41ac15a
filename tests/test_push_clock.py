"""Push retries and idle connections over real sockets (docs/push.md, Delivery and Who is pushed),
without waiting: the push service's clock is a `HeldClock` (tests/push_scene.py) that shows the
test every back-off the service asks for and ends it when the test says so.

One delivery at a time (push.concurrency 1): while bob's retry waits, the worker is free, so a
DM to carol (the sentinel) being the next request shows that bob's was not sent again."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.push_scene")  # its asserts explain themselves, as the tests' do

from tests.push_receiver import Answer  # noqa: E402
from tests.push_scene import HeldClock, text  # noqa: E402

pytest_plugins = ["tests.push_scene"]  # the fixtures: receiver, scene

NOW = 1_800_000_000.0  # the held wall clock (whole seconds: an HTTP date says exactly 120 s)
HTTP_DATE = format_datetime(datetime.fromtimestamp(NOW + 120, tz=timezone.utc), usegmt=True)

RETRIES = {"allow_private_endpoints": True, "concurrency": 1, "max_attempts": 6, "retry_base_s": 40.0, "retry_max_s": 300.0}
# The wait before each retry (push.retry_base_s 40, doubling, up to half taken off by the jitter,
# at most push.retry_max_s 300): after the 429, its Retry-After (120, more than the back-off's
# 20..40); then after each 503, which says nothing, the back-off alone.
BOUNDS = [(120, 120), (40, 80), (80, 160), (160, 300), (300, 300)]


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return {"push": RETRIES}


@pytest.mark.parametrize("retry_after", ["120", HTTP_DATE])
async def test_retries_wait_the_back_off_asked_for_and_stop_after_max_attempts(scene, harness, retry_after):
    clock = HeldClock(NOW)
    harness.server.services.push.clock = clock
    await scene.register("bob")
    scene.receiver.answer("/push/bob", Answer(429, {"Retry-After": retry_after}), *[Answer(503)] * 5)
    sent = await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
    assert (await scene.pushed("bob"))["data"]["msg_id"] == sent["id"]
    waits = []
    for low, high in BOUNDS:
        wait, release = await clock.asked()
        waits.append(wait)
        assert low <= wait <= high, (waits, BOUNDS)
        await scene.sentinel()  # carol's push went; bob's retry did not: it waits for the release
        release.set()
        again = await scene.pushed("bob")  # the next request after the release is bob's retry
        assert again["data"]["msg_id"] == sent["id"]
    assert waits[1:] == sorted(waits[1:])  # the 503s': growing
    # The sixth try was the last (push.max_attempts): a failure, no seventh, no more waits.
    await scene.sentinel()  # one delivery at a time: bob's was settled before carol's was sent
    assert clock.nothing_asked()
    counts = harness.server.metrics.push_deliveries
    assert (counts.get(("webpush", "retried")), counts.get(("webpush", "failed"))) == (5, 1)
    async with harness.client("bob") as b:
        (device,) = (await b.request("push_device_list", {}))["devices"]
    assert device["failures"] == 1 and device["last_success"] == 0


@pytest.mark.parametrize("config_overrides", [{"push": {**RETRIES, "idle_after_s": 60}, "server": {"heartbeat_timeout_s": 3600}}])
async def test_a_user_whose_connections_are_all_idle_is_pushed(scene, harness):
    bob = scene.users["bob"]
    await scene.register("bob")
    hub = harness.server.hub

    def silent_for(seconds: float) -> None:
        # As if bob's connections had sent nothing for `seconds`: the server records a
        # connection's last frame in session.last_frame (chatd/server.py), on the monotonic clock
        # the push service compares it with; setting it here spares the test a minute of real
        # waiting. (heartbeat_timeout_s is an hour so that the server does not close them.)
        for session in hub.by_user[bob]:
            session.last_frame = time.monotonic() - seconds

    async def dm() -> None:
        await scene.alice.request("chat_dm_send", {"peer": bob, "content": text()})

    async with harness.client("bob", device="phone") as phone, harness.client("bob", device="laptop") as laptop:
        assert len(hub.by_user[bob]) == 2
        await dm()
        await scene.sentinel()  # just connected: not pushed
        silent_for(30)
        await dm()
        await scene.sentinel()  # silent for less than push.idle_after_s: not pushed
        silent_for(120)
        await dm()
        assert (await scene.pushed("bob"))["data"]["type"] == "message"  # both idle: pushed
        await laptop.request("push_device_list", {})  # a frame: the laptop is active again
        await dm()
        await scene.sentinel()  # one recently active connection: not pushed
        silent_for(120)
        await phone.request("push_device_list", {})
        await dm()
        await scene.sentinel()
        silent_for(120)
        await dm()
        assert (await scene.pushed("bob"))["data"]["type"] == "message"

"""A bystander: a logged-in user who keeps pinging while a test attacks the server.

    async with watching(harness, "fragment flood"):
        ...  # the attack

The bystander pings at a steady pace (one round trip, then a pause) from before the
attack starts until it ends, and at least once after it began. Every ping must be
answered within 30 s: a ping that fails or goes unanswered fails the test. The round
trips are not asserted (timings belong to `bench/`), but they are reported: pytest's
summary ends with one line per attack (n, p50, p99, max), so every run of the suite
shows what each attack cost an ordinary user.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import trio

from chatd.client import Client

PACE_S = 0.02  # one ping every 20 ms at most: well inside any frame budget the tests set
NAME = "bystander"


class Seen(NamedTuple):
    test: str
    attack: str
    rtts_ms: list[float]

    def line(self) -> str:
        r = sorted(self.rtts_ms)
        return (
            f"{self.attack:<50} n={len(r):>4}  p50 {quantile(r, 0.50):7.2f} ms  "
            f"p99 {quantile(r, 0.99):7.2f} ms  max {r[-1]:7.2f} ms   ({self.test})"
        )


REPORT: list[Seen] = []  # read by conftest.pytest_terminal_summary
_current_test = [""]


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _pinger(client: Client, rtts: list[float], started: trio.Event, stop: trio.Event, during: list[int]) -> None:
    """Pings until stopped, and at least once after the attack began (`during[0]` is where it began)."""
    while True:
        t0 = trio.current_time()
        out = await client.request("ping", timeout=30)
        assert out["pong"] is True, out
        rtts.append((trio.current_time() - t0) * 1000)
        started.set()
        with trio.move_on_after(PACE_S):  # pacing the load, not waiting for anything
            await stop.wait()
        if stop.is_set() and len(rtts) > during[0]:
            return


@asynccontextmanager
async def watching(harness: Any, attack: str) -> AsyncIterator[None]:
    """A bystander pings through the body of the `async with`."""
    if not getattr(harness, "bystander_added", False):
        await harness.add_user(NAME)
        harness.bystander_added = True
    rtts: list[float] = []
    stop, started = trio.Event(), trio.Event()
    during = [len(rtts)]
    async with harness.client(NAME) as client:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pinger, client, rtts, started, stop, during)
            await started.wait()  # one answered ping before the attack: the bystander is live
            during[0] = len(rtts)
            try:
                yield
            except BaseException:
                nursery.cancel_scope.cancel()
                raise
            stop.set()
    REPORT.append(Seen(_current_test[0], attack, rtts[during[0]:]))


def set_current_test(nodeid: str) -> None:
    _current_test[0] = nodeid.split("::")[-1]

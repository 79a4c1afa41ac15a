"""The push tests' scene (tests/test_push.py, tests/test_push_clock.py): a receiver on 127.0.0.1
(tests/push_receiver.py), alice online and bob and carol offline with Web Push subscriptions,
and a clock for the push service whose waits the test sees and ends (`HeldClock`).

A test module takes the fixtures with `pytest_plugins = ["tests.push_scene"]`."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from chatd.services.push import Clock
from tests.push_receiver import Receiver, Subscription

TEXT = "the secret plans for friday"


@pytest.fixture
async def receiver(harness):
    async with trio.open_nursery() as nursery:
        r = Receiver()
        await r.start(nursery)
        yield r
        nursery.cancel_scope.cancel()


def text(body: str = TEXT) -> dict[str, Any]:
    return {"type": "text", "text": body}


async def gone_offline(watcher, user_id: int) -> None:
    """Wait until the server has let the user's last connection go (their DM peer hears it)."""
    await watcher.next_push("chat_presence_update", where=lambda d: d["user_id"] == user_id and not d["online"])


class Scene:
    """alice (online) with bob and carol offline, each with a Web Push subscription at the receiver."""

    def __init__(self, harness, users, receiver, alice) -> None:
        self.harness, self.users, self.receiver, self.alice = harness, users, receiver, alice
        self.subs = {name: Subscription(receiver.url(f"/push/{name}")) for name in ("bob", "carol")}
        self.vapid = ""
        self.devices: dict[str, int] = {}

    async def register(self, name: str, *, settings: dict[str, Any] | None = None, register: dict[str, Any] | None = None, then: Any = None) -> dict[str, Any]:
        """Log `name` in, register (and set settings, run `then(client)`), log out; wait until offline."""
        async with self.harness.client(name) as c:
            out = await c.request("push_device_register", register or self.subs[name].register)
            self.devices[name] = out["device"]["id"]
            self.vapid = out["vapid_public_key"]
            if settings:
                await c.request("push_settings_set", settings)
            if then is not None:
                await then(c)
        await gone_offline(self.alice, self.users[name])
        return out

    async def sentinel(self) -> None:
        """A DM to carol, and the next request must be its push."""
        await self.alice.request("chat_dm_send", {"peer": self.users["carol"], "content": text("sentinel")})
        got = await self.receiver.next()
        assert got.path == "/push/carol", f"pushed to {got.path} where only the sentinel was expected"
        assert self.subs["carol"].read(got, self.vapid)["type"] == "message"

    async def pushed(self, name: str) -> dict[str, Any]:
        got = await self.receiver.next()
        assert got.path == f"/push/{name}"
        return {"headers": got.headers, "data": self.subs[name].read(got, self.vapid)}


@pytest.fixture
async def scene(harness, users, receiver):
    async with harness.client("alice") as alice:
        async with harness.client("bob") as b, harness.client("carol") as c:
            for peer in ("bob", "carol"):  # DM peers: alice hears when they go
                await alice.request("chat_dm_send", {"peer": users[peer], "content": text("hello")})
            login = await b.request("push_device_list", {})
            assert login["devices"] == [] and login["settings"] == {"dnd": False, "groups": "all", "previews": False}
            del c
        await gone_offline(alice, users["bob"])
        await gone_offline(alice, users["carol"])
        s = Scene(harness, users, receiver, alice)
        await s.register("carol")
        yield s




class HeldClock(Clock):
    """The push service's clock in a test: the wall clock stands still at `now`, and every wait
    the service asks for (a retry's back-off) is handed to the test, and lasts until the test
    releases it: no real waiting."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._asked_in, self._asked = trio.open_memory_channel[tuple[float, trio.Event]](100)

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        released = trio.Event()
        self._asked_in.send_nowait((seconds, released))
        await released.wait()

    async def asked(self) -> tuple[float, trio.Event]:
        """The next wait the service asked for, and the event that ends it."""
        with trio.fail_after(20):
            return await self._asked.receive()

    def nothing_asked(self) -> bool:
        return self._asked.statistics().current_buffer_used == 0

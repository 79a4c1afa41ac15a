"""The hashing slots' fair queue (chatd.services.login_guard.FairSlots), on trio's clock."""

from __future__ import annotations

import trio
from trio.testing import wait_all_tasks_blocked

from chatd.services.login_guard import FairSlots


async def test_slots_go_to_the_addresses_in_turn():
    slots = FairSlots(1)
    order: list[str] = []

    async def use(key: str, hold: trio.Event | None = None) -> None:
        await slots.acquire(key)
        order.append(key)
        if hold is not None:
            await hold.wait()
        await trio.sleep(0)
        slots.release()

    async with trio.open_nursery() as nursery:
        hold = trio.Event()
        nursery.start_soon(use, "flood", hold)  # takes the slot and keeps it until all are queued
        await wait_all_tasks_blocked()
        for _ in range(5):
            nursery.start_soon(use, "flood")
        await wait_all_tasks_blocked()
        nursery.start_soon(use, "user")  # arrives behind five of the flood's
        await wait_all_tasks_blocked()
        nursery.start_soon(use, "other")
        await wait_all_tasks_blocked()
        assert order == ["flood"] and [k for k in slots.waiting] == ["flood", "user", "other"]
        hold.set()
    assert order[:4] == ["flood", "flood", "user", "other"], order
    assert order.count("flood") == 6 and slots.free == 1 and not slots.waiting


async def test_one_key_alone_may_use_every_slot():
    slots = FairSlots(3)
    for _ in range(3):
        await slots.acquire("a")
    assert slots.free == 0
    with trio.move_on_after(0.01):
        await slots.acquire("a")
        raise AssertionError("a fourth slot")
    assert not slots.waiting, "a cancelled waiter leaves the line"
    for _ in range(3):
        slots.release()
    assert slots.free == 3

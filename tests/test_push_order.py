"""Every push of a conversation reaches every connection in seq order, however many members send
at once (the delivery pipeline writes a committed batch's pushes in commit order)."""

from __future__ import annotations

import trio

from .test_group import add_users
from .test_group import create as create_group
from .test_room import create as create_room
from .test_room import join as join_room

SENDERS = 5
EACH = 40


async def _senders_and_watcher(harness, send_cmd: str, id_field: str, conv_id: int, names: list[str], watcher) -> None:
    """Every sender sends EACH messages as fast as acks come back, all at once; the watcher must
    get all SENDERS * EACH chat_message pushes exactly once, seq after seq."""
    first = None

    async def sender(name: str) -> None:
        nonlocal first
        async with harness.client(name) as c:
            for i in range(EACH):
                out = await c.request(send_cmd, {id_field: conv_id, "content": {"type": "text", "text": f"{name} {i}"}})
                first = out["seq"] if first is None else min(first, out["seq"])

    async with trio.open_nursery() as nursery:
        for name in names:
            nursery.start_soon(sender, name)
    seqs = []
    while len(seqs) < SENDERS * EACH:
        push = await watcher.next_push("chat_message", where=lambda d: d["event"] == "new" and d["message"]["content"]["type"] == "text")
        seqs.append(push["data"]["seq"])
    assert first is not None
    assert seqs == list(range(first, first + SENDERS * EACH)), [s for a, s in zip(seqs, seqs[1:]) if s != a + 1][:10]
    assert not watcher.pending_pushes("chat_message")  # and nothing twice


async def test_group_pushes_arrive_in_seq_order_under_concurrent_senders(harness, users):
    names = [f"sender{i}" for i in range(SENDERS)]
    ids = await add_users(harness, *names)
    async with harness.client("alice") as a1, harness.client("bob") as watcher:
        gid = (await create_group(a1, "busy", [*ids, users["bob"]]))["group_id"]
        await watcher.next_push("chat_message")  # group_created
        await _senders_and_watcher(harness, "chat_group_send", "group_id", gid, names, watcher)


async def test_room_pushes_arrive_in_seq_order_under_concurrent_senders(harness, users):
    names = [f"sender{i}" for i in range(SENDERS)]
    await add_users(harness, *names)
    async with harness.client("alice") as a1, harness.client("bob") as watcher:
        rid = (await create_room(a1, "busy"))["room_id"]
        await join_room(watcher, rid)
        for name in names:  # members, not present: their sends still reach who is in the room
            async with harness.client(name) as c:
                await join_room(c, rid)
        await _senders_and_watcher(harness, "chat_room_send", "room_id", rid, names, watcher)

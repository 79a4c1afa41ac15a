"""Room fanout: a connection in the room that stops reading is cut off with 4008 and leaves
the room (the hub's session end hook); the others keep receiving every message in order, and
the cut-off member catches up by seq."""

from __future__ import annotations

import pytest
import trio

from .test_fanout import RawClient
from .test_room import create, join


@pytest.mark.parametrize("config_overrides", [{"server": {"backlog_max_bytes": 256 * 1024}, "limits": {"send_burst": 10000, "user_write_burst": 10000}}])
async def test_stalled_connection_is_closed_and_leaves_the_room(harness, users):
    b, c = users["bob"], users["carol"]
    presence = harness.server.services.room_presence
    stalled = await RawClient.connect(harness.url)
    await stalled.login("bob")
    async with harness.client("alice") as a1, harness.client("carol") as c1:
        rid = (await create(a1))["room_id"]
        await join(c1, rid)
        await stalled.send_json({"cmd": "room_join", "id": "2", "data": {"room_id": rid}})
        await stalled.expect_ok()
        assert presence.users(rid) == {users["alice"]: 1, b: 1, c: 1}
        # From here on bob's connection reads nothing.
        big = "x" * 15000
        count = 300  # 4.5 MB: far past the 256 KiB backlog cap plus the kernel's socket buffers
        first = None
        for i in range(count):
            out = await a1.request("chat_room_send", {"room_id": rid, "content": {"type": "text", "text": f"{i} {big}"}})
            first = first or out["seq"]
        seqs = []
        with trio.fail_after(10):
            while len(seqs) < count:
                push = await c1.next_push("chat_message", where=lambda d: d["message"]["content"]["type"] == "text")
                seqs.append(push["data"]["seq"])
        assert seqs == list(range(first, first + count))
        with trio.fail_after(10):
            assert await stalled.close_code() == 4008
        with trio.fail_after(10):
            while b in presence.users(rid):
                await trio.sleep(0.01)  # polling a condition under a deadline
        # bob is still a member: he catches up by seq.
        async with harness.client("bob") as b2:
            hist = await b2.request("chat_room_history", {"room_id": rid, "after_seq": first - 1, "limit": 100})
            assert [m["seq"] for m in hist["messages"]] == list(range(first, first + 100)) and hist["has_more"] is True
            assert (await join(b2, rid))["joined"] is False
    stalled.sock.close()


async def test_a_connection_that_joins_as_a_message_is_sent_gets_it_if_it_came_after(harness, users):
    """carol's connection joins while bob sends, many times over. Whenever bob's message committed
    after her join (its seq is past the room's last_seq in her join's answer), she gets it."""
    after_join = 0
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        for trial in range(30):
            rid = (await a1.request("chat_room_create", {"name": f"r{trial}"}))["room"]["room_id"]
            await b1.request("room_join", {"room_id": rid})
            joined: dict = {}
            sent: dict = {}

            async def carol_joins() -> None:
                joined.update(await c1.request("room_join", {"room_id": rid}))

            async def bob_sends() -> None:
                sent.update(await b1.request("chat_room_send", {"room_id": rid, "content": {"type": "text", "text": f"race {trial}"}}))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(carol_joins)
                nursery.start_soon(bob_sends)
            if sent["seq"] > joined["room"]["last_seq"]:
                after_join += 1
                await c1.next_push("chat_message", timeout=5, where=lambda d: d["conv_id"] == sent["conv_id"] and d["seq"] == sent["seq"])
    assert after_join > 0, "the message never came after the join: the race was not run"

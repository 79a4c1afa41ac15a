"""Group fanout: a member whose device stops reading is cut off with 4008; the others keep
receiving every message in order, and the cut-off member catches up by seq."""

from __future__ import annotations

import pytest
import trio

from .test_fanout import RawClient
from .test_group import create


@pytest.mark.parametrize("config_overrides", [{"server": {"backlog_max_bytes": 256 * 1024}, "limits": {"send_burst": 10000, "user_write_burst": 10000}}])
async def test_stalled_member_is_closed_and_others_keep_receiving(harness, users):
    b, c = users["bob"], users["carol"]
    hub = harness.server.hub
    async with harness.client("alice") as a1:
        gid = (await create(a1, "team", [b, c]))["group_id"]
    stalled = await RawClient.connect(harness.url)
    await stalled.login("bob")
    # From here on bob's device reads nothing.
    big = "x" * 15000
    count = 300  # 4.5 MB: far past the 256 KiB backlog cap plus the kernel's socket buffers
    async with harness.client("alice") as a1, harness.client("carol") as c1:
        first = None
        for i in range(count):
            out = await a1.request("chat_group_send", {"group_id": gid, "content": {"type": "text", "text": f"{i} {big}"}})
            first = first or out["seq"]
        seqs = []
        with trio.fail_after(10):
            while len(seqs) < count:
                push = await c1.next_push("chat_message", where=lambda d: d["message"]["content"]["type"] == "text")
                seqs.append(push["data"]["seq"])
        assert seqs == list(range(first, first + count))
        with trio.fail_after(10):
            while not all(s.conn.closing for s in hub.sessions_of(b)):  # closing, or gone
                await trio.sleep(0.01)  # polling a condition under a deadline
        with trio.fail_after(10):
            assert await stalled.close_code() == 4008
        async with harness.client("bob") as b2:
            hist = await b2.request("chat_group_history", {"group_id": gid, "after_seq": first - 1, "limit": 100})
            assert [m["seq"] for m in hist["messages"]] == list(range(first, first + 100)) and hist["has_more"] is True
    stalled.sock.close()


@pytest.mark.parametrize("config_overrides", [{"limits": {"user_write_burst": 10000}}])  # 30 groups made and used at once
async def test_a_member_who_joins_as_a_message_is_sent_gets_it_if_it_came_after(harness, users):
    """carol joins while bob sends, many times over. Whenever bob's message committed after her
    join (its seq is past the join's system message), her device gets it: the member cache
    follows the join as it commits, before any later message's fanout runs."""
    b = users["bob"]
    after_join = 0
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        for trial in range(30):
            gid = (await create(a1, f"g{trial}", [b]))["group_id"]
            code = (await a1.request("chat_group_update", {"group_id": gid, "invite_code": True}))["group"]["invite_code"]
            await b1.request("chat_group_send", {"group_id": gid, "content": {"type": "text", "text": "load the member cache"}})
            sent: dict = {}

            async def bob_sends() -> None:
                sent.update(await b1.request("chat_group_send", {"group_id": gid, "content": {"type": "text", "text": f"race {trial}"}}))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(c1.request, "chat_group_join", {"invite_code": code})
                nursery.start_soon(bob_sends)
            joined = await b1.next_push(
                "chat_message", where=lambda d: d["conv_id"] == sent["conv_id"] and d["message"]["content"].get("event") == "member_joined"
            )
            if sent["seq"] > joined["data"]["seq"]:
                after_join += 1
                await c1.next_push("chat_message", timeout=5, where=lambda d: d["conv_id"] == sent["conv_id"] and d["seq"] == sent["seq"])
    assert after_join > 0, "the message never came after the join: the race was not run"

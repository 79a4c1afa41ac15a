"""Group fanout: a member whose device stops reading is cut off with 4008; the others keep
receiving every message in order, and the cut-off member catches up by seq."""

from __future__ import annotations

import pytest
import trio

from .test_fanout import RawClient
from .test_group import create


@pytest.mark.parametrize("config_overrides", [{"server": {"backlog_max_bytes": 256 * 1024}, "limits": {"send_burst": 10000}}])
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

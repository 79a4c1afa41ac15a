"""A node killed under load (docs/scaling.md): three chatd nodes on one PostgreSQL database, two of
them real `chatd serve` processes. Alice, on node 2, sends 1,000 group messages one after the
other; bob, on node 1, receives them. Node 2 is killed with SIGKILL mid-way: alice reconnects
to node 1 and sends again what was not acknowledged, with the same client_msg_id. Bob ends
with every message exactly once, seqs without a gap, and every message alice saw acknowledged
is stored."""

from __future__ import annotations

import trio

from chatd.client import connect

from . import helpers_proc as proc
from .conftest import PASSWORD, Harness, make_config, start_server

COUNT = 1000
KILL_AFTER = 300
UNLIMITED = {"send_rate_per_s": 100_000, "send_burst": 100_000, "user_write_rate_per_s": 100_000, "user_write_burst": 100_000}  # a load, not a flood


async def test_a_node_killed_under_load_loses_no_acknowledged_message_and_leaves_no_gap(tmp_path, pg_dsn):
    acked: dict[str, int] = {}  # client_msg_id -> message id, as alice was told
    async with trio.open_nursery() as nursery:
        n0 = Harness(await start_server(nursery, make_config(tmp_path / "node0", storage={"database": pg_dsn, "node": 0})), nursery)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        async with n0.client("alice") as a:
            gid = (await a.request("chat_group_create", {"name": "failover", "members": [ids["bob"]]}))["group"]["group_id"]
        env = {"CHATD_STORAGE_DATABASE": pg_dsn, **{f"CHATD_LIMITS_{k.upper()}": str(v) for k, v in UNLIMITED.items()}}
        async with (
            proc.serve(tmp_path / "node1", env=proc.clean_env(**env, CHATD_STORAGE_NODE="1")) as node1,
            proc.serve(tmp_path / "node2", env=proc.clean_env(**env, CHATD_STORAGE_NODE="2")) as node2,
            connect(node1.ws_url) as bob,
        ):
            await bob.login("bob", PASSWORD)
            start = (await bob.request("chat_group_history", {"group_id": gid, "limit": 1}))["last_seq"]
            sent = 0

            async def send_all(url: str) -> None:
                nonlocal sent
                async with connect(url) as alice:
                    await alice.login("alice", PASSWORD)
                    while sent < COUNT:
                        cmid = f"m{sent}"
                        out = await alice.request("chat_group_send", {"group_id": gid, "client_msg_id": cmid, "content": {"type": "text", "text": cmid}})
                        acked[cmid] = out["message"]["id"]
                        sent += 1
                        if sent == KILL_AFTER and url == node2.ws_url:
                            node2.kill()  # SIGKILL, while alice's next send may be on its way

            try:
                await send_all(node2.ws_url)
            except Exception as exc:  # noqa: BLE001 - the node vanished under alice: however her client says so
                assert not isinstance(exc, AssertionError), exc
            assert sent >= KILL_AFTER
            await node2.wait()
            await send_all(node1.ws_url)  # the same client_msg_id again for the one in flight

            # Bob: every push he got (he stayed on node 1), then history for anything missing.
            got: dict[int, str] = {}
            with trio.move_on_after(20):
                while len(got) < COUNT:
                    frame = await bob.next_push("chat_message", timeout=20, where=lambda d: d["conv_id"] == gid)
                    msg = frame["data"]["message"]
                    assert msg["seq"] not in got, f"seq {msg['seq']} pushed twice"
                    got[msg["seq"]] = msg["content"]["text"]
            pushed = len(got)
            after = start
            while True:
                page = await bob.request("chat_group_history", {"group_id": gid, "after_seq": after, "limit": 100})
                for msg in page["messages"]:
                    assert got.get(msg["seq"], msg["content"]["text"]) == msg["content"]["text"]
                    got[msg["seq"]] = msg["content"]["text"]
                if not page["messages"]:
                    break
                after = page["messages"][-1]["seq"]
            assert sorted(got) == list(range(start + 1, start + COUNT + 1))  # no gap, nothing twice
            assert sorted(got.values(), key=lambda t: int(t[1:])) == [f"m{k}" for k in range(COUNT)]
            assert len(acked) == COUNT
            assert pushed == COUNT  # node 1 heard every message node 2 committed before it died
        n0.server.stop()

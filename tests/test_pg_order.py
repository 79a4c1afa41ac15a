"""Two nodes sending into one conversation at once, a third node's reader: the messages reach it
in seq order, as on one node (chatd.services.cluster reads the nodes' events in one order: a
conversation's seqs are taken under its row's lock, so its events' ids follow its seqs)."""

from __future__ import annotations

import trio

from .test_pg_nodes import _nodes, text


async def test_a_third_node_hears_two_nodes_messages_in_seq_order(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        ids = {name: await n0.add_user(name) for name in ("alice", "carol", "bob")}
        async with n0.client("alice") as a, n1.client("carol") as c, n2.client("bob") as b:
            gid = (await a.request("chat_group_create", {"name": "busy", "members": [ids["carol"], ids["bob"]]}))["group"]["group_id"]
            count = 150

            async def send(client, who):
                for k in range(count):
                    await client.request("chat_group_send", {"group_id": gid, "content": text(f"{who} {k}")})

            async with trio.open_nursery() as senders:
                senders.start_soon(send, a, "alice")
                senders.start_soon(send, c, "carol")
            seqs = [(await b.next_push("chat_message", where=lambda d: d["conv_id"] == gid))["data"]["message"]["seq"] for _ in range(2 * count)]
            assert seqs == sorted(seqs) and len(set(seqs)) == 2 * count
        for h in (n0, n1, n2):
            h.server.stop()

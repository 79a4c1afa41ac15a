"""Streamed messages read on other nodes (chatd.services.streams, docs/scaling.md): a bot's
stream runs on the node it began on; its deltas reach readers connected to other nodes as they
come, a reader opening the conversation on another node gets the text so far, and a reader's
cancel on another node is asked of the stream's node."""

from __future__ import annotations

import pytest
import trio

from chatd.client import ClientError, connect

from .test_pg_nodes import _nodes
from .test_streams import Reader, add_bot, next_stream_push


async def test_a_stream_reaches_readers_on_other_nodes_and_they_can_cancel_it(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3, bots={"stream_flush_interval_ms": 600_000})
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        token = await add_bot(n0, "helper")
        async with connect(n0.url) as bot, n1.client("alice") as alice, n2.client("bob") as bob:
            await bot.login(token=token)
            sid = (await bot.request("chat_stream_begin", {"peer": ids["alice"], "text": "Hello"}))["stream_id"]
            await alice.next_push("chat_message", where=lambda d: d["message"]["id"] == sid)
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": 1, "offset": 5, "text": ", world"})
            delta = await alice.next_push("chat.stream.delta")  # on node 1, while the stream runs
            assert (delta["data"]["stream_id"], delta["data"]["offset"], delta["data"]["text"]) == (sid, 5, ", world")
            async with n2.client("alice") as late:  # opens the DM mid-stream on node 2: node 0 has the text so far
                page = await late.request("chat_dm_history", {"peer": bot.user["id"]})
                assert [(m["id"], m["state"], m["content"]["text"]) for m in page["messages"]] == [(sid, "streaming", "Hello, world")]

            out = await alice.request("chat_stream_cancel", {"stream_id": sid})  # asked of node 0
            assert out == {"stream_id": sid, "forwarded": True}
            push = await bot.next_push("chat.stream.cancel")
            assert push["data"]["by"] == ids["alice"]
            with pytest.raises(ClientError) as exc:  # not bob's DM: node 0 says there is no such stream
                await bob.request("chat_stream_cancel", {"stream_id": sid})
            assert exc.value.code == "not_found"
            await bot.request("chat_stream_end", {"stream_id": sid, "error": "cancelled"})
            end = await alice.next_push("chat.stream.error")
            assert end["data"]["message"]["content"]["text"] == "Hello, world"

            gid = (await alice.request("chat_group_create", {"name": "ask the bot", "members": [ids["bob"], bot.user["id"]]}))["group"]["group_id"]
            sid = (await bot.request("chat_stream_begin", {"group_id": gid, "text": "Answer:"}))["stream_id"]
            text = "Answer:"
            for n, piece in enumerate((" 4", "2", "."), start=1):
                await bot.request("chat_stream_append", {"stream_id": sid, "seq": n, "offset": len(text), "text": piece})
                text += piece
            readers = {}
            for client in (alice, bob):  # on nodes 1 and 2: a delta while the stream runs
                readers[client] = Reader("Answer:")
                readers[client].apply(await client.next_push("chat.stream.delta", where=lambda d: d["stream_id"] == sid))
            await bot.request("chat_stream_end", {"stream_id": sid})
            for client, reader in readers.items():
                while reader.final is None:
                    reader.apply(await next_stream_push(client, sid))
                assert reader.text == "Answer: 42." and reader.final["kind"] == "group"
        for h in (n0, n1, n2):
            h.server.stop()

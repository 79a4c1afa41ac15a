"""Several chatd nodes sharing one PostgreSQL database (docs/scaling.md, chatd.services.cluster):
users connected to different nodes get each other's DMs and group messages, a member added on
one node gets the group's messages through another, a node's number is its own, and a node
whose listening connection is cut catches up on what it missed."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import trio

from chatd.store.files import StartupError

from .conftest import Harness, make_config, start_server


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": body}


async def _nodes(nursery: trio.Nursery, tmp_path: Any, dsn: str, count: int, **sections: Any) -> list[Harness]:
    """`count` nodes on one database, each with its own data directory (and these sections)."""
    out = []
    for node in range(count):
        server = await start_server(nursery, make_config(tmp_path / f"node{node}", storage={"database": dsn, "node": node}, **sections))
        out.append(Harness(server, nursery))
    return out


async def test_users_on_different_nodes_talk_in_dms_and_groups(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob", "carol", "dave")}
        async with n0.client("alice") as a, n1.client("bob") as b, n2.client("carol") as c, n1.client("alice") as a2:
            sent = await a.request("chat_dm_send", {"peer": ids["bob"], "content": text("hello from node 0")})
            got = (await b.next_push("chat_message"))["data"]
            assert got["message"]["id"] == sent["message"]["id"] and got["message"]["content"]["text"] == "hello from node 0"
            mine = (await a2.next_push("chat_message"))["data"]  # alice's other device, on node 1
            assert mine["message"]["id"] == sent["message"]["id"]
            assert (await a.request("chat_dm_typing", {"peer": ids["bob"]}))["sent"] is True  # writes nothing
            typing = (await b.next_push("chat_typing"))["data"]
            assert (typing["user_id"], typing["typing"]) == (ids["alice"], True)

            group = (await b.request("chat_group_create", {"name": "three nodes", "members": [ids["alice"], ids["carol"]]}))["group"]
            gid = group["group_id"]
            for k in range(20):
                await c.request("chat_group_send", {"group_id": gid, "content": text(f"from carol {k}")})
            for client in (a, b, a2):
                seqs = [(await client.next_push("chat_message", where=lambda d: d["message"]["content"].get("text", "").startswith("from carol")))["data"]["message"]["seq"] for _ in range(20)]
                assert seqs == sorted(seqs) and len(set(seqs)) == 20  # in order, none twice

            # dave joins on node 2 (added by bob on node 1): node 0 and node 1 learn he is a member.
            await b.request("chat_group_invite", {"group_id": gid, "user_ids": [ids["dave"]]})
            async with n0.client("dave") as d:
                await a.request("chat_group_send", {"group_id": gid, "content": text("welcome dave")})
                got = await d.next_push("chat_message", where=lambda data: data["message"]["content"].get("text") == "welcome dave")
                assert got["data"]["message"]["sender_id"] == ids["alice"]
        for h in (n0, n1, n2):
            h.server.stop()


async def test_a_node_number_is_taken_once(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        (first,) = await _nodes(nursery, tmp_path, pg_dsn, 1)
        with pytest.raises(BaseException) as exc:
            await start_server(nursery, make_config(tmp_path / "again", storage={"database": pg_dsn, "node": 0}))
        assert exc.group_contains(StartupError, match="storage.node 0 is taken") if isinstance(exc.value, BaseExceptionGroup) else isinstance(exc.value, StartupError)
        first.server.stop()


async def test_a_node_whose_listener_was_cut_catches_up(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1 = await _nodes(nursery, tmp_path, pg_dsn, 2)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        async with n0.client("alice") as a, n1.client("bob") as b:
            cluster = n1.server.cluster
            with psycopg.connect(pg_dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (cluster.listener.backend_pid,))
            for k in range(5):  # sent while node 1 may not be listening
                await a.request("chat_dm_send", {"peer": ids["bob"], "content": text(f"while away {k}")})
            got = [(await b.next_push("chat_message"))["data"]["message"]["content"]["text"] for _ in range(5)]
            assert got == [f"while away {k}" for k in range(5)]
        n0.server.stop()
        n1.server.stop()


async def test_an_event_that_cannot_be_read_is_skipped_and_the_next_applied(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1 = await _nodes(nursery, tmp_path, pg_dsn, 2)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        async with n0.client("alice") as a, n1.client("bob") as b:
            with psycopg.connect(pg_dsn, autocommit=True) as admin:
                (junk,) = admin.execute("INSERT INTO node_events (node, at, body) VALUES (5, 0, %s) RETURNING id", (b"\xc1 not msgpack",)).fetchone()
                admin.execute("SELECT pg_notify('chatd_events', %s)", (f"5:{junk}",))
                admin.execute("SELECT pg_notify('chatd_live', '5:!!not base64')")
            await a.request("chat_dm_send", {"peer": ids["bob"], "content": text("after the junk")})
            got = (await b.next_push("chat_message"))["data"]
            assert got["message"]["content"]["text"] == "after the junk"
            assert n1.server.cluster._applied[5] == junk  # read, skipped, not read again
        n0.server.stop()
        n1.server.stop()


async def test_a_channel_message_reaches_its_viewers_on_another_node(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1 = await _nodes(nursery, tmp_path, pg_dsn, 2)
        for name in ("alice", "bob"):
            await n0.add_user(name)
        async with n0.client("alice") as a, n1.client("bob") as b:
            made = await a.request("community_create", {"name": "两个节点", "public": True, "join_mode": "open"})
            await b.request("community_join", {"community_id": made["community"]["community_id"]})
            await a.request("community_send", {"channel_id": made["channel_id"], "content": text("to every viewer")})
            got = await b.next_push("community.message", where=lambda d: d["message"]["content"].get("text") == "to every viewer")
            assert got["data"]["conv_id"] == made["channel_id"]
        n0.server.stop()
        n1.server.stop()

"""Presence across several chatd nodes on one PostgreSQL database (chatd.services.node_presence,
docs/scaling.md): a user connected to any node is online for the peers on every node, and
offline only once the last device on any node is gone; a room counts its present users on every
node; a DM's delivery receipt reaches the sender's devices on other nodes; the users of a node
that stops, or starts again, are offline for the others."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from chatd.services import cluster as cluster_service

from .conftest import Harness, make_config, start_server
from .test_pg_nodes import _nodes, text


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 15) -> None:
    """Wait until `check` says so (what it reads is another node's doing, with no push to wait for)."""
    with trio.fail_after(timeout):
        while True:
            ok = check()
            if inspect.isawaitable(ok):
                ok = await ok
            if ok:
                return
            await trio.sleep(0.02)


def presence_of(user_id: int, online: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda d: d["user_id"] == user_id and d["online"] is online


async def peer_online(client: Any, peer: int) -> bool:
    entries = (await client.request("chat_dm_conversations", {}))["conversations"]
    return next(e["peer_online"] for e in entries if e["peer"]["id"] == peer)


async def test_a_user_is_online_while_connected_to_any_node(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob", "carol")}
        async with n0.client("alice") as a:  # DM peers hear each other come and go
            await a.request("chat_dm_send", {"peer": ids["bob"], "content": text("hi bob")})
            await a.request("chat_dm_send", {"peer": ids["carol"], "content": text("hi carol")})
        async with n1.client("bob") as b, n0.client("carol") as c, n0.client("alice") as a0:
            await b.next_push("chat_presence_update", where=presence_of(ids["alice"], True))  # from node 0, on node 1
            await c.next_push("chat_presence_update", where=presence_of(ids["alice"], True))
            assert await peer_online(b, ids["alice"])
            sent = await b.request("chat_dm_send", {"peer": ids["alice"], "content": text("are you there")})
            assert sent["delivered"] is True

            async with n2.client("alice"):
                await until(lambda: n1.server.hub.elsewhere.get(ids["alice"]) == 2)
                await a0.aclose()  # alice's node-0 device goes: she is still on node 2
                await until(lambda: n1.server.hub.elsewhere.get(ids["alice"]) == 1 and ids["alice"] in n0.server.hub.elsewhere and ids["alice"] not in n0.server.hub.by_user)
                assert await peer_online(b, ids["alice"]) and await peer_online(c, ids["alice"])
                assert (await c.request("chat_dm_send", {"peer": ids["alice"], "content": text("still there?")}))["delivered"] is True
            # her last device, anywhere, is gone
            for client in (b, c):
                got = await client.next_push("chat_presence_update", where=lambda d: d["user_id"] == ids["alice"])
                assert got["data"]["online"] is False  # the first one since she came: no offline while on node 2
            assert not await peer_online(b, ids["alice"])
            assert (await b.request("chat_dm_send", {"peer": ids["alice"], "content": text("gone")}))["delivered"] is False
        for h in (n0, n1, n2):
            h.server.stop()


async def test_a_dm_delivery_receipt_reaches_the_senders_devices_on_other_nodes(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        async with n0.client("alice") as a0, n2.client("alice") as a2, n1.client("bob") as b:  # noqa: F841
            sent = await a0.request("chat_dm_send", {"peer": ids["bob"], "content": text("did it arrive")})
            await b.next_push("chat_message")
            for device in (a0, a2):  # bob's device is on node 1: the receipt is node 1's to send
                got = await device.next_push("chat_dm_delivery_receipt")
                assert got["data"]["seq"] == sent["seq"]
        for h in (n0, n1, n2):
            h.server.stop()


async def test_a_room_counts_its_present_users_on_every_node(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        ids = {name: await n0.add_user(name, admin=name == "alice") for name in ("alice", "bob", "carol")}

        async def present(client: Any, rid: int) -> dict[int, int] | None:
            """{user id: connections in the room}, once the count agrees (a user who left the room
            counts as present until the node they are connected to says they left)."""
            out = await client.request("chat_room_members", {"room_id": rid})
            if out["present_count"] != len(out["members"]):
                return None
            return {m["user"]["id"]: m["connections"] for m in out["members"]}

        async with n0.client("alice") as a, n1.client("bob") as b, n1.client("bob") as b2, n2.client("carol") as c:
            rid = (await a.request("chat_room_create", {"name": "三个节点"}))["room"]["room_id"]
            for client in (b, b2, c):
                await client.request("room_join", {"room_id": rid})
            want = {ids["alice"]: 1, ids["bob"]: 2, ids["carol"]: 1}

            async def everyone_sees(expected: dict[int, int], clients: tuple[Any, ...]) -> None:
                async def check() -> bool:
                    return all([await present(client, rid) == expected for client in clients])

                await until(check)

            await everyone_sees(want, (a, b, c))
            listed = (await a.request("chat_room_list", {"mine": True}))["rooms"]
            assert [r["present_count"] for r in listed if r["room_id"] == rid] == [3]
            await c.request("chat_room_send", {"room_id": rid, "content": text("from node 2")})
            for client in (a, b, b2):
                await client.next_push("chat_message", where=lambda d: d["message"]["content"].get("text") == "from node 2")

            await b2.request("room_exit", {"room_id": rid})  # bob's membership ends: both his connections leave
            await everyone_sees({ids["alice"]: 1, ids["carol"]: 1}, (a, c))
            await c.aclose()  # carol's connection ends: she is present nowhere
            await everyone_sees({ids["alice"]: 1}, (a,))
        for h in (n0, n1, n2):
            h.server.stop()


async def test_the_users_of_a_node_that_stops_or_starts_again_go_offline(tmp_path, pg_dsn, monkeypatch):
    monkeypatch.setattr(cluster_service, "HEARTBEAT_S", 0.2)  # how soon the others look at who is alive
    async with trio.open_nursery() as nursery:
        n0, n1 = await _nodes(nursery, tmp_path, pg_dsn, 2)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob", "carol")}
        async with n0.client("alice") as a:
            for peer in ("bob", "carol"):
                await a.request("chat_dm_send", {"peer": ids[peer], "content": text("hi")})
        async with n0.client("alice") as a, n1.client("bob"):
            await a.next_push("chat_presence_update", where=presence_of(ids["bob"], True))
            n1.server.stop()  # node 1 stops: bob's connection with it
            await a.next_push("chat_presence_update", where=presence_of(ids["bob"], False))
            assert not await peer_online(a, ids["bob"])

            again = Harness(await start_server(nursery, make_config(tmp_path / "node1-again", storage={"database": pg_dsn, "node": 1})), nursery)
            async with again.client("carol") as c:
                await a.next_push("chat_presence_update", where=presence_of(ids["carol"], True))
                assert await peer_online(a, ids["carol"]) and not await peer_online(a, ids["bob"])
                rows = n0.server.cluster.presence._nodes[1]
                assert rows[0] == again.server.cluster.run_id and (ids["bob"], 0) not in rows[1]
                assert (await c.request("chat_dm_send", {"peer": ids["alice"], "content": text("back")}))["delivered"] is True
            again.server.stop()
        n0.server.stop()

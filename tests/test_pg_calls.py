"""1:1 calls between users connected to different chatd nodes on one PostgreSQL database
(chatd.services.calls, chatd.services.node_asks, docs/scaling.md): the call lives on the
caller's node; the callee's requests about it are run there, its signals reach the device on
the other node, the record is written once, and a device lost on its own node is the call's
node's to time out."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from chatd.client import ClientError

from .conftest import Harness
from .test_calls import ended, record
from .test_pg_nodes import _nodes


async def test_a_call_between_users_on_two_nodes(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        async with n0.client("alice") as a, n1.client("bob") as b1, n2.client("bob") as b2:
            call = (await a.request("rtc_call_invite", {"peer": ids["bob"], "media": "video"}))["call"]
            call_id = call["call_id"]
            for b in (b1, b2):  # rings on every node
                assert (await b.next_push("rtc_call_incoming"))["data"]["call"]["call_id"] == call_id
            assert (await a.request("rtc_offer", {"call_id": call_id, "sdp": "v=0 early offer"}))["relayed"] is False

            accepted = await b1.request("rtc_call_accept", {"call_id": call_id})  # asked of node 0
            device = accepted["call"]["callee_device"]
            assert accepted["call"]["state"] == "accepted" and device.startswith("n1s")  # node 1's session
            assert "ice_servers" in accepted
            for c in (a, b2):
                upd = await c.next_push("rtc_call_update", where=lambda d: d["call"]["state"] == "accepted")
                assert upd["data"]["call"]["callee_device"] == device
            early = await b1.next_push("rtc_signal")  # the offer that waited, to the device that answered
            assert (early["data"]["type"], early["data"]["sdp"]) == ("offer", "v=0 early offer")
            with pytest.raises(ClientError) as exc:  # bob's other device is not in the call: node 0 says so
                await b2.request("rtc_answer", {"call_id": call_id, "sdp": "v=0"})
            assert exc.value.code == "forbidden"

            assert (await b1.request("rtc_answer", {"call_id": call_id, "sdp": "v=0 answer"}))["relayed"] is True
            got = await a.next_push("rtc_signal")
            assert (got["data"]["type"], got["data"]["from_device"]) == ("answer", device)
            await b1.request("rtc_ice_candidate", {"call_id": call_id, "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdp_mid": "0", "sdp_mline_index": 0})
            assert (await a.next_push("rtc_signal"))["data"]["type"] == "candidate"
            await a.request("rtc_ice_candidate", {"call_id": call_id, "candidate": "candidate:2 1 udp 1 127.0.0.1 5001 typ host"})
            assert (await b1.next_push("rtc_signal"))["data"]["candidate"].startswith("candidate:2")
            state = await b1.request("rtc_call_state", {"call_id": call_id})
            assert state["calls"][0]["state"] == "connected" and state["resumed"] is False
            listed = await b2.request("rtc_call_state", {})  # from node 2: node 0 is asked too
            assert [c["call_id"] for c in listed["calls"]] == [call_id]

            done = await b1.request("rtc_call_hangup", {"call_id": call_id})
            assert done["call"]["state"] == "ended" and done["call"]["ended_by"] == ids["bob"]
            await a.next_push("rtc_call_update", where=ended("hangup"))
            rec = await record(b2, ids["alice"])
            assert rec["content"]["data"]["reason"] == "hangup" and rec["content"]["text"].startswith("Video call")
            with pytest.raises(ClientError) as exc:  # ended: node 0 holds it no more
                await b1.request("rtc_call_hangup", {"call_id": call_id})
            assert exc.value.code == "not_found"
        history = await _history(n1, "bob", ids["alice"])
        assert [m["id"] for m in history if m["content"]["type"] == "system"] == [rec["id"]]  # one record
        for h in (n0, n1, n2):
            h.server.stop()


async def _history(node: Harness, name: str, peer: int) -> list[dict[str, Any]]:
    async with node.client(name) as c:
        return (await c.request("chat_dm_history", {"peer": peer}))["messages"]  # type: ignore[no-any-return]


async def test_a_device_lost_on_its_node_ends_the_call_after_the_grace(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1 = await _nodes(nursery, tmp_path, pg_dsn, 2, calls={"reconnect_grace_s": 0.3})
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        async with n0.client("alice") as a:
            async with n1.client("bob") as b:
                call_id = (await a.request("rtc_call_invite", {"peer": ids["bob"]}))["call"]["call_id"]
                await b.request("rtc_call_accept", {"call_id": call_id})
                await a.next_push("rtc_call_update", where=lambda d: d["call"]["state"] == "accepted")
            # bob's connection to node 1 ends: node 0 hears of it, waits the grace, ends the call
            upd = await a.next_push("rtc_call_update", where=lambda d: d["call"]["state"] == "ended")
            assert upd["data"]["call"]["reason"] == "lost"
        for h in (n0, n1):
            h.server.stop()


async def test_a_request_about_a_call_of_a_node_that_is_gone_is_unavailable(tmp_path, pg_dsn, monkeypatch):
    from chatd.services import node_asks

    monkeypatch.setattr(node_asks, "ASK_TIMEOUT_S", 0.5)
    async with trio.open_nursery() as nursery:
        n0, n1 = await _nodes(nursery, tmp_path, pg_dsn, 2)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob")}
        async with n1.client("bob") as b:
            unknown = 12345 * 16 + 0  # a call id of node 0 that node 0 does not hold
            with pytest.raises(ClientError) as exc:
                await b.request("rtc_call_accept", {"call_id": unknown})
            assert exc.value.code == "not_found"  # node 0's answer
            gone = 12345 * 16 + 7  # node 7 runs nowhere
            with pytest.raises(ClientError) as exc:
                await b.request("rtc_call_accept", {"call_id": gone})
            assert exc.value.code == "unavailable"
        assert ids
        for h in (n0, n1):
            h.server.stop()


async def test_a_group_call_with_devices_on_three_nodes(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3, calls={"mesh_max_participants": 3})
        ids = {name: await n0.add_user(name) for name in ("alice", "bob", "carol")}
        async with n0.client("alice") as a, n1.client("bob") as b, n2.client("carol") as c, n2.client("bob") as b2:
            gid = (await a.request("chat_group_create", {"name": "standup", "members": [ids["bob"], ids["carol"]]}))["group"]["group_id"]
            ja = await a.request("rtc_multi_join", {"group_id": gid})
            for client in (b, c, b2):  # (node 1 and node 2 count alice's device in before this push)
                await client.next_push("rtc_multi_update", where=lambda d: d["participant"]["device"] == ja["device"])
            jb = await b.request("rtc_multi_join", {"group_id": gid})
            assert jb["participants"] == [{"user_id": ids["alice"], "device": ja["device"]}]
            upd = await a.next_push("rtc_multi_update", where=lambda d: d["participant"]["device"] == jb["device"])
            assert [p["device"] for p in upd["data"]["participants"]] == [ja["device"], jb["device"]]
            await c.next_push("rtc_multi_update", where=lambda d: d["participant"]["device"] == jb["device"])

            await b.request("rtc_multi_signal", {"conv_id": gid, "to_device": ja["device"], "type": "offer", "sdp": "v=0 b->a"})
            sig = await a.next_push("rtc_signal")  # from node 1 to node 0
            assert (sig["data"]["from_device"], sig["data"]["sdp"]) == (jb["device"], "v=0 b->a")
            await a.request("rtc_multi_signal", {"conv_id": gid, "to_device": jb["device"], "type": "answer", "sdp": "v=0 a->b"})
            assert (await b.next_push("rtc_signal"))["data"]["sdp"] == "v=0 a->b"

            jc = await c.request("rtc_multi_join", {"group_id": gid})  # on node 2: the two others, on nodes 0 and 1
            assert sorted(p["device"] for p in jc["participants"]) == sorted([ja["device"], jb["device"]])
            for client in (a, b, b2):  # (each node's list has carol's device once its connections hear of it)
                await client.next_push("rtc_multi_update", where=lambda d: d["participant"]["device"] == jc["device"])
            with pytest.raises(ClientError) as exc:  # the cap counts every node's devices
                await b2.request("rtc_multi_join", {"group_id": gid})
            assert exc.value.code == "conflict"
            assert not b2.pending_pushes("rtc_signal")

            await b.request("rtc_multi_leave", {"conv_id": gid})
            for client in (a, c):
                upd = await client.next_push("rtc_multi_update", where=lambda d: d["event"] == "left")
                assert [p["device"] for p in upd["data"]["participants"]] == [ja["device"], jc["device"]]
            with pytest.raises(ClientError) as exc:  # bob's device left: no signal reaches it
                await a.request("rtc_multi_signal", {"conv_id": gid, "to_device": jb["device"], "type": "offer", "sdp": "v=0"})
            assert exc.value.code == "not_found"
        for h in (n0, n1, n2):
            h.server.stop()

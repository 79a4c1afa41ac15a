"""Calls with real WebRTC peers (docs/calls.md, "Tested with real peers"): aiortc peers, each in
its own process (tests/rtc_peer.py), log in to chatd over /ws, signal through it (invite,
accept, the offer, the answer and every ICE candidate relayed one by one, or the mesh's
rtc_multi_signal), open data channels and exchange bytes; media never passes through chatd.
Two peers that call each other at once (glare) end up in one call and connect too, and a callee
whose process dies comes back and connects again.

Loopback: aioice leaves 127.0.0.1 out of its host candidates, so each peer gathers on 127.0.0.1
only (tests/rtc_peer.py): the peers reach each other over lo whatever other interfaces the
machine has, or lacks, and need no root, namespace or veth pair. A private network namespace
with a veth pair would work too, but needs root and leaves links behind when a run is killed.

Every wait has a deadline (tests/rtc_peer.py: STEP seconds per step; tests/helpers_rtc.py: PEER_S
per line the test reads).
"""

from __future__ import annotations

from tests.helpers_rtc import pair_exchanged, peers


async def test_two_peers_call_and_exchange_bytes(harness, users, tmp_path):
    async with harness.client("alice") as watcher, peers(tmp_path, harness.url) as start:
        bob, alice = await start("bob", "bob", "callee"), await start("alice", "alice", "caller", users["bob"])
        await bob.expect("ready")  # before the call: the invite rings it
        await alice.expect("ready")
        await alice.tell("go")
        a, b = await alice.expect("exchanged"), await bob.expect("exchanged")
        assert a["call_id"] == b["call_id"]
        pair_exchanged(a, b)
        assert a["candidate_types"] == b["candidate_types"] == ["host"] and a["ice_servers"] == []  # 127.0.0.1
        assert all(b["relayed"])  # the callee's answer and candidates: it answered, so straight through
        await alice.tell("hangup")
        hung = (await alice.expect("hung_up"))["call"]
        assert hung["state"] == "ended" and hung["reason"] == "hangup" and hung["ended_by"] == users["alice"]
        assert (await bob.expect("ended"))["call"]["reason"] == "hangup"
        await alice.finish()
        await bob.finish()
        # The call's record in the DM (another device of the caller's, which saw no signal).
        push = await watcher.next_push("chat_message", where=lambda d: d["message"]["content"]["type"] == "system")
        history = await watcher.request("chat_dm_history", {"peer": users["bob"]})
        rec = history["messages"][-1]
        assert rec["id"] == push["data"]["message"]["id"] and rec["content"]["event"] == "call"
        assert rec["content"]["data"]["call_id"] == a["call_id"] and rec["content"]["data"]["reason"] == "hangup"
        assert rec["content"]["data"]["duration_ms"] == hung["duration_ms"] > 0
        assert rec["content"]["text"].startswith("Audio call, 0:")
        assert not watcher.pending_pushes("rtc_signal")
        # That device followed the call's states, and was told when it ended.
        states = [(await watcher.next_push("rtc_call_update"))["data"]["call"]["state"] for _ in range(4)]
        assert states == ["ringing", "accepted", "connected", "ended"]


async def test_two_peers_calling_each_other_meet_in_one_call(harness, users, tmp_path):
    """Glare: each invites the other at once; the server makes one call of the two, and the peer
    whose invite was merged answers the other's offer."""
    async with peers(tmp_path, harness.url) as start:
        alice, bob = await start("alice", "alice", "caller", users["bob"]), await start("bob", "bob", "caller", users["alice"])
        await alice.expect("ready")
        await bob.expect("ready")
        await alice.tell("go")
        await bob.tell("go")
        a, b = await alice.expect("exchanged"), await bob.expect("exchanged")
        assert a["call_id"] == b["call_id"] and sorted([a["merged"], b["merged"]]) == [False, True]
        pair_exchanged(a, b)
        await bob.tell("hangup")
        assert (await bob.expect("hung_up"))["call"]["reason"] == "hangup"
        assert (await alice.expect("ended"))["call"]["ended_by"] == users["bob"]
        await alice.finish()
        await bob.finish()


async def test_a_callee_whose_process_dies_comes_back_and_the_call_goes_on(harness, users, tmp_path):
    """The callee's process is killed mid-call; a new one logs in as the same user, takes the
    vanished device's place (rtc_call_state) and offers a new connection, which the caller answers."""
    async with harness.client("alice") as watcher, peers(tmp_path, harness.url) as start:
        bob, alice = await start("bob", "bob", "callee"), await start("alice", "alice", "caller", users["bob"])
        back = await start("bob-again", "bob", "resume")  # the call's id comes with `go`, below
        for peer in (bob, alice, back):
            await peer.expect("ready")
        await alice.tell("go")
        a, b = await alice.expect("exchanged"), await bob.expect("exchanged")
        pair_exchanged(a, b)
        await bob.kill()
        # The caller's devices learn the callee's device is gone; the call stays connected meanwhile.
        await watcher.next_push("rtc_call_update", where=lambda d: d["call"]["state"] == "connected" and d["call"]["callee_device"] is None)
        await back.tell(f"go {a['call_id']}")
        a2, b2 = await alice.expect("exchanged"), await back.expect("exchanged")
        assert a2["again"] is True and a2["call_id"] == b2["call_id"] == a["call_id"]
        pair_exchanged(a2, b2)
        assert a2["received"] != a["received"]  # from the new process
        await alice.tell("hangup")
        assert (await alice.expect("hung_up"))["call"]["reason"] == "hangup"
        assert (await back.expect("ended"))["call"]["reason"] == "hangup"
        await alice.finish()
        await back.finish()


async def test_a_third_peer_joins_a_mesh_call(harness, users, tmp_path):
    async with harness.client("alice") as watcher, peers(tmp_path, harness.url) as start:
        group = (await watcher.request("chat_group_create", {"name": "call", "members": [users["bob"], users["carol"]]}))["group"]
        alice, bob, carol = [await start(name, name, "mesh", group["group_id"], 2) for name in ("alice", "bob", "carol")]
        for peer in (alice, bob, carol):
            await peer.expect("ready")
        await alice.tell("go")
        a_dev = (await alice.expect("joined"))["device"]
        await bob.tell("go")
        b_joined = await bob.expect("joined")
        assert b_joined["participants"] == [{"user_id": users["alice"], "device": a_dev}]
        ab, ba = await alice.expect("exchanged"), await bob.expect("exchanged")
        pair_exchanged(ab, ba)
        # The third joins the call of two: it offers to both, and each pair exchanges bytes.
        await carol.tell("go")
        c_joined = await carol.expect("joined")
        assert c_joined["participants"] == [{"user_id": users["alice"], "device": a_dev}, {"user_id": users["bob"], "device": b_joined["device"]}]
        got = {(x["device"], x["peer_device"]): x for x in [await alice.expect("exchanged"), await bob.expect("exchanged")]}
        for _ in range(2):
            x = await carol.expect("exchanged")
            got[(x["device"], x["peer_device"])] = x
        c_dev = c_joined["device"]
        for dev in (a_dev, b_joined["device"]):
            pair_exchanged(got[(dev, c_dev)], got[(c_dev, dev)])
        for peer in (alice, bob, carol):
            await peer.tell("leave")
            assert (await peer.expect("left"))["left"] is True
            await peer.finish()
        # The group's members saw them come and go; the call is empty again.
        events = [(await watcher.next_push("rtc_multi_update"))["data"] for _ in range(6)]
        assert [e["event"] for e in events] == ["joined"] * 3 + ["left"] * 3
        assert events[-1]["participants"] == []
        assert not watcher.pending_pushes("rtc_signal")

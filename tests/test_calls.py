"""1:1 calls over the wire (docs/calls.md): ringing every device until ring_until, one atomic
accept, glare merged, signals only between the two devices in the call, buffered early signals,
timeouts, records in the DM, reconnects, and the social rules at invite."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from chatd.client import ClientError



def ended(reason: str) -> Any:
    return lambda d: d["call"]["state"] == "ended" and d["call"]["reason"] == reason


async def record(client, peer: int) -> dict[str, Any]:
    """The newest message of the DM: the call's record."""
    push = await client.next_push("chat_message", where=lambda d: d["message"]["content"]["type"] == "system")
    assert push["data"]["peer"] == peer
    return push["data"]["message"]


async def answered_then_gone(harness, a, users) -> dict[str, Any]:
    """alice (a) calls bob, whose device answers and then loses its connection."""
    async with harness.client("bob") as b:
        call = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        await b.request("rtc_call_accept", {"call_id": call["call_id"]})
        await a.next_push("rtc_call_update", where=lambda d: d["call"]["state"] == "accepted")
    return call


async def test_invite_rings_every_device_and_one_accept_wins(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b1, harness.client("bob") as b2, harness.client("bob") as b3:
        out = await a.request("rtc_call_invite", {"peer": users["bob"], "media": "video"})
        call = out["call"]
        assert call["state"] == "ringing" and call["callee_device"] is None and out["merged"] is False
        assert call["ring_until"] - call["started_at"] == 45_000
        for b in (b1, b2, b3):
            ring = await b.next_push("rtc_call_incoming")
            assert ring["data"]["call"]["call_id"] == call["call_id"] and ring["data"]["caller"]["id"] == users["alice"]
            assert ring["data"]["call"]["ring_until"] == call["ring_until"]
        results: dict[str, Any] = {}

        async def accept(name, client):
            try:
                results[name] = await client.request("rtc_call_accept", {"call_id": call["call_id"]})
            except ClientError as err:
                results[name] = err.code

        async with trio.open_nursery() as n:
            n.start_soon(accept, "b1", b1)
            n.start_soon(accept, "b2", b2)
        assert sorted(v if isinstance(v, str) else "ok" for v in results.values()) == ["answered_elsewhere", "ok"]
        winner, loser = (b1, b2) if isinstance(results["b1"], dict) else (b2, b1)
        accepted = results["b1"] if winner is b1 else results["b2"]
        assert accepted["call"]["state"] == "accepted"
        # The caller and every other callee device learn it once: ringing stops.
        for c in (a, loser, b3):
            upd = await c.next_push("rtc_call_update")
            assert upd["data"]["call"]["state"] == "accepted" and upd["data"]["call"]["callee_device"] == accepted["call"]["callee_device"]
        # Signals go only between the two devices in the call.
        assert (await a.request("rtc_offer", {"call_id": call["call_id"], "sdp": "v=0 offer"}))["relayed"] is True
        sig = await winner.next_push("rtc_signal")
        assert sig["data"]["type"] == "offer" and sig["data"]["sdp"] == "v=0 offer" and sig["data"]["from_user"] == users["alice"]
        with pytest.raises(ClientError) as exc:
            await loser.request("rtc_answer", {"call_id": call["call_id"], "sdp": "v=0 answer"})
        assert exc.value.code == "forbidden"
        assert (await winner.request("rtc_answer", {"call_id": call["call_id"], "sdp": "v=0 answer"}))["relayed"] is True
        assert (await a.next_push("rtc_signal"))["data"]["type"] == "answer"
        assert (await a.next_push("rtc_call_update"))["data"]["call"]["state"] == "connected"
        await winner.request("rtc_ice_candidate", {"call_id": call["call_id"], "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdp_mid": "0", "sdp_mline_index": 0})
        cand = await a.next_push("rtc_signal")
        assert cand["data"]["type"] == "candidate" and cand["data"]["sdp_mid"] == "0"
        # Hang up: both sides learn it, and the DM holds the record with its duration.
        done = await a.request("rtc_call_hangup", {"call_id": call["call_id"]})
        assert done["call"]["state"] == "ended" and done["call"]["reason"] == "hangup"
        await winner.next_push("rtc_call_update", where=ended("hangup"))
        rec = await record(winner, users["alice"])
        # The other callee devices got no signal (what reached them came before the record).
        await loser.request("ping", {})
        await loser.next_push("chat_message", where=lambda d: d["message"]["id"] == rec["id"])
        assert not loser.pending_pushes("rtc_signal") and not b3.pending_pushes("rtc_signal")
        assert rec["content"]["event"] == "call" and rec["content"]["data"]["reason"] == "hangup"
        assert rec["content"]["text"].startswith("Video call, 0:0")
    async with harness.client("bob") as b:
        found = await b.request("chat_dm_search", {"query": "video call"})
        assert [r["message"]["id"] for r in found["results"]] == [rec["id"]]


async def test_early_signals_wait_for_the_device_that_answers(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        call = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        assert (await a.request("rtc_offer", {"call_id": call["call_id"], "sdp": "v=0 early"}))["relayed"] is False
        for n in range(3):
            await a.request("rtc_ice_candidate", {"call_id": call["call_id"], "candidate": f"candidate:{n}"})
        with pytest.raises(ClientError) as exc:
            await b.request("rtc_offer", {"call_id": call["call_id"], "sdp": "v=0"})
        assert exc.value.code == "forbidden"  # the callee has no device in the call before it answers
        await b.request("rtc_call_accept", {"call_id": call["call_id"]})
        got = [(await b.next_push("rtc_signal"))["data"] for _ in range(4)]
        assert [g["type"] for g in got] == ["offer", "candidate", "candidate", "candidate"]
        assert [g.get("candidate") for g in got[1:]] == ["candidate:0", "candidate:1", "candidate:2"]


async def test_glare_is_merged_into_one_call(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        first = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        await b.next_push("rtc_call_incoming")
        out = await b.request("rtc_call_invite", {"peer": users["alice"]})
        assert out["merged"] is True and out["call"]["call_id"] == first["call_id"] and out["call"]["state"] == "accepted"
        upd = await a.next_push("rtc_call_update")
        assert upd["data"]["call"]["state"] == "accepted" and upd["data"]["call"]["call_id"] == first["call_id"]
        assert len((await a.request("rtc_call_state", {}))["calls"]) == 1
        with pytest.raises(ClientError) as exc:
            await a.request("rtc_call_invite", {"peer": users["bob"]})
        assert exc.value.code == "conflict"


@pytest.mark.parametrize("config_overrides", [{"calls": {"ring_timeout_s": 0.3}}])
async def test_an_unanswered_call_is_missed(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        call = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        assert call["ring_until"] - call["started_at"] == 300
        await b.next_push("rtc_call_incoming")
        upd = await b.next_push("rtc_call_update", where=ended("missed"))
        assert upd["data"]["call"]["ended_by"] == 0
        await a.next_push("rtc_call_update", where=ended("missed"))
        rec = await record(b, users["alice"])
        assert rec["content"]["text"] == "Missed audio call" and rec["sender_id"] == users["alice"]
        # The missed call is unread for bob.
        convs = (await b.request("chat_dm_conversations", {}))["conversations"]
        assert convs[0]["unread"] == 1
        with pytest.raises(ClientError) as exc:
            await b.request("rtc_call_accept", {"call_id": call["call_id"]})
        assert exc.value.code == "not_found"


async def test_reject_and_cancel(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b1, harness.client("bob") as b2:
        call = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        with pytest.raises(ClientError) as exc:
            await a.request("rtc_call_reject", {"call_id": call["call_id"]})
        assert exc.value.code == "forbidden"
        out = await b1.request("rtc_call_reject", {"call_id": call["call_id"]})
        assert out["call"]["reason"] == "rejected" and out["call"]["ended_by"] == users["bob"]
        await b2.next_push("rtc_call_update", where=ended("rejected"))
        await a.next_push("rtc_call_update", where=ended("rejected"))
        assert (await record(a, users["bob"]))["content"]["text"] == "Declined audio call"
        assert (await record(b1, users["alice"]))["content"]["text"] == "Declined audio call"
        second = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        out = await a.request("rtc_call_hangup", {"call_id": second["call_id"]})
        assert out["call"]["reason"] == "cancelled"
        await b1.next_push("rtc_call_update", where=ended("cancelled"))
        assert (await record(b1, users["alice"]))["content"]["text"] == "Cancelled audio call"


async def test_strangers_and_bad_requests(harness, users):
    async with harness.client("alice") as a, harness.client("carol") as c:
        call = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        for cmd, data in (
            ("rtc_call_accept", {"call_id": call["call_id"]}),
            ("rtc_call_hangup", {"call_id": call["call_id"]}),
            ("rtc_offer", {"call_id": call["call_id"], "sdp": "v=0"}),
            ("rtc_call_state", {"call_id": call["call_id"]}),
        ):
            with pytest.raises(ClientError) as exc:
                await c.request(cmd, data)
            assert exc.value.code == "not_found", cmd
        for data, field in (({"peer": users["alice"]}, "peer"), ({"peer": users["bob"], "media": "hologram"}, "media"), ({"peer": 999}, "peer")):
            with pytest.raises(ClientError) as exc:
                await a.request("rtc_call_invite", data)
            assert exc.value.field == field, data
        with pytest.raises(ClientError) as exc:
            await a.request("rtc_answer", {"call_id": call["call_id"], "sdp": "v=0"})
        assert exc.value.code == "bad_request"  # nothing to answer before the callee accepts
        # The invite that failed changed nothing: still one ringing call.
        assert [c["call_id"] for c in (await a.request("rtc_call_state", {}))["calls"]] == [call["call_id"]]


@pytest.mark.parametrize("config_overrides", [{"calls": {"max_sdp_bytes": 100, "max_candidates": 2, "max_buffered_signals": 1}}])
async def test_signal_limits(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        call = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        await a.request("rtc_offer", {"call_id": call["call_id"], "sdp": "v=0 early"})
        with pytest.raises(ClientError) as exc:  # one signal may wait for the answer
            await a.request("rtc_ice_candidate", {"call_id": call["call_id"], "candidate": "c0"})
        assert exc.value.code == "too_large"
        await b.request("rtc_call_accept", {"call_id": call["call_id"]})
        assert [(await b.next_push("rtc_signal"))["data"]["type"]] == ["offer"]
        with pytest.raises(ClientError) as exc:
            await a.request("rtc_offer", {"call_id": call["call_id"], "sdp": "x" * 101})
        assert exc.value.code == "too_large" and exc.value.field == "sdp"
        for n in range(2):
            await a.request("rtc_ice_candidate", {"call_id": call["call_id"], "candidate": f"c{n}"})
        with pytest.raises(ClientError) as exc:
            await a.request("rtc_ice_candidate", {"call_id": call["call_id"], "candidate": "c3"})
        assert exc.value.code == "too_large"


@pytest.mark.parametrize("config_overrides", [{"calls": {"reconnect_grace_s": 30}}])
async def test_a_device_that_comes_back_resumes_the_call(harness, users):
    async with harness.client("alice") as a:
        call = await answered_then_gone(harness, a, users)
        gone = await a.next_push("rtc_call_update", where=lambda d: d["call"]["callee_device"] is None)
        assert gone["data"]["call"]["state"] == "accepted"
        async with harness.client("bob") as b2:
            listed = await b2.request("rtc_call_state", {})
            assert [c["call_id"] for c in listed["calls"]] == [call["call_id"]] and listed["resumed"] is False
            out = await b2.request("rtc_call_state", {"call_id": call["call_id"]})
            assert out["resumed"] is True and out["calls"][0]["callee_device"] is not None
            back = await a.next_push("rtc_call_update", where=lambda d: d["call"]["callee_device"] is not None)
            assert back["data"]["call"]["state"] == "accepted"
            await b2.request("rtc_offer", {"call_id": call["call_id"], "sdp": "v=0 ice restart"})
            assert (await a.next_push("rtc_signal"))["data"]["sdp"] == "v=0 ice restart"


@pytest.mark.parametrize("config_overrides", [{"calls": {"reconnect_grace_s": 0.2}}])
async def test_a_call_whose_device_vanishes_ends_lost(harness, users):
    async with harness.client("alice") as a:
        await answered_then_gone(harness, a, users)
        upd = await a.next_push("rtc_call_update", where=ended("lost"))
        assert upd["data"]["call"]["ended_by"] == 0
        assert "connection lost" in (await record(a, users["bob"]))["content"]["text"]


async def test_blocks_and_privacy_apply_at_invite(harness, users):
    async with harness.client("bob") as b, harness.client("alice") as a, harness.client("carol") as c:
        await b.request("chat_block_add", {"user_id": users["alice"]})
        await b.request("chat_dm_privacy_set", {"policy": "friends"})
        for client in (a, c):  # blocked, and not a friend: the same refusal
            with pytest.raises(ClientError) as exc:
                await client.request("rtc_call_invite", {"peer": users["bob"]})
            assert exc.value.code == "privacy_restricted"
        assert not (await b.request("rtc_call_state", {}))["calls"]


async def test_a_signal_does_not_wait_behind_a_slow_request(harness, users, monkeypatch):
    """A connection in a call runs its other requests in a lane: an offer sent while its search
    still runs is relayed at once. The search is held on an event of the test's (the one hook)."""
    from chatd.handlers import HANDLERS

    release, started = trio.Event(), trio.Event()
    search = HANDLERS["chat_dm_search"]

    async def held(call):
        started.set()
        await release.wait()
        return await search(call)

    monkeypatch.setitem(HANDLERS, "chat_dm_search", held)
    async with harness.client("alice") as a, harness.client("bob") as b:
        call = (await a.request("rtc_call_invite", {"peer": users["bob"]}))["call"]
        await b.request("rtc_call_accept", {"call_id": call["call_id"]})
        results: list[Any] = []
        async with trio.open_nursery() as n:

            async def slow():
                results.append(await a.request("chat_dm_search", {"query": "x"}))

            n.start_soon(slow)
            await started.wait()
            assert (await a.request("rtc_offer", {"call_id": call["call_id"], "sdp": "v=0 now"}))["relayed"] is True
            assert (await b.next_push("rtc_signal"))["data"]["sdp"] == "v=0 now"
            assert not results  # the search is still running
            release.set()
        assert results and results[0]["results"] == []


@pytest.mark.parametrize("config_overrides", [{"calls": {"mesh_max_participants": 3}}])
async def test_a_group_call_in_a_mesh(harness, users):
    a_id, b_id, c_id = users["alice"], users["bob"], users["carol"]
    async with harness.client("bob") as watcher:
        async with harness.client("alice") as a, harness.client("bob") as b, harness.client("carol") as c, harness.client("bob") as b2:
            gid = (await a.request("chat_group_create", {"name": "standup", "members": [b_id, c_id]}))["group"]["group_id"]
            ja = await a.request("rtc_multi_join", {"group_id": gid})
            assert ja["conv_id"] == gid and ja["participants"] == []
            # Every member's devices learn that a call is on, the joining one too.
            for client in (a, b, c, b2):
                upd = await client.next_push("rtc_multi_update", where=lambda d: d["event"] == "joined")
                assert upd["data"]["participant"] == {"user_id": a_id, "device": ja["device"]}
            jb = await b.request("rtc_multi_join", {"group_id": gid})
            assert jb["participants"] == [{"user_id": a_id, "device": ja["device"]}]
            await a.next_push("rtc_multi_update", where=lambda d: d["participant"]["device"] == jb["device"])
            # A signal reaches only the device it names.
            await b.request("rtc_multi_signal", {"conv_id": gid, "to_device": ja["device"], "type": "offer", "sdp": "v=0 b->a"})
            sig = await a.next_push("rtc_signal")
            assert sig["data"] == {"call_id": 0, "conv_id": gid, "from_user": b_id, "from_device": jb["device"], "type": "offer", "sdp": "v=0 b->a"}
            await a.request("rtc_multi_signal", {"conv_id": gid, "to_device": jb["device"], "type": "candidate", "candidate": "candidate:1", "sdp_mid": "0"})
            assert (await b.next_push("rtc_signal"))["data"]["candidate"] == "candidate:1"
            assert not c.pending_pushes("rtc_signal") and not b2.pending_pushes("rtc_signal")
            for data, code in (
                ({"conv_id": gid, "to_device": "nobody", "type": "offer", "sdp": "v=0"}, "not_found"),
                ({"conv_id": gid, "to_device": ja["device"], "type": "hello", "sdp": "v=0"}, "bad_request"),
                ({"conv_id": gid, "to_device": ja["device"], "type": "offer"}, "bad_request"),
            ):
                with pytest.raises(ClientError) as exc:
                    await b.request("rtc_multi_signal", data)
                assert exc.value.code == code, data
            with pytest.raises(ClientError) as exc:  # not in the call
                await c.request("rtc_multi_signal", {"conv_id": gid, "to_device": ja["device"], "type": "offer", "sdp": "v=0"})
            assert exc.value.code == "forbidden"
            await c.request("rtc_multi_join", {"group_id": gid})
            with pytest.raises(ClientError) as exc:  # the cap: 3 devices
                await b2.request("rtc_multi_join", {"group_id": gid})
            assert exc.value.code == "conflict"
            left = await b.request("rtc_multi_leave", {"conv_id": gid})
            assert left["left"] is True
            upd = await a.next_push("rtc_multi_update", where=lambda d: d["event"] == "left")
            assert [p["user_id"] for p in upd["data"]["participants"]] == [a_id, c_id]
            assert (await b.request("rtc_multi_leave", {"conv_id": gid}))["left"] is False
        # Disconnecting leaves the call: when the last device is gone, the call is over.
        await watcher.next_push("rtc_multi_update", where=lambda d: d["participants"] == [])
        with pytest.raises(ClientError) as exc:
            await watcher.request("rtc_multi_join", {"group_id": gid, "channel_id": 1})
        assert exc.value.code == "bad_request"
        assert (await watcher.request("rtc_multi_join", {"group_id": gid}))["participants"] == []


async def test_only_members_join_a_group_call(harness, users):
    async with harness.client("alice") as a, harness.client("carol") as c:
        gid = (await a.request("chat_group_create", {"name": "private", "members": [users["bob"]]}))["group"]["group_id"]
        with pytest.raises(ClientError) as exc:
            await c.request("rtc_multi_join", {"group_id": gid})
        assert exc.value.code == "not_member"
        with pytest.raises(ClientError) as exc:
            await c.request("rtc_multi_join", {"channel_id": 12345})
        assert exc.value.code == "not_found"


async def test_a_member_removed_from_the_group_leaves_its_call(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        gid = (await a.request("chat_group_create", {"name": "standup", "members": [users["bob"]]}))["group"]["group_id"]
        ja = await a.request("rtc_multi_join", {"group_id": gid})
        jb = await b.request("rtc_multi_join", {"group_id": gid})
        await a.next_push("rtc_multi_update", where=lambda d: d["participant"]["device"] == jb["device"] and d["event"] == "joined")
        await a.request("chat_group_member_kick", {"group_id": gid, "user_id": users["bob"]})
        upd = await a.next_push("rtc_multi_update", where=lambda d: d["event"] == "left")
        assert upd["data"]["participant"]["user_id"] == users["bob"] and upd["data"]["participants"] == [{"user_id": users["alice"], "device": ja["device"]}]
        with pytest.raises(ClientError) as exc:  # no more signals to the call for him
            await b.request("rtc_multi_signal", {"conv_id": gid, "to_device": ja["device"], "type": "offer", "sdp": "v=0"})
        assert exc.value.code == "forbidden"

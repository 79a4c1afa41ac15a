"""One WebRTC peer for tests/test_calls_webrtc.py, run as its own process:

    python tests/rtc_peer.py WS_URL USERNAME PASSWORD callee [relay]
    python tests/rtc_peer.py WS_URL USERNAME PASSWORD caller PEER_USER_ID [relay]
    python tests/rtc_peer.py WS_URL USERNAME PASSWORD resume      (then `go CALL_ID` on stdin)
    python tests/rtc_peer.py WS_URL USERNAME PASSWORD mesh GROUP_ID EXPECTED_PEERS

A caller whose invite meets the peer's own (glare: the answer says `merged`) answers that call.
`resume` takes the place of the user's device that vanished from a live call (rtc_call_state)
and offers a new connection; the other side answers it and exchanges bytes again.

It talks to chatd with chatd's own client (trio) and runs aiortc (asyncio) on an asyncio loop in
a second thread; `Aio.run` carries a coroutine across. It prints one JSON object per line on
stdout (`event`: ready, joined, exchanged, hung_up, ended, left, problems) and reads commands,
one per line, on stdin (`go`: call or join, once logged in; `hangup` in a 1:1 call, which the
other side sees end; `leave` in a group call). The test starts the processes together and says when each acts and when it ends,
so no peer closes a connection the other still reads from.

Signaling goes through chatd only: the SDP is sent without its candidates, and each candidate
follows on its own (rtc_ice_candidate, or rtc_multi_signal type candidate), then an empty one,
the end of candidates; the other side adds them with addIceCandidate.

Loopback: aioice leaves 127.0.0.1 out of its host candidates, and a machine (or CI) may have no
other interface. This peer gathers on 127.0.0.1 only (below, `loopback_only`), so the
two processes reach each other over lo on any machine and no packet leaves it. No STUN or TURN
server (`iceServers=[]`): aiortc would otherwise try a public STUN server. With `relay`, a 1:1
peer takes the ICE servers chatd handed it (the answer to rtc_call_invite or rtc_call_accept)
and the relay policy: every candidate is a TURN relay (tests/test_turn.py).

Every frame the client receives is checked against the registry (chatd.protocol.wirecheck),
as the tests' own clients are; the peer reports what did not match in a `problems` line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the chatd of this tree, as the test's

import aioice.ice  # noqa: E402
import trio  # noqa: E402
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.sdp import candidate_from_sdp  # noqa: E402

from chatd.client import Client, connect  # noqa: E402
from chatd.protocol.wirecheck import check_frame  # noqa: E402

STEP = 15  # seconds: the most any one step may take


def loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = loopback_only

PROBLEMS: list[str] = []
_handle = Client._handle


def _checked(self: Client, frame: dict[str, Any]) -> None:
    PROBLEMS.extend(p for p in check_frame(frame) if p not in PROBLEMS)
    _handle(self, frame)


Client._handle = _checked  # type: ignore[method-assign]


def say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class Aio:
    """An asyncio loop on its own thread, for aiortc."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        with trio.fail_after(STEP):
            return await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)


def split_candidates(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """The SDP without its candidate lines, and the candidates as rtc_ice_candidate carries them."""
    lines, candidates, mid, index = [], [], None, -1
    for line in sdp.splitlines():
        if line.startswith("m="):
            index += 1
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        if line.startswith("a=candidate:"):
            candidates.append({"candidate": line[2:], "sdp_mid": mid, "sdp_mline_index": index})
        elif line != "a=end-of-candidates":
            lines.append(line)
    return "\r\n".join(lines) + "\r\n", candidates


class Link:
    """One RTCPeerConnection with one data channel, on the asyncio thread. Each side sends its
    payload (0x00 + 16 random bytes) when the channel opens and echoes the other's (0x01 + it)."""

    def __init__(self, ice_servers: list[dict[str, Any]], relay: bool) -> None:
        servers = [RTCIceServer(s["urls"], s.get("username"), s.get("credential")) for s in ice_servers]
        policy = RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
        self.payload = os.urandom(16)
        loop = asyncio.get_running_loop()
        self.received: asyncio.Future[bytes] = loop.create_future()
        self.echoed: asyncio.Future[bytes] = loop.create_future()
        self.pc.on("datachannel", self._channel)
        self.candidate_types: list[str] = []  # of the candidates this side sent

    def _local(self) -> tuple[str, list[dict[str, Any]]]:
        sdp, candidates = split_candidates(self.pc.localDescription.sdp)
        self.candidate_types = sorted({c["candidate"].split(" typ ")[1].split()[0] for c in candidates})
        return sdp, candidates

    def _channel(self, channel: Any) -> None:
        def on_message(message: Any) -> None:
            kind, body = message[:1], message[1:]
            if kind == b"\x00" and not self.received.done():
                channel.send(b"\x01" + body)
                self.received.set_result(body)
            elif kind == b"\x01" and not self.echoed.done():
                self.echoed.set_result(body)

        def send() -> None:
            channel.send(b"\x00" + self.payload)

        channel.on("message", on_message)
        if channel.readyState == "open":
            send()
        else:
            channel.on("open", send)

    async def offer(self) -> tuple[str, list[dict[str, Any]]]:
        self._channel(self.pc.createDataChannel("chatd-test"))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._local()

    async def answer(self, sdp: str) -> tuple[str, list[dict[str, Any]]]:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self._local()

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def add_candidate(self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None) -> None:
        if not candidate:
            await self.pc.addIceCandidate(None)
            return
        parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        parsed.sdpMid, parsed.sdpMLineIndex = sdp_mid, sdp_mline_index
        await self.pc.addIceCandidate(parsed)

    async def exchanged(self) -> dict[str, Any]:
        received, echoed = await self.received, await self.echoed
        return {"sent": self.payload.hex(), "received": received.hex(), "echoed": echoed.hex(), "candidate_types": self.candidate_types}

    async def close(self) -> None:
        await self.pc.close()


async def create_link(ice_servers: list[dict[str, Any]] = [], relay: bool = False) -> Link:  # noqa: B006 - never changed
    return Link(ice_servers, relay)


Send = Callable[..., Awaitable[Any]]


async def negotiate(aio: Aio, link: Link, signals: trio.MemoryReceiveChannel[dict[str, Any]], send: Send, offerer: bool) -> dict[str, str]:
    """Signal one link to its end (the other side's end of candidates), then wait for its bytes."""

    async def send_description(kind: str, sdp: str, candidates: list[dict[str, Any]]) -> None:
        await send(kind, sdp=sdp)
        for candidate in candidates:
            await send("candidate", **candidate)
        await send("candidate", candidate="", sdp_mid=candidates[0]["sdp_mid"] if candidates else None)

    if offerer:
        await send_description("offer", *await aio.run(link.offer()))
    async for signal in signals:
        if signal["type"] == "offer":
            await send_description("answer", *await aio.run(link.answer(signal["sdp"])))
        elif signal["type"] == "answer":
            await aio.run(link.accept(signal["sdp"]))
        else:
            await aio.run(link.add_candidate(signal["candidate"], signal.get("sdp_mid"), signal.get("sdp_mline_index")))
            if not signal["candidate"]:
                break
    return await aio.run(link.exchanged())


class Stdin:
    """The test's commands, a line each (read from the descriptor, so a wait can be cancelled)."""

    def __init__(self) -> None:
        self.stream: trio.lowlevel.FdStream | None = None
        self.buf = b""

    async def wait_for(self, word: str) -> list[str]:
        """Wait for a line that starts with `word`; the words after it."""
        if self.stream is None:
            self.stream = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
        while True:
            line, newline, rest = self.buf.partition(b"\n")
            if newline:
                self.buf = rest
                words = line.decode().split()
                if words[:1] == [word]:
                    return words[1:]
                continue
            chunk = await self.stream.receive_some(4096)
            if not chunk:
                raise SystemExit(f"stdin ended before {word!r}")
            self.buf += chunk


command = Stdin().wait_for


async def one_to_one(aio: Aio, client: Client, role: str, args: list[str]) -> None:
    if role == "caller":
        answer = await client.request("rtc_call_invite", {"peer": int(args[0]), "media": "audio"})
        call_id = answer["call"]["call_id"]
        if answer["merged"]:  # glare: this invite answered the peer's call, whose caller offers
            role = "callee"
    elif role == "resume":  # a device of a user whose device in the call vanished takes its place
        call_id = int(args[0])
        answer = await client.request("rtc_call_state", {"call_id": call_id})
        assert answer["resumed"], answer
    else:
        ring = await client.next_push("rtc_call_incoming", timeout=STEP)
        call_id = ring["data"]["call"]["call_id"]
        answer = await client.request("rtc_call_accept", {"call_id": call_id})
    relay = args[-1:] == ["relay"]
    relayed: list[bool] = []

    async def send(kind: str, **fields: Any) -> None:
        cmd = {"offer": "rtc_offer", "answer": "rtc_answer", "candidate": "rtc_ice_candidate"}[kind]
        relayed.append((await client.request(cmd, {"call_id": call_id, **{k: v for k, v in fields.items() if v is not None}}))["relayed"])

    async def connection(offerer: bool, first: dict[str, Any] | None = None) -> tuple[Link, dict[str, Any]]:
        """A peer connection signaled through the call (`first`: the offer that asked for it)."""
        signals_in, signals_out = trio.open_memory_channel[dict[str, Any]](64)
        if first is not None:
            signals_in.send_nowait(first)
        link = await aio.run(create_link(answer["ice_servers"] if relay else [], relay))
        async with trio.open_nursery() as nursery:

            async def route() -> None:
                while True:
                    push = await client.next_push("rtc_signal", where=lambda d: d["call_id"] == call_id, timeout=3600)
                    await signals_in.send(push["data"])

            nursery.start_soon(route)
            result = await negotiate(aio, link, signals_out, send, offerer)
            nursery.cancel_scope.cancel()
        return link, result

    # The device that comes back offers anew (aiortc has no ICE restart: a new connection).
    link, result = await connection(offerer=role in ("caller", "resume"))
    say("exchanged", call_id=call_id, merged=answer.get("merged", False), relayed=relayed, ice_servers=answer["ice_servers"], **result)
    async with trio.open_nursery() as nursery:  # this side hangs up when the test says so, or the other side does

        async def hang_up() -> None:
            await command("hangup")
            done = await client.request("rtc_call_hangup", {"call_id": call_id})
            say("hung_up", call=done["call"])
            nursery.cancel_scope.cancel()

        async def ended() -> None:
            ended = await client.next_push("rtc_call_update", where=lambda d: d["call"]["state"] == "ended", timeout=3600)
            say("ended", call=ended["data"]["call"])
            nursery.cancel_scope.cancel()

        async def offered_again() -> None:  # the other side's device came back and offers
            nonlocal link
            while True:
                offer = await client.next_push("rtc_signal", where=lambda d: d["call_id"] == call_id and d["type"] == "offer", timeout=3600)
                await aio.run(link.close())
                link, result = await connection(offerer=False, first=offer["data"])
                say("exchanged", call_id=call_id, again=True, **result)

        nursery.start_soon(hang_up)
        nursery.start_soon(ended)
        nursery.start_soon(offered_again)
    await aio.run(link.close())


async def mesh(aio: Aio, client: Client, group_id: int, expected: int) -> None:
    joined = await client.request("rtc_multi_join", {"group_id": group_id})
    conv_id, me = joined["conv_id"], joined["device"]
    say("joined", device=me, participants=joined["participants"])
    links: dict[str, tuple[Link, trio.MemorySendChannel[dict[str, Any]]]] = {}
    results: trio.MemorySendChannel[tuple[str, int, dict[str, str]]]
    results, results_out = trio.open_memory_channel[tuple[str, int, dict[str, str]]](expected)

    async def start(nursery: trio.Nursery, device: str, user_id: int, offerer: bool) -> None:
        link = await aio.run(create_link())
        signals_in, signals_out = trio.open_memory_channel[dict[str, Any]](64)
        links[device] = (link, signals_in)

        async def send(kind: str, **fields: Any) -> None:
            data = {"conv_id": conv_id, "to_device": device, "type": kind, **{k: v for k, v in fields.items() if v is not None}}
            await client.request("rtc_multi_signal", data)

        async def run() -> None:
            await results.send((device, user_id, await negotiate(aio, link, signals_out, send, offerer)))

        nursery.start_soon(run)

    async with trio.open_nursery() as nursery:
        for participant in joined["participants"]:  # those already in the call get this device's offers
            await start(nursery, participant["device"], participant["user_id"], offerer=True)

        async def route() -> None:
            while True:
                signal = (await client.next_push("rtc_signal", where=lambda d: d["conv_id"] == conv_id, timeout=3600))["data"]
                if signal["from_device"] not in links:  # a device that joined later offers to this one
                    await start(nursery, signal["from_device"], signal["from_user"], offerer=False)
                await links[signal["from_device"]][1].send(signal)

        nursery.start_soon(route)
        for _ in range(expected):
            device, user_id, result = await results_out.receive()
            say("exchanged", peer_device=device, peer_user=user_id, device=me, **result)
        await command("leave")
        nursery.cancel_scope.cancel()
    left = await client.request("rtc_multi_leave", {"conv_id": conv_id})
    say("left", **left)
    for link, _ in links.values():
        await aio.run(link.close())


async def main(url: str, username: str, password: str, role: str, *args: str) -> None:
    aio = Aio()
    async with connect(url) as client:
        me = await client.login(username, password)
        say("ready", user_id=me["user"]["id"])
        more = await command("go") if role != "callee" else []
        if role == "mesh":
            await mesh(aio, client, int(args[0]), int(args[1]))
        else:
            await one_to_one(aio, client, role, [*args, *more])
        say("problems", problems=PROBLEMS)


if __name__ == "__main__":
    trio.run(main, *sys.argv[1:])

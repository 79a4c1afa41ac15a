"""Streamed messages over the wire (docs/bots.md): begin, deltas by offset, end; resends and gaps;
readers who arrive mid-stream or reconnect at random points; timeouts, disconnects, cancels."""

from __future__ import annotations

import random
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from chatd.client import ClientError, connect
from chatd.store import users as users_store


STREAM_PUSHES = {"chat.stream.delta", "chat.stream.done", "chat.stream.error"}


async def add_bot(harness, name: str) -> str:
    def op(ctx: Any) -> str:
        uid = users_store.create_bot(ctx.conn, name)
        token = f"token-of-{name}-0123456789"
        users_store.replace_bot_token(ctx.conn, uid, token)
        return token

    return await harness.server.writer.submit(op)


@asynccontextmanager
async def as_bot(harness, token: str):
    async with connect(harness.url) as client:
        await client.login(token=token)
        yield client


class Reader:
    """A reader's copy of a streamed message, kept by the deltas' offsets."""

    def __init__(self, text: str = ""):
        self.text = text
        self.final: dict[str, Any] | None = None

    def apply(self, push: dict[str, Any]) -> None:
        data = push["data"]
        if push["cmd"] == "chat.stream.delta":
            assert data["offset"] <= len(self.text), "a gap"
            self.text = self.text[: data["offset"]] + data["text"] if data["offset"] + len(data["text"]) > len(self.text) else self.text
        else:
            self.final = data


async def next_stream_push(client, stream_id: int) -> dict[str, Any]:
    return await client.next_push(where=lambda d: isinstance(d, dict) and d.get("stream_id") == stream_id)


async def begin(bot, peer: int, text: str, **extra: Any) -> dict[str, Any]:
    return await bot.request("chat_stream_begin", {"peer": peer, "text": text, **extra})


@pytest.fixture
async def bot_token(harness) -> str:
    return await add_bot(harness, "helper")


async def test_a_stream_from_begin_to_done(harness, users, bot_token):
    async with as_bot(harness, bot_token) as bot, harness.client("alice") as alice:
        started = await begin(bot, users["alice"], "Hello")
        sid = started["stream_id"]
        assert started["message"]["state"] == "streaming" and started["message"]["id"] == sid
        first = await alice.next_push("chat_message")
        assert first["data"]["message"]["state"] == "streaming" and first["data"]["message"]["content"]["text"] == "Hello"
        reader = Reader("Hello")
        text = "Hello"
        for n, piece in enumerate([", ", "world", "! 你好", "，世界"], start=1):
            out = await bot.request("chat_stream_append", {"stream_id": sid, "seq": n, "offset": len(text), "text": piece})
            text += piece
            assert out == {"stream_id": sid, "length": len(text), "applied": True}
        done = await bot.request("chat_stream_end", {"stream_id": sid, "length": len(text)})
        assert done["message"]["content"]["text"] == text and "state" not in done["message"]
        while reader.final is None:
            reader.apply(await next_stream_push(alice, sid))
        assert reader.text == text and reader.final["message"]["content"]["text"] == text
        # One message, complete, with the final text; found by search once indexed.
        history = await alice.request("chat_dm_history", {"peer": bot.user["id"]})
        assert [(m["id"], m["content"]["text"], m.get("state")) for m in history["messages"]] == [(sid, text, None)]
        with trio.fail_after(10):
            while not (await alice.request("chat_dm_search", {"query": "世界"}))["results"]:
                await harness.server.writer.submit(lambda ctx: None)  # the index follows the writer
        with pytest.raises(ClientError) as exc:
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": 9, "offset": len(text), "text": "more"})
        assert exc.value.code == "not_found"


async def test_resends_gaps_and_strangers(harness, users, bot_token):
    async with as_bot(harness, bot_token) as bot, harness.client("alice") as alice:
        sid = (await begin(bot, users["alice"], "abc", client_msg_id="s1"))["stream_id"]
        assert (await bot.request("chat_stream_append", {"stream_id": sid, "seq": 1, "offset": 3, "text": "def"}))["applied"] is True
        resent = await begin(bot, users["alice"], "abc", client_msg_id="s1")  # a begin whose answer was lost
        assert resent["duplicate"] is True and resent["stream_id"] == sid and resent["message"]["content"]["text"] == "abcdef"
        again = await bot.request("chat_stream_append", {"stream_id": sid, "seq": 1, "offset": 3, "text": "def"})
        assert again == {"stream_id": sid, "length": 6, "applied": False}
        # Overlapping a resend: only the new part is added.
        assert (await bot.request("chat_stream_append", {"stream_id": sid, "seq": 2, "offset": 4, "text": "efgh"}))["length"] == 8
        for data, code, field in (
            ({"seq": 3, "offset": 9, "text": "x"}, "conflict", "offset"),  # a gap
            ({"seq": 3, "offset": 2, "text": "XX"}, "conflict", "text"),  # not what was sent
            ({"seq": 3, "offset": 0, "text": "abcdefghXYZ" * 2000}, "too_large", "text"),
        ):
            with pytest.raises(ClientError) as exc:
                await bot.request("chat_stream_append", {"stream_id": sid, **data})
            assert (exc.value.code, exc.value.field) == (code, field), data
        with pytest.raises(ClientError) as exc:
            await alice.request("chat_stream_append", {"stream_id": sid, "seq": 3, "offset": 8, "text": "i"})
        assert exc.value.code == "forbidden"
        with pytest.raises(ClientError) as exc:  # a person does not stream
            await begin(alice, bot.user["id"], "me too")
        assert exc.value.code == "forbidden"
        with pytest.raises(ClientError) as exc:
            await bot.request("chat_stream_begin", {"peer": users["alice"], "group_id": 1, "text": "x"})
        assert exc.value.code == "bad_request"
        for target, code in (({"peer": 999_999}, "not_found"), ({"group_id": 999_999}, "not_found"), ({"channel_id": 999_999}, "not_found")):
            with pytest.raises(ClientError) as exc:
                await bot.request("chat_stream_begin", {**target, "text": "x"})
            assert exc.value.code == code, target
        with pytest.raises(ClientError) as exc:
            await bot.request("chat_stream_end", {"stream_id": sid, "length": 5})
        assert exc.value.code == "conflict" and "8" in exc.value.error["message"]
        # What was refused changed nothing.
        assert (await bot.request("chat_stream_end", {"stream_id": sid}))["message"]["content"]["text"] == "abcdefgh"


async def test_a_reader_arriving_mid_stream_gets_the_text_so_far(harness, users, bot_token):
    async with as_bot(harness, bot_token) as bot:
        sid = (await begin(bot, users["alice"], "one"))["stream_id"]
        await bot.request("chat_stream_append", {"stream_id": sid, "seq": 1, "offset": 3, "text": " two"})
        async with harness.client("alice") as alice:
            got = (await alice.request("chat_message_get", {"msg_id": sid}))["message"]
            assert got["state"] == "streaming" and got["content"]["text"] == "one two"
            page = (await alice.request("chat_dm_history", {"peer": bot.user["id"]}))["messages"]
            assert page[-1]["content"]["text"] == "one two"
            reader = Reader(got["content"]["text"])
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": 2, "offset": 7, "text": " three"})
            await bot.request("chat_stream_end", {"stream_id": sid, "error": "model overloaded"})
            while reader.final is None:
                reader.apply(await next_stream_push(alice, sid))
            assert reader.text == "one two three"
            assert reader.final["reason"] == "model overloaded" and reader.final["message"]["state"] == "error"
            stored = (await alice.request("chat_message_get", {"msg_id": sid}))["message"]
            assert stored["content"]["text"] == "one two three" and (stored["state"], stored["stream_error"]) == ("error", "model overloaded")


@pytest.mark.parametrize("config_overrides", [{"bots": {"stream_idle_timeout_s": 0.3}}])
async def test_a_silent_bot_times_out_and_a_gone_one_is_disconnected(harness, users, bot_token):
    async with harness.client("alice") as alice:
        async with as_bot(harness, bot_token) as bot:
            sid = (await begin(bot, users["alice"], "thinking"))["stream_id"]
            end = await alice.next_push("chat.stream.error")
            assert end["data"]["reason"] == "timeout" and end["data"]["message"]["content"]["text"] == "thinking"
            sid2 = (await begin(bot, users["alice"], "half"))["stream_id"]
            assert sid2 != sid
        end = await alice.next_push("chat.stream.error", where=lambda d: d["stream_id"] == sid2)
        assert end["data"]["reason"] == "disconnected" and end["data"]["message"]["state"] == "error"


async def test_a_reader_asks_the_bot_to_stop(harness, users, bot_token):
    async with as_bot(harness, bot_token) as bot, harness.client("alice") as alice, harness.client("bob") as bob:
        sid = (await begin(bot, users["alice"], "a long answer"))["stream_id"]
        out = await alice.request("chat_stream_cancel", {"stream_id": sid})
        assert out == {"stream_id": sid, "forwarded": True}
        push = await bot.next_push("chat.stream.cancel")
        assert push["data"] == {"stream_id": sid, "kind": "dm", "conv_id": push["data"]["conv_id"], "by": users["alice"]}
        with pytest.raises(ClientError) as exc:  # not his DM: as if there were no such stream
            await bob.request("chat_stream_cancel", {"stream_id": sid})
        assert exc.value.code == "not_found"
        await bot.request("chat_stream_end", {"stream_id": sid, "error": "cancelled"})


async def test_a_stream_in_a_group_reaches_its_members(harness, users, bot_token):
    async with as_bot(harness, bot_token) as bot, harness.client("alice") as alice, harness.client("bob") as bob:
        gid = (await alice.request("chat_group_create", {"name": "ask the bot", "members": [users["bob"], bot.user["id"]]}))["group"]["group_id"]
        sid = (await bot.request("chat_stream_begin", {"group_id": gid, "text": "Answer:"}))["stream_id"]
        await bot.request("chat_stream_append", {"stream_id": sid, "seq": 1, "offset": 7, "text": " 42"})
        await bot.request("chat_stream_end", {"stream_id": sid})
        for client in (alice, bob):
            reader = Reader("Answer:")
            while reader.final is None:
                reader.apply(await next_stream_push(client, sid))
            assert reader.text == "Answer: 42" and reader.final["kind"] == "group"


@pytest.mark.parametrize("config_overrides", [{"bots": {"stream_push_interval_ms": 1}, "limits": {"frames_per_s": 100000, "frames_burst": 100000}}])
async def test_a_reader_reconnecting_at_100_random_points_ends_with_every_character_once(harness, users, bot_token):
    """2,000 deltas; at 100 random ones the bot waits while the reader drops its connection, comes
    back, reads the message so far and goes on with the deltas that follow."""
    rng = random.Random(7)
    pieces = ["".join(rng.choice("abcdef 中文🙂\n") for _ in range(rng.randint(1, 6))) for _ in range(2000)]
    full = "start" + "".join(pieces)
    points = set(rng.sample(range(1, 2000), 100))
    async with harness.client("alice") as a:
        token = a.token

    class Turn:
        drop = trio.Event()
        back = trio.Event()

    async with as_bot(harness, bot_token) as bot:
        sid = (await begin(bot, users["alice"], "start"))["stream_id"]

        async def stream() -> None:
            offset = 5
            for n, piece in enumerate(pieces, start=1):
                await bot.request("chat_stream_append", {"stream_id": sid, "seq": n, "offset": offset, "text": piece})
                offset += len(piece)
                if n in points:  # the reader drops its connection here, and comes back
                    Turn.drop.set()
                    await Turn.back.wait()
                    Turn.back = trio.Event()
            await bot.request("chat_stream_end", {"stream_id": sid, "length": len(full)})

        reconnects, final_text = 0, None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream)
            while final_text is None:
                async with connect(harness.url) as alice:
                    await alice.login(token=token)
                    got = (await alice.request("chat_message_get", {"msg_id": sid}))["message"]
                    reader = Reader(got["content"]["text"])
                    if reconnects:
                        Turn.drop = trio.Event()
                        Turn.back.set()
                    reconnects += 1
                    if "state" not in got:  # it ended before this connection came
                        final_text = reader.text
                        break
                    async with trio.open_nursery() as reading:

                        async def dropped() -> None:
                            await Turn.drop.wait()
                            reading.cancel_scope.cancel()

                        reading.start_soon(dropped)
                        while reader.final is None:
                            reader.apply(await next_stream_push(alice, sid))
                        final_text = reader.text
                        assert reader.final["message"]["content"]["text"] == full
                        reading.cancel_scope.cancel()
        assert final_text == full
        assert reconnects == 101


async def test_a_reader_receives_each_character_once(harness, users, bot_token):
    """Bandwidth: the deltas a reader gets carry the final text exactly once (merged deltas add
    framing per push, never text twice); the bound of issue 17 is 1.2x the text plus framing."""
    import msgspec

    pieces = [f"token{n} " for n in range(400)]
    async with as_bot(harness, bot_token) as bot, harness.client("alice") as alice:
        sid = (await begin(bot, users["alice"], "go "))["stream_id"]
        offset = 3
        for n, piece in enumerate(pieces, start=1):
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": n, "offset": offset, "text": piece})
            offset += len(piece)
        await bot.request("chat_stream_end", {"stream_id": sid})
        text_bytes = frame_bytes = pushes = 0
        while True:
            push = await next_stream_push(alice, sid)
            if push["cmd"] != "chat.stream.delta":
                break
            pushes += 1
            text_bytes += len(push["data"]["text"].encode())
            frame_bytes += len(msgspec.json.encode(push))
        final = "go " + "".join(pieces)
        assert text_bytes == len(final.encode()) - len(b"go ")
        assert frame_bytes <= 1.2 * len(final.encode()) + 200 * pushes


async def test_a_stream_is_refused_like_a_dm(harness, users, bot_token):
    async with as_bot(harness, bot_token) as bot, harness.client("bob") as bob:
        await bob.request("chat_block_add", {"user_id": bot.user["id"]})
        with pytest.raises(ClientError) as exc:
            await begin(bot, users["bob"], "hello")
        assert exc.value.code == "privacy_restricted"
        await bob.request("chat_block_remove", {"user_id": bot.user["id"]})
        await bob.request("chat_dm_privacy_set", {"policy": "friends"})
        with pytest.raises(ClientError) as exc:
            await begin(bot, users["bob"], "hello")
        assert exc.value.code == "privacy_restricted"


async def test_a_bot_in_a_community_channel(harness, users, bot_token):
    async with as_bot(harness, bot_token) as bot, harness.client("alice") as alice:
        made = await alice.request("community_create", {"name": "makers", "public": True, "join_mode": "open"})
        cid, channel = made["community"]["community_id"], made["channel_id"]
        await bot.request("community_join", {"community_id": cid})
        members = (await alice.request("community_members", {"community_id": cid}))["members"]
        assert {m["name"]: m.get("is_bot", False) for m in members} == {"alice": False, "helper": True}
        sid = (await bot.request("chat_stream_begin", {"channel_id": channel, "text": "Welcome"}))["stream_id"]
        await bot.request("chat_stream_append", {"stream_id": sid, "seq": 1, "offset": 7, "text": ", makers!"})
        await bot.request("chat_stream_end", {"stream_id": sid})
        reader = Reader("Welcome")
        while reader.final is None:
            reader.apply(await next_stream_push(alice, sid))
        assert reader.text == "Welcome, makers!" and reader.final["kind"] == "channel"

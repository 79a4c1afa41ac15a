"""A streamed message and a reader that cannot keep up (docs/bots.md, "What readers get"): the
deltas it cannot take are not queued for it. While its socket is full it is skipped, and the
server keeps only the length of text it has; once its socket takes data again it gets all it
missed as one delta. Its backlog does not grow with the stream, it is not disconnected, and it
ends with the bot's text, character for character.

The slow reader is a WebSocket client that stops reading (trio-websocket with a message queue
of one: once a message waits unread, nothing more is read from the socket); the server's
side of its connection is looked at in-process.
"""

from __future__ import annotations

import json
import pytest
import trio
from trio_websocket import open_websocket_url

from .conftest import PASSWORD
from .test_streams import Reader, add_bot, as_bot, begin, next_stream_push

BIG = "字" * 15_000  # 45 KB a message: the kernel's buffers fill within a few hundred


@pytest.mark.parametrize(
    "config_overrides",
    [{"limits": {"send_rate_per_s": 10_000, "send_burst": 10_000, "user_write_rate_per_s": 10_000, "user_write_burst": 10_000}}],
)
async def test_a_reader_whose_socket_is_full_gets_what_it_missed_as_one_delta(harness, users):
    token = await add_bot(harness, "helper")
    async with open_websocket_url(harness.url, message_queue_size=1) as slow, as_bot(harness, token) as bot, harness.client("alice", device="fast") as fast:
        await slow.send_message(json.dumps({"cmd": "login", "id": 1, "data": {"username": "alice", "password": PASSWORD, "device": "slow"}}))
        assert json.loads(await slow.get_message())["ok"]
        (conn,) = [s.conn for s in harness.server.hub.sessions_of(users["alice"]) if s.device == "slow"]
        # Fill the slow reader's socket and the kernel's buffers until the server holds a backlog.
        sent = 0
        while not conn.backlog:
            await bot.request("chat_dm_send", {"peer": users["alice"], "content": {"type": "text", "text": BIG}})
            sent += 1
            assert sent < 1_000, "the socket never filled"
        before = conn.backlog_bytes

        # A stream while the reader is behind: its start is queued for it, none of its deltas.
        started = await begin(bot, users["alice"], "Once ")
        sid, text = started["stream_id"], "Once "
        queued_start = conn.backlog_bytes - before
        for n in range(1, 301):
            piece = f"upon {n} "
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": n, "offset": len(text), "text": piece})
            text += piece
        # Once the reader that keeps up has every character, the stream has pushed them all.
        on_time = Reader("Once ")
        while on_time.text != text:
            on_time.apply(await next_stream_push(fast, sid))
        assert conn.backlog_bytes - before == queued_start, "deltas were queued for a reader whose socket is full"
        assert not conn.closing

        # The reader reads again: everything queued for it, up to the stream's start.
        reader: Reader | None = None
        with trio.fail_after(30):
            while reader is None:
                frame = json.loads(await slow.get_message())
                msg = frame.get("data", {}).get("message") if frame["cmd"] == "chat_message" else None
                if msg is not None and msg["id"] == sid:
                    assert msg["state"] == "streaming" and msg["content"]["text"] == "Once "
                    reader = Reader("Once ")
        # The next deltas bring everything it missed, merged, then the end.
        missed_from = len(reader.text)
        for n in range(301, 311):
            piece = f"a time {n} "
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": n, "offset": len(text), "text": piece})
            text += piece
        await bot.request("chat_stream_end", {"stream_id": sid, "length": len(text)})
        offsets = []
        with trio.fail_after(30):
            while reader.final is None:
                frame = json.loads(await slow.get_message())
                if frame.get("data", {}).get("stream_id") == sid:
                    if frame["cmd"] == "chat.stream.delta":
                        offsets.append(frame["data"]["offset"])
                    reader.apply(frame)
        assert offsets and offsets[0] == missed_from  # one delta from where it stopped
        assert reader.text == text and reader.final["message"]["content"]["text"] == text


async def test_a_reader_keeping_up_gets_every_delta_in_order(harness, users):
    """The same stream to a reader that reads: deltas follow each other by offset, no gap."""
    token = await add_bot(harness, "helper")
    async with as_bot(harness, token) as bot, harness.client("alice") as alice:
        sid = (await begin(bot, users["alice"], "a"))["stream_id"]
        text = "a"
        for n in range(1, 51):
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": n, "offset": len(text), "text": "b"})
            text += "b"
        await bot.request("chat_stream_end", {"stream_id": sid})
        reader, expected = Reader("a"), 1
        while reader.final is None:
            push = await next_stream_push(alice, sid)
            if push["cmd"] == "chat.stream.delta":
                assert push["data"]["offset"] == expected
                expected += len(push["data"]["text"])
            reader.apply(push)
        assert reader.text == text

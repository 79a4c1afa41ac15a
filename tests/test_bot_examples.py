"""The example bots of examples/ (docs/bots.md), each run as its own process against a real
server: the echo bot answers a DM; the typewriter bot streams its answer, and stops when asked."""

from __future__ import annotations

import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from .helpers_proc import clean_env
from .test_streams import Reader, add_bot, next_stream_push

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@asynccontextmanager
async def bot_process(harness, script: str, name: str, **env: str):
    token = await add_bot(harness, name)
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(EXAMPLES / script)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=clean_env(CHATD_URL=harness.url, CHATD_BOT_TOKEN=token, **env),
    )
    try:
        with trio.fail_after(20):
            seen = b""
            while b"logged in as" not in seen:  # it is connected: what is sent from now reaches it
                chunk = await proc.stdout.receive_some()
                assert chunk, f"{script} ended: {seen.decode(errors='replace')}"
                seen += chunk
        yield proc
    finally:
        proc.kill()
        await proc.wait()


async def test_the_echo_bot_answers(harness, users):
    async with bot_process(harness, "echo_bot.py", "echo"), harness.client("alice") as alice:
        sent = await alice.request("chat_dm_send", {"peer": await _id_of(harness, "echo"), "content": {"type": "text", "text": "ping 你好"}})
        echo = await alice.next_push("chat_message", where=lambda d: d["message"]["sender_id"] != users["alice"], timeout=15)
        assert echo["data"]["message"]["content"]["text"] == "ping 你好" and echo["data"]["message"]["quote_id"] == sent["id"]


async def _id_of(harness, name: str) -> int:
    def op(ctx) -> int:
        return ctx.conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()[0]

    return await harness.server.writer.submit(op)


async def test_the_typewriter_bot_streams_and_stops_when_asked(harness, users):
    async with bot_process(harness, "typewriter_bot.py", "typewriter", TYPEWRITER_DELAY_S="0.01"), harness.client("alice") as alice:
        bot = await _id_of(harness, "typewriter")
        await alice.request("chat_dm_send", {"peer": bot, "content": {"type": "text", "text": "tell me"}})
        first = await alice.next_push("chat_message", where=lambda d: d["message"]["sender_id"] == bot, timeout=15)
        sid = first["data"]["message"]["id"]
        reader = Reader(first["data"]["message"]["content"]["text"])
        while reader.final is None:
            reader.apply(await next_stream_push(alice, sid))
        assert reader.text == "You wrote 7 characters: tell me" and reader.final["message"]["content"]["text"] == reader.text
        # A long one, cancelled mid-way: it ends as an error with what was sent until then.
        await alice.request("chat_dm_send", {"peer": bot, "content": {"type": "text", "text": " ".join(["word"] * 300)}})
        second = await alice.next_push("chat_message", where=lambda d: d["message"]["sender_id"] == bot and d["message"]["id"] != sid, timeout=15)
        sid2 = second["data"]["message"]["id"]
        await alice.next_push("chat.stream.delta", where=lambda d: d["stream_id"] == sid2, timeout=15)
        assert (await alice.request("chat_stream_cancel", {"stream_id": sid2}))["forwarded"] is True
        end = await alice.next_push("chat.stream.error", where=lambda d: d["stream_id"] == sid2, timeout=15)
        assert end["data"]["reason"] == "cancelled" and len(end["data"]["message"]["content"]["text"]) < 300 * 5

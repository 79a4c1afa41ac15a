"""A typewriter bot: answers every direct message with a streamed message, a word at a time.

    chatd bot add typewriter                 # prints the bot's token
    CHATD_URL=ws://127.0.0.1:8080/ws CHATD_BOT_TOKEN=... python examples/typewriter_bot.py

For each text it gets in a DM, it begins a stream (`chat_stream_begin`, the first word), adds the
other words one by one (`chat_stream_append`, numbered, each with its offset), and ends it
(`chat_stream_end` with the length it sent, so it knows nothing was lost). A reader who asks it
to stop (`chat.stream.cancel`) gets the stream ended with the error "cancelled". Streams of
several conversations run side by side, each in its own task. docs/bots.md explains each step.
"""

from __future__ import annotations

import math
import os

import trio

from chatd.client import Client, ClientError, connect

DELAY_S = float(os.environ.get("TYPEWRITER_DELAY_S", "0.05"))  # between two words: how a typewriter looks


def answer_to(text: str) -> list[str]:
    words = f"You wrote {len(text)} characters: {text}".split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


async def stream(client: Client, peer: int, text: str, cancelled: dict[int, trio.Event]) -> None:
    words = answer_to(text)
    begun = await client.request("chat_stream_begin", {"peer": peer, "text": words[0]})
    sid = begun["stream_id"]
    stop = cancelled[sid] = trio.Event()
    length = len(words[0])
    try:
        for seq, word in enumerate(words[1:], start=1):
            with trio.move_on_after(DELAY_S):
                await stop.wait()
            if stop.is_set():
                await client.request("chat_stream_end", {"stream_id": sid, "error": "cancelled"})
                return
            await client.request("chat_stream_append", {"stream_id": sid, "seq": seq, "offset": length, "text": word})
            length += len(word)
        await client.request("chat_stream_end", {"stream_id": sid, "length": length})
    except ClientError as err:
        print(f"stream {sid} failed: {err}", flush=True)
    finally:
        cancelled.pop(sid, None)


async def main() -> None:
    async with connect(os.environ.get("CHATD_URL", "ws://127.0.0.1:8080/ws")) as client:
        me = (await client.login(token=os.environ["CHATD_BOT_TOKEN"], device="typewriter-bot"))["user"]
        print(f"logged in as {me['name']} (id {me['id']})", flush=True)
        cancelled: dict[int, trio.Event] = {}
        async with trio.open_nursery() as nursery:
            while True:
                push = await client.next_push(timeout=math.inf)
                data = push["data"]
                if push["cmd"] == "chat.stream.cancel":
                    if data["stream_id"] in cancelled:
                        cancelled[data["stream_id"]].set()
                elif push["cmd"] == "chat_message" and data["event"] == "new" and data["kind"] == "dm":
                    message = data["message"]
                    if message["sender_id"] != me["id"] and message["content"]["type"] == "text":
                        nursery.start_soon(stream, client, data["peer"], message["content"]["text"], cancelled)


if __name__ == "__main__":
    trio.run(main)

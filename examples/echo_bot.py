"""An echo bot: answers every direct message with the same text.

    chatd bot add echo                       # prints the bot's token
    CHATD_URL=ws://127.0.0.1:8080/ws CHATD_BOT_TOKEN=... python examples/echo_bot.py

It logs in with its token, then waits for `chat_message` pushes; a new text message in a DM
from someone else is sent back with `chat_dm_send`. docs/bots.md explains each step.
"""

from __future__ import annotations

import math
import os

import trio

from chatd.client import ClientError, connect


async def main() -> None:
    async with connect(os.environ.get("CHATD_URL", "ws://127.0.0.1:8080/ws")) as client:
        me = (await client.login(token=os.environ["CHATD_BOT_TOKEN"], device="echo-bot"))["user"]
        print(f"logged in as {me['name']} (id {me['id']})", flush=True)
        while True:
            push = await client.next_push("chat_message", timeout=math.inf)
            data = push["data"]
            message = data["message"]
            if data["event"] != "new" or data["kind"] != "dm" or message["sender_id"] == me["id"]:
                continue
            content = message["content"]
            if content["type"] != "text":
                continue
            try:
                await client.request("chat_dm_send", {"peer": data["peer"], "content": {"type": "text", "text": content["text"]}, "quote_id": message["id"]})
            except ClientError as err:  # e.g. rate_limited: this one is dropped, the bot goes on
                print(f"could not answer: {err}", flush=True)


if __name__ == "__main__":
    trio.run(main)

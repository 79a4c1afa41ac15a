"""Bots in the web client, in a real browser (tests/browser.py): the bot badge, a streamed answer
growing in the page (and after a reload mid-stream), Stop, buttons, forms and slash commands.

The bot is made with `chatd bot add` on the server's data and driven from the test with
chatd.client, on a trio loop of its own in a thread (the browser side is Playwright's sync API)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import trio

pytest.register_assert_rewrite("tests.browser")

from chatd.client import connect  # noqa: E402

from .browser import EXPECT_MS, IMG, Chatd, expect, message  # noqa: E402
from .helpers_proc import run_sync  # noqa: E402

pytest_plugins = ["tests.browser"]  # the fixtures: browser, chatd, pages

BOT_ID = 4  # after alice, bob and carol


class Bot:
    """A bot connected with chatd.client on its own trio loop; the test calls it synchronously."""

    def __init__(self, chatd: Chatd, token: str):
        self.url = chatd.url.replace("http://", "ws://") + "/ws"
        self.token = token
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(EXPECT_MS / 1000), "the bot did not log in"
        assert self.failure is None, self.failure

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to the test by __init__
            self.failure = exc
            self.ready.set()

    async def _main(self) -> None:
        self.stopping = trio.Event()
        async with connect(self.url) as client:
            await client.login(token=self.token, device="test-bot")
            self.client, self.trio_token = client, trio.lowlevel.current_trio_token()
            self.ready.set()
            await self.stopping.wait()

    def request(self, cmd: str, data: Any) -> Any:
        return trio.from_thread.run(partial(self.client.request, cmd, data, timeout=EXPECT_MS / 1000), trio_token=self.trio_token)

    def next_push(self, cmd: str) -> dict[str, Any]:
        return trio.from_thread.run(partial(self.client.next_push, cmd, timeout=EXPECT_MS / 1000), trio_token=self.trio_token)["data"]

    def stop(self) -> None:
        trio.from_thread.run_sync(self.stopping.set, trio_token=self.trio_token)
        self.thread.join(EXPECT_MS / 1000)


@pytest.fixture
def bot(chatd: Chatd) -> Iterator[Bot]:
    """The bot "helper" (id 4), made while the server runs, connected."""
    made = run_sync("bot", "add", "helper", "--display-name", "Helper", "--data", str(chatd.data))
    assert made.returncode == 0 and f"(id {BOT_ID})" in made.stdout, made
    b = Bot(chatd, made.stdout.strip().splitlines()[-1])
    yield b
    b.stop()


class Stream:
    """A streamed answer to alice, written by the bot a piece at a time."""

    def __init__(self, bot: Bot, text: str):
        self.bot, self.text, self.seq = bot, text, 0
        self.id = bot.request("chat_stream_begin", {"peer": 1, "text": text})["stream_id"]

    def append(self, piece: str) -> None:
        self.seq += 1
        self.bot.request("chat_stream_append", {"stream_id": self.id, "seq": self.seq, "offset": len(self.text), "text": piece})
        self.text += piece

    def end(self, **extra: Any) -> None:
        self.bot.request("chat_stream_end", {"stream_id": self.id, **extra})


def open_bot_dm(page: Any) -> None:
    entry = page.locator(f'.entry[data-target="dm:{BOT_ID}"]')
    expect(entry.locator(".bot-badge")).to_be_visible()  # the home list marks the bot
    entry.locator("a").click()
    expect(page.locator(".conversation h2 .bot-badge")).to_be_visible()


def streamed(page: Any, stream_id: int) -> Any:
    return page.locator(f'.msg[data-id="{stream_id}"]')


BUTTONS = {
    "type": "buttons",
    "text": "Was this helpful? 有帮助吗？",
    "buttons": [
        [{"text": "Yes 👍", "action": "callback", "value": "helpful"}, {"text": "No", "action": "callback", "value": "not-helpful"}],
        [{"text": "Docs", "action": "url", "value": "https://example.org/docs"}, {"text": "Copy id", "action": "copy", "value": "ticket-42"}],
    ],
}


def test_a_streamed_answer_grows_and_ends(pages: tuple[Any, Any], bot: Bot) -> None:
    alice, _ = pages
    stream = Stream(bot, "The answer")
    open_bot_dm(alice)
    msg = streamed(alice, stream.id)
    expect(msg.locator(".text")).to_have_text("The answer")
    expect(msg.locator(".stream-state.streaming")).to_be_visible()
    for piece in (" is", " forty-two", "：四十二", " 🎉"):
        stream.append(piece)
        expect(msg.locator(".text")).to_have_text(stream.text)
    stream.end(length=len(stream.text))
    expect(msg.locator(".stream-state")).to_have_count(0)
    expect(msg.locator(".text")).to_have_text("The answer is forty-two：四十二 🎉")
    expect(alice.locator(f'.entry[data-target="dm:{BOT_ID}"] .preview')).to_have_text(stream.text)  # the list's preview too
    expect(alice.locator(".msg")).to_have_count(1)  # one message from the first delta to the end
    # the screenshot: a finished answer with buttons under it, and the next one still being written
    bot.request("chat_dm_send", {"peer": 1, "content": BUTTONS})
    expect(alice.locator(".bot-button")).to_have_count(4)
    second = Stream(bot, "Anything else? I can also explain how")
    expect(streamed(alice, second.id).locator(".stream-state.streaming")).to_be_visible()
    expect(alice.locator(f'.entry[data-target="dm:{BOT_ID}"] .preview')).to_have_text(second.text)
    alice.screenshot(path=str(IMG / "web-bot.png"))
    second.end()


def test_a_reload_mid_stream_shows_the_text_so_far_then_the_rest(pages: tuple[Any, Any], bot: Bot) -> None:
    alice, _ = pages
    stream = Stream(bot, "Part one.")
    open_bot_dm(alice)
    stream.append(" Part two.")
    expect(streamed(alice, stream.id).locator(".text")).to_have_text("Part one. Part two.")
    alice.reload()
    msg = streamed(alice, stream.id)
    expect(msg.locator(".text")).to_have_text("Part one. Part two.")  # from history, while it streams
    expect(msg.locator(".stream-state.streaming")).to_be_visible()
    stream.append(" Part three.")
    expect(msg.locator(".text")).to_have_text("Part one. Part two. Part three.")
    stream.end(length=len(stream.text))
    expect(msg.locator(".stream-state")).to_have_count(0)
    expect(msg.locator(".text")).to_have_text("Part one. Part two. Part three.")


def test_stop_reaches_the_bot_and_the_error_keeps_the_partial_text(pages: tuple[Any, Any], bot: Bot) -> None:
    alice, _ = pages
    stream = Stream(bot, "A long story")
    open_bot_dm(alice)
    stream.append(" begins")
    msg = streamed(alice, stream.id)
    expect(msg.locator(".text")).to_have_text("A long story begins")
    msg.locator(".stop-stream").click()
    cancel = bot.next_push("chat.stream.cancel")
    assert (cancel["stream_id"], cancel["by"]) == (stream.id, 1)
    stream.end(error="cancelled")
    expect(msg.locator(".stream-error")).to_have_text("⚠ stopped before the end: cancelled")
    expect(msg.locator(".text")).to_have_text("A long story begins")
    expect(msg.locator(".stop-stream")).to_have_count(0)
    alice.reload()  # from history: still marked, with the reason kept with the message
    expect(streamed(alice, stream.id).locator(".stream-error")).to_have_text("⚠ stopped before the end: cancelled")


def test_buttons_in_a_group_reach_the_bot(pages: tuple[Any, Any], chatd: Chatd, bot: Bot) -> None:
    alice, bob = pages
    group = chatd.command(chatd.token("alice"), "chat_group_create", {"name": "Support", "members": [2, BOT_ID]})["group"]["group_id"]
    bot.request("chat_group_send", {"group_id": group, "content": BUTTONS})
    bob.click(f'.entry[data-target="group:{group}"] a')
    msg = message(bob, "Was this helpful?")
    expect(msg.locator(".sender")).to_have_text("Helperbot")  # the name, then the badge
    expect(msg.locator(".sender .bot-badge")).to_be_visible()
    bob.click(".show-members")
    expect(bob.locator(f'.members li[data-user="{BOT_ID}"] .bot-badge')).to_be_visible()
    expect(bob.locator(".members li .bot-badge")).to_have_count(1)
    msg.locator(".bot-button", has_text="Yes").click()
    click = bot.next_push("chat.button.click")
    assert (click["value"], click["user"]["id"], click["kind"]) == ("helpful", 2, "group")
    expect(msg.locator(".note")).to_have_text("Sent.")
    link = msg.locator("a.bot-button")
    expect(link).to_have_attribute("href", "https://example.org/docs")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    bob.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=chatd.url)
    msg.locator(".bot-button", has_text="Copy id").click()
    expect(msg.locator(".note")).to_have_text("Copied.")
    assert bob.evaluate("navigator.clipboard.readText()") == "ticket-42"


def test_a_handed_over_dm_shows_who_answers(pages: tuple[Any, Any], chatd: Chatd, bot: Bot) -> None:
    _, bob = pages
    bot.request("chat_dm_send", {"peer": 2, "content": {"type": "text", "text": "How can I help?"}})
    bob.click(f'.entry[data-target="dm:{BOT_ID}"] a')
    expect(message(bob, "How can I help?")).to_be_visible()
    expect(bob.locator(".routing")).to_have_count(0)  # the bot answers: nothing to say
    alice = chatd.token("alice")  # a server admin, as the agent
    chatd.command(alice, "chat_dm_handover", {"peer": 2, "bot_id": BOT_ID})
    expect(bob.locator(".routing.agent")).to_have_text("An agent (alice) is handling this conversation.")
    chatd.command(alice, "chat_dm_send", {"peer": 2, "bot_id": BOT_ID, "content": {"type": "text", "text": "Hi, a person here"}})
    expect(message(bob, "Hi, a person here").locator(".sender")).to_have_text("alice")  # in the same conversation, by name
    bob.reload()  # a page opened meanwhile reads the routing from the conversation's entry
    bob.click(f'.entry[data-target="dm:{BOT_ID}"] a')
    expect(bob.locator(".routing.agent")).to_be_visible()
    expect(message(bob, "Hi, a person here").locator(".sender")).to_have_text("alice")
    chatd.command(alice, "chat_dm_release", {"peer": 2, "bot_id": BOT_ID})
    expect(bob.locator(".routing.bot")).to_have_text("The bot is answering again.")
    bot.request("chat_dm_send", {"peer": 2, "content": {"type": "text", "text": "Back to me"}})
    expect(message(bob, "Back to me")).to_be_visible()
    expect(bob.locator(".msg")).to_have_count(3)  # one conversation throughout


FORM = {
    "type": "form",
    "text": "Order a T-shirt",
    "fields": [
        {"id": "size", "type": "radio", "label": "Size", "options": ["S", "M", "L"], "default": "M"},
        {"id": "colour", "type": "select", "label": "Colour 颜色", "options": ["red", "blue"]},
        {"id": "gift", "type": "switch", "label": "Gift wrap", "default": False},
        {"id": "name", "type": "input", "label": "Name on it", "placeholder": "your name"},
        {"id": "note", "type": "textarea", "label": "Note"},
    ],
}


def test_a_form_submitted_and_refused(pages: tuple[Any, Any], bot: Bot) -> None:
    alice, _ = pages
    bot.request("chat_dm_send", {"peer": 1, "content": FORM})
    open_bot_dm(alice)
    form = alice.locator(".bot-form")
    expect(form.locator('[data-field="size"] input[value="M"]')).to_be_checked()  # the default
    expect(form.locator('[data-field="colour"] .label')).to_have_text("Colour 颜色")
    form.locator('[data-field="size"] input[value="L"]').check()
    form.locator('[data-field="colour"] select').select_option("blue")
    form.locator('[data-field="gift"] input').check()
    form.locator('[data-field="name"] input').fill("Alice 爱丽丝")
    form.locator('[data-field="note"] textarea').fill("x" * 4001)  # past the 4,000 characters allowed
    form.locator("button[type=submit]").click()
    expect(form.locator('[data-field="note"] .field-error')).to_contain_text("too_large")
    form.locator('[data-field="note"] textarea').fill("by Friday")
    form.locator("button[type=submit]").click()
    submitted = bot.next_push("chat.form.submit")
    assert submitted["values"] == {"size": "L", "colour": "blue", "gift": True, "name": "Alice 爱丽丝", "note": "by Friday"}
    assert submitted["user"]["id"] == 1
    expect(form.locator(".field-error")).to_have_count(0)
    expect(form.locator(".note")).to_have_text("Sent.")


def test_a_slash_command_picked_in_the_composer(pages: tuple[Any, Any], bot: Bot) -> None:
    alice, _ = pages
    bot.request("chat_bot_commands_set", {"commands": [
        {"name": "weather", "description": "The forecast for a city", "params": [{"name": "city", "description": "Where", "required": True}]},
        {"name": "help", "description": "What I can do"},
    ]})
    bot.request("chat_dm_send", {"peer": 1, "content": {"type": "text", "text": "Type / for my commands"}})
    open_bot_dm(alice)
    alice.fill(".compose", "/")
    picker = alice.locator(".command-picker button")
    expect(picker).to_have_count(2)
    alice.fill(".compose", "/we")
    expect(picker).to_have_count(1)
    expect(picker).to_contain_text("The forecast for a city")
    picker.click()
    expect(alice.locator(".compose")).to_have_value("/weather ")
    expect(alice.locator(".compose")).to_be_focused()
    alice.keyboard.type("Lisbon 里斯本")
    alice.press(".compose", "Enter")
    ran = bot.next_push("chat.bot.command")
    assert (ran["name"], ran["args"], ran["user_id"], ran["bot_id"]) == ("weather", "Lisbon 里斯本", 1, BOT_ID), ran
    expect(message(alice, "/weather Lisbon 里斯本")).to_have_count(1)
    assert ran["msg_id"] == int(message(alice, "/weather Lisbon 里斯本").get_attribute("data-id"))
    expect(alice.locator(".msg.mine")).to_have_count(1)
    # a command typed whole, without the picker, is run too; an unknown one is sent as text
    alice.fill(".compose", "/help")
    alice.press(".compose", "Enter")
    assert bot.next_push("chat.bot.command")["name"] == "help"
    alice.fill(".compose", "/nothing here")
    alice.press(".compose", "Enter")
    expect(message(alice, "/nothing here")).to_have_count(1)
    assert bot.client.pending_pushes("chat.bot.command") == []


APPLY_BY_OFFSET = """async () => {
  const {applyDelta, newer, commandOf} = await import('/assets/bots.js');
  const m = {id: 1, state: 'streaming', content: {type: 'text', text: 'ab😀'}};  // 3 characters, 4 UTF-16 units
  const text = (d) => { const r = applyDelta(m, d); return r === null ? null : r.content.text; };
  const commands = [{bot: {id: 4}, name: 'weather'}];
  return {
    append: text({offset: 3, text: 'c'}),
    overlap: text({offset: 2, text: '😀cd'}),
    held: text({offset: 1, text: 'b'}),
    gap: text({offset: 4, text: 'x'}),
    kept: newer({...m, content: {text: 'abcdef'}}, m).content.text,
    replaced: newer(m, {...m, state: undefined, content: {text: 'ab'}}).content.text,
    command: commandOf('/weather  Lisbon ', commands, null),
    unknown: commandOf('/snow', commands, null),
  };
}"""


def test_deltas_are_applied_by_their_offset_in_characters(pages: tuple[Any, Any]) -> None:
    alice, _ = pages
    assert alice.evaluate(APPLY_BY_OFFSET) == {
        "append": "ab😀c",
        "overlap": "ab😀cd",  # only the part past the text held
        "held": "ab😀",  # already held: unchanged
        "gap": None,  # past the text held: the client fetches the message (chat_message_get)
        "kept": "abcdef",  # a history page older than the live text does not shorten it
        "replaced": "ab",  # the final message replaces the streaming one
        "command": {"bot_id": 4, "name": "weather", "args": "Lisbon"},
        "unknown": None,
    }

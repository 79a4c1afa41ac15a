"""The web client in a real browser (tests/browser.py): two users chat live, a reconnect loses
and doubles nothing, Chinese search jumps to its message, scrolling back loads one page at a
time, an image is shown as its thumbnail, the setup token creates the administrator, and the
protocol module is driven on its own."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser")  # its asserts explain themselves, as the tests' do

from .browser import EXPECT_MS, IMG, PASSWORD, Chatd, add_users, expect, log_in, message, new_context, open_dm, send

pytest_plugins = ["tests.browser"]  # the fixtures: browser, chatd, pages


def test_two_users_chat_live(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    open_dm(alice, 2)
    send(alice, "hello bob, see https://example.org/x and javascript:alert(1)")
    # bob's home list shows it live, with its unread count, then the conversation.
    entry = bob.locator('.entry[data-target="dm:1"]')
    expect(entry.locator(".unread")).to_have_text("1")
    expect(entry.locator(".preview")).to_contain_text("hello bob")
    entry.click()
    got = message(bob, "hello bob")
    expect(got).to_have_count(1)
    links = got.locator("a")
    expect(links).to_have_count(1)
    assert links.get_attribute("href") == "https://example.org/x"
    # bob read it: alice sees the read receipt, and bob's badge is gone.
    expect(message(alice, "hello bob").locator(".read-mark")).to_be_visible()
    expect(entry.locator(".unread")).to_have_count(0)
    alice.reload()  # the mark again, from the DM's entry (peer_last_read_seq), with no receipt this time
    expect(message(alice, "hello bob").locator(".read-mark")).to_be_visible()
    # typing, both ways of seeing it
    bob.type(".compose", "typ")
    expect(alice.locator(".typing")).to_contain_text("typing")
    bob.fill(".compose", "")
    send(bob, "hi alice 你好")
    expect(message(alice, "hi alice 你好")).to_have_count(1)
    # react, edit, recall
    message(bob, "hello bob").locator("button.react", has_text="👍").click()
    expect(message(alice, "hello bob").locator(".reaction")).to_have_text("👍 1")
    message(alice, "hello bob").locator(".do-edit").click()
    alice.fill(".edit input", "hello bob (edited)")
    alice.press(".edit input", "Enter")
    expect(message(bob, "hello bob (edited)").locator(".edited")).to_be_visible()
    message(bob, "hello bob (edited)").locator(".edited").click()  # the version before the edit
    expect(message(bob, "hello bob (edited)").locator(".earlier li")).to_have_count(1)
    expect(message(bob, "hello bob (edited)").locator(".earlier li .text")).to_contain_text("hello bob, see https://example.org/x")
    send(alice, "a message to take back")
    expect(message(bob, "a message to take back")).to_have_count(1)
    bob.screenshot(path=str(IMG / "web-conversation.png"))
    message(alice, "a message to take back").locator(".do-recall").click()
    expect(bob.locator(".msg.is-recalled")).to_have_count(1)
    expect(bob.locator(".text", has_text="a message to take back")).to_have_count(0)
    # The session is kept across a reload (the token in localStorage, never in the URL).
    alice.reload()
    expect(message(alice, "hi alice 你好")).to_have_count(1)
    assert "token" not in alice.url
    alice.click(".logout")
    expect(alice.locator("input[name=password]")).to_be_visible()
    alice.reload()
    expect(alice.locator("input[name=password]")).to_be_visible()


def test_reconnect_catches_up_without_loss_or_doubles(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    open_dm(alice, 2)
    send(alice, "before the drop")
    open_dm(bob, 1)
    expect(message(bob, "before the drop")).to_have_count(1)
    bob.context.set_offline(True)
    expect(bob.locator(".banner")).to_be_visible()
    sent_offline = [f"while away {i}" for i in range(5)]
    for text in sent_offline:
        send(alice, text)
    token = chatd.token("alice")
    for i in range(3):
        chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "text", "text": f"over REST {i}"}})
    # bob writes while offline: sent once, after the reconnect
    bob.fill(".compose", "written offline")
    bob.press(".compose", "Enter")
    bob.context.set_offline(False)
    expect(bob.locator(".banner")).to_have_count(0)
    for text in [*sent_offline, "over REST 0", "over REST 1", "over REST 2"]:
        expect(message(bob, text)).to_have_count(1)
    expect(message(alice, "written offline")).to_have_count(1)
    texts = bob.locator(".msg .text").all_inner_texts()
    assert len(texts) == len(set(texts)) == 10, texts
    seqs = bob.locator(".msg").evaluate_all("els => els.map((e) => Number(e.dataset.seq))")
    assert seqs == list(range(1, 11)), seqs
    # and live again
    send(alice, "after the drop")
    expect(message(bob, "after the drop")).to_have_count(1)


def test_chinese_search_finds_the_message_and_jumps_to_it(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    token = chatd.token("alice")
    for i in range(60):  # the message is far back: the jump opens the conversation around it
        text = "明天下午三点开会，讨论预算" if i == 5 else f"filler {i}"
        chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "text", "text": text}})
    bob.click(".to-search")
    bob.fill(".search-form input", "开会")
    bob.press(".search-form input", "Enter")
    result = bob.locator(".result")
    expect(result).to_have_count(1)
    expect(result.locator("mark")).to_have_text("开会")
    expect(result.locator(".who")).to_have_text("alice")
    bob.screenshot(path=str(IMG / "web-search.png"))
    result.click()
    hit = bob.locator(".msg.highlight")
    expect(hit).to_contain_text("明天下午三点开会")
    expect(hit).to_be_in_viewport()
    assert bob.locator(".msg").count() < 60


def test_scrolling_back_loads_older_pages_only(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    token = chatd.token("alice")
    for i in range(1, 121):
        chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "text", "text": f"number {i}"}, "client_msg_id": f"n{i}"})
    open_dm(bob, 1)
    expect(message(bob, "number 120")).to_have_count(1)
    expect(bob.locator(".msg")).to_have_count(30)  # the newest page only
    for shown in (60, 90, 120):  # each scroll to the top loads one older page
        bob.locator(".messages").evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        expect(bob.locator(".msg")).to_have_count(shown)
    expect(bob.locator(".msg")).to_have_count(120)
    seqs = bob.locator(".msg").evaluate_all("els => els.map((e) => Number(e.dataset.seq))")
    assert seqs == list(range(1, 121))


def test_an_image_is_uploaded_and_shown_as_a_thumbnail(pages: tuple[Any, Any], chatd: Chatd, tmp_path: Path) -> None:
    from PIL import Image

    alice, bob = pages
    picture = tmp_path / "sunset.png"
    Image.new("RGB", (640, 400), (230, 120, 40)).save(picture)
    open_dm(alice, 2)
    alice.set_input_files(".attach input", str(picture))
    for page in (alice, bob):
        if page is bob:
            page.click('.entry[data-target="dm:1"]')
        img = page.locator("img.thumb")
        expect(img).to_have_count(1)
        expect(img).to_have_attribute("src", re.compile(r"^blob:"))
        page.wait_for_function("() => document.querySelector('img.thumb').naturalWidth > 0", timeout=EXPECT_MS)
        width = img.evaluate("el => el.naturalWidth")
        assert 0 < width < 640  # the thumbnail, not the full picture


def test_the_first_visitor_creates_the_administrator_with_the_setup_token(browser: Any, tmp_path: Path) -> None:
    server = Chatd(tmp_path / "fresh")
    try:
        token = server.wait_for("setup token").rsplit(" ", 1)[1]
        ctx = new_context(browser, viewport={"width": 390, "height": 780}, locale="zh-CN")
        page = ctx.new_page()
        page.goto(server.url + "/")
        expect(page.locator("h1")).to_have_text("创建管理员")
        page.fill("input[name=token]", "wrong-token")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_contain_text("wrong setup token")
        page.fill("input[name=token]", token)
        page.click("button[type=submit]")
        expect(page.locator(".home h1")).to_have_text("会话")
        page.screenshot(path=str(IMG / "web-phone-zh.png"))
        assert server.post("/api/v1/auth/login", {"username": "root", "password": PASSWORD})["user"]["is_admin"] is True
        page.reload()  # the setup is spent: the page offers nothing but the app (and the login after it)
        expect(page.locator(".home h1")).to_be_visible()
        ctx.close()
    finally:
        server.stop()


PROTOCOL_SCRIPT = """async (password) => Promise.race([
  new Promise((_, reject) => setTimeout(() => reject(new Error('the protocol test took over 20 s')), 20000)),
  (async () => {
  const {Client, Sync, ProtocolError, TOKEN_KEY} = await import('/assets/protocol.js');
  const memory = () => {
    const m = new Map();
    return {getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k)};
  };
  const text = (t) => ({type: 'text', text: t});
  const a = new Client({storage: memory(), baseDelayMs: 50});
  const b = new Client({storage: memory(), baseDelayMs: 50});
  const out = {};
  out.alice = (await a.login('alice', password)).id;
  out.bob = (await b.login('bob', password)).id;
  out.tokenStored = b.storage.getItem(TOKEN_KEY) !== null;
  const sync = new Sync(b);
  await sync.conversations();
  const seen = [];
  const waiters = [];
  const until = (n) => new Promise((resolve) => (seen.length >= n ? resolve() : waiters.push([n, resolve])));
  sync.on('message', (d) => {
    if (d.event !== 'new') return;
    seen.push(d.message.content.text);
    for (const [n, resolve] of waiters) if (seen.length >= n) resolve();
  });
  const first = await a.request('chat_dm_send', {peer: out.bob, content: text('one'), client_msg_id: 'p1'});
  await until(1);
  try {
    await a.request('chat_dm_send', {peer: 99999, content: text('nobody')});
  } catch (err) {
    out.error = [err instanceof ProtocolError, err.code, err.field];
  }
  // The connection drops; what is sent meanwhile arrives once, by catch-up or by push.
  const resynced = new Promise((resolve) => sync.on('resync', resolve));
  b.ws.close();
  for (const t of ['two', 'three', 'four']) await a.request('chat_dm_send', {peer: out.bob, content: text(t)});
  await resynced;
  await until(4);
  // A push whose seq jumps past the known one: the gap is fetched first, in order.
  const gap = new Sync(b);
  gap.known.set(`dm:${first.conv_id}`, 1);
  const gapSeen = [];
  gap.on('message', (d) => d.event === 'new' && gapSeen.push(d.seq));
  const five = new Promise((resolve) => gap.on('message', (d) => d.seq === 5 && resolve()));
  await a.request('chat_dm_send', {peer: out.bob, content: text('five')});
  await five;
  await until(5);
  out.seen = seen;
  out.gap = gapSeen;
  // A resend with the same client_msg_id is the same message.
  const again = await a.request('chat_dm_send', {peer: out.bob, content: text('one'), client_msg_id: 'p1'});
  out.duplicate = [again.duplicate, again.seq];
  // The stored token logs in again; logging out forgets it.
  const c = new Client({storage: b.storage});
  out.resumed = (await c.resume()).name;
  c.logout();
  out.afterLogout = [b.storage.getItem(TOKEN_KEY), await new Client({storage: b.storage}).resume()];
  a.logout();
  b.logout();
  return out;
  })(),
])"""


def test_the_protocol_module_in_the_browser(browser: Any, chatd: Chatd) -> None:
    """chatd/web/protocol.js on its own, imported by the page as the views import it."""
    ctx = new_context(browser)
    page = ctx.new_page()
    page.goto(chatd.url + "/")
    out = page.evaluate(PROTOCOL_SCRIPT, PASSWORD)
    ctx.close()
    assert out["alice"] == 1 and out["bob"] == 2 and out["tokenStored"]
    assert out["error"] == [True, "not_found", "peer"]
    assert out["seen"] == ["one", "two", "three", "four", "five"]
    assert out["gap"] == [2, 3, 4, 5]
    assert out["duplicate"] == [True, 1]
    assert out["resumed"] == "bob"
    assert out["afterLogout"] == [None, None]


def test_search_results_come_a_page_at_a_time(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    token = chatd.token("alice")
    for i in range(25):
        chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "text", "text": f"周会第{i}次"}})
    bob.click(".to-search")
    bob.fill(".search-form input", "周会")
    bob.press(".search-form input", "Enter")
    expect(bob.locator(".result")).to_have_count(20)
    expect(bob.locator(".result").first).to_contain_text("周会第24次")  # newest first
    bob.click(".more-results")
    expect(bob.locator(".result")).to_have_count(25)
    expect(bob.locator(".more-results")).to_have_count(0)
    expect(bob.locator(".result").last).to_contain_text("周会第0次")


SEND_MANY = """async ([password, count]) => Promise.race([
  new Promise((_, reject) => setTimeout(() => reject(new Error('sending took over 120 s')), 120000)),
  (async () => {
    const {Client} = await import('/assets/protocol.js');
    const kept = new Map();
    const storage = {getItem: (k) => kept.get(k) ?? null, setItem: (k, v) => kept.set(k, v), removeItem: (k) => kept.delete(k)};
    const alice = new Client({storage});
    await alice.login('alice', password);
    for (let i = 1; i <= count; i += 500) {
      const batch = Array.from({length: Math.min(500, count - i + 1)}, (_, j) => i + j);
      await Promise.all(batch.map((n) => alice.request('chat_dm_send', {peer: 2, content: {type: 'text', text: `message ${n}`}, client_msg_id: `m${n}`})));
    }
    alice.logout();
    return count;
  })(),
])"""
UNLIMITED = {f"CHATD_LIMITS_{name}": "1000000" for name in ("SEND_RATE_PER_S", "SEND_BURST", "USER_WRITE_RATE_PER_S", "USER_WRITE_BURST", "FRAMES_PER_S", "FRAMES_BURST")}


def test_a_conversation_of_ten_thousand_messages_opens_one_page(browser: Any, tmp_path: Path) -> None:
    """Issue 15's bound: a long conversation scrolls without loading it all."""
    add_users(tmp_path / "data", "alice", "bob")
    server = Chatd(tmp_path / "data", **UNLIMITED)  # the rate limits would make sending 10,000 take minutes
    try:
        ctx = new_context(browser)
        page = ctx.new_page()
        page.goto(server.url + "/")
        started = time.monotonic()
        assert page.evaluate(SEND_MANY, [PASSWORD, 10_000]) == 10_000
        print(f"10,000 messages sent from the page in {time.monotonic() - started:.1f} s")
        log_in(page, server.url, "bob")
        expect(page.locator('.entry[data-target="dm:1"] .unread')).to_have_text("99+")
        started = time.monotonic()
        page.click('.entry[data-target="dm:1"] a')
        expect(message(page, "message 10000")).to_have_count(1)
        print(f"the newest page of 10,000 shown in {(time.monotonic() - started) * 1000:.0f} ms")
        expect(page.locator(".msg")).to_have_count(30)
        page.locator(".messages").evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        expect(page.locator(".msg")).to_have_count(60)
        assert page.locator(".msg .text").first.inner_text() == "message 9941"
        ctx.close()
    finally:
        server.stop()


def test_a_dm_is_opened_by_a_users_name(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, _ = pages
    alice.fill(".new-dm input", "BO")
    found = alice.locator(".found-users a")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("@bob")
    found.click()
    expect(alice.locator(".conversation")).to_be_visible()
    assert alice.evaluate("location.hash") == "#dm:2"
    alice.fill(".new-dm input", "nobody-here")
    expect(alice.locator(".found-users a")).to_have_count(0)

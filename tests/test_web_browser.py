"""The web client in a real browser: Playwright driving Debian's Chromium (installed by
tests/debian.py when missing; never a downloaded browser) against `chatd serve` in a
subprocess, two users in two browser contexts.

These tests are plain synchronous tests (Playwright's sync API runs its own event loop);
every wait is Playwright's own, bounded by EXPECT_MS.
"""

from __future__ import annotations

import json
import re
import queue
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD
from .debian import ensure
from .helpers_proc import CHATD, URL_RE, clean_env, run_sync

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

EXPECT_MS = 10_000
IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
expect.set_options(timeout=EXPECT_MS)


class Chatd:
    """`chatd serve` on a free loopback port with its own data directory; its stdout read by a thread."""

    def __init__(self, data: Path):
        self.data = data
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.log = open(data.parent / f"{data.name}.stderr", "wb")
        self.proc = subprocess.Popen([*CHATD, "serve", "--listen", "127.0.0.1:0", "--data", str(data)], stdout=subprocess.PIPE, stderr=self.log, env=clean_env(), text=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.url = URL_RE.search(self.wait_for("http://")).group(0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = 20) -> str:
        for line in self.lines:
            if needle in line:
                return line
        while True:
            line = self._queue.get(timeout=timeout)
            assert line is not None, f"chatd serve ended before printing {needle!r}: {self.lines}"
            self.lines.append(line)
            if needle in line:
                return line

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()

    # -- the other side, over the REST API ---------------------------------------------------

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def token(self, name: str) -> str:
        return self.post("/api/v1/auth/login", {"username": name, "password": PASSWORD, "device": "test"})["token"]

    def command(self, token: str, wire: str, data: Any) -> Any:
        return self.post(f"/api/v1/commands/{wire}", data, token)


def add_users(data: Path, *names: str) -> None:
    for i, name in enumerate(names):
        res = run_sync("user", "add", name, "--data", str(data), *(["--admin"] if i == 0 else []), input=PASSWORD + "\n")
        assert res.returncode == 0, res


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = ensure("chromium", "/usr/bin/chromium")
    IMG.mkdir(parents=True, exist_ok=True)
    # Fonts for Chinese text and emoji, so that the screenshots in docs/img/ read as a person sees them.
    ensure("fonts-wqy-microhei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    ensure("fonts-noto-color-emoji", "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_context(browser: Any, **options: Any) -> Any:
    """A browser context whose every action and navigation gives up after EXPECT_MS."""
    ctx = browser.new_context(**{"viewport": {"width": 960, "height": 720}, "locale": "en-US", **options})
    ctx.set_default_timeout(EXPECT_MS)
    return ctx


@pytest.fixture
def chatd(tmp_path: Path) -> Iterator[Chatd]:
    """A server with alice (id 1, admin), bob (id 2) and carol (id 3)."""
    add_users(tmp_path / "data", "alice", "bob", "carol")
    server = Chatd(tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture
def pages(browser: Any, chatd: Chatd) -> Iterator[tuple[Any, Any]]:
    """alice's and bob's pages, each in its own browser context, logged in."""
    contexts = [new_context(browser) for _ in range(2)]
    out = []
    for ctx, name in zip(contexts, ("alice", "bob")):
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        # Anything the Content-Security-Policy refused (an inline style or script, a foreign connection)
        page.on("console", lambda msg, errors=errors: "Content Security Policy" in msg.text and errors.append(msg.text))
        page.errors = errors
        log_in(page, chatd.url, name)
        out.append(page)
    yield out[0], out[1]
    for page in out:
        assert not page.errors, page.errors
    for ctx in contexts:
        ctx.close()


def log_in(page: Any, url: str, name: str) -> None:
    page.goto(url + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".home h1")).to_be_visible()


def open_dm(page: Any, peer: int) -> None:
    page.fill(".new-dm input", str(peer))
    page.press(".new-dm input", "Enter")
    expect(page.locator(".conversation")).to_be_visible()


def send(page: Any, text: str) -> None:
    page.fill(".compose", text)
    page.press(".compose", "Enter")
    expect(page.locator(".msg.mine .text", has_text=text)).to_have_count(1)


def message(page: Any, text: str) -> Any:
    return page.locator(".msg", has=page.locator(".text", has_text=text))


# -- the tests ------------------------------------------------------------------------------


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


def text(body: str) -> dict[str, str]:
    return {"type": "text", "text": body}


def test_the_home_list_and_a_group(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta, tb = chatd.token("alice"), chatd.token("bob")
    group = chatd.command(ta, "chat_group_create", {"name": "Team 团队", "members": [2]})["group"]["group_id"]
    chatd.command(ta, "chat_dm_send", {"peer": 2, "content": text("dm first")})
    chatd.command(ta, "chat_group_send", {"group_id": group, "content": text("@bob look"), "mentions": [2]})
    # bob's list, live: newest activity first, unread counts, the mention mark
    entries = bob.locator(".entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_have_attribute("data-target", f"group:{group}")
    expect(entries.nth(0).locator(".mention")).to_be_visible()
    expect(entries.nth(1).locator(".unread")).to_have_text("1")
    # pinned (on another device of bob's) goes first; muted is marked
    chatd.command(tb, "chat_dm_pin_set", {"peer": 1, "pinned": True})
    expect(entries.nth(0)).to_have_attribute("data-target", "dm:1")
    expect(entries.nth(0).locator(".pin")).to_be_visible()
    chatd.command(tb, "chat_group_mute_set", {"group_id": group, "muted": True})
    expect(bob.locator(f'.entry[data-target="group:{group}"] .mute')).to_be_visible()
    bob.screenshot(path=str(IMG / "web-home.png"))
    # the keyboard: arrows move along the list, Enter opens
    bob.focus(".entry a")
    bob.keyboard.press("ArrowDown")
    expect(bob.locator(f'.entry[data-target="group:{group}"] a')).to_be_focused()
    bob.keyboard.press("ArrowUp")
    expect(bob.locator('.entry[data-target="dm:1"] a')).to_be_focused()
    bob.keyboard.press("ArrowDown")
    bob.keyboard.press("Enter")
    expect(bob.locator(".conversation h2")).to_have_text("Team 团队")
    # the group: senders named from its members, a reply with a mention picked from them
    expect(message(bob, "@bob look").locator(".sender")).to_have_text("alice")
    expect(bob.locator(f'.entry[data-target="group:{group}"] .mention')).to_have_count(0)
    message(bob, "@bob look").locator(".do-reply").click()
    bob.fill(".compose", "@al")
    bob.click(".mention-picker button")
    expect(bob.locator(".compose")).to_have_value("@alice ")
    expect(bob.locator(".compose")).to_be_focused()
    bob.keyboard.type("thanks 谢谢")
    bob.press(".compose", "Enter")
    expect(alice.locator(f'.entry[data-target="group:{group}"] .mention')).to_be_visible()
    alice.locator(f'.entry[data-target="group:{group}"] a').click()
    reply = message(alice, "@alice thanks 谢谢")
    expect(reply.locator(".quote")).to_have_text("@bob look")
    expect(reply.locator(".sender")).to_have_text("bob")
    expect(message(bob, "@alice thanks 谢谢").locator(".read-by")).to_have_text("Read by 1")  # alice read it
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=str(IMG / "web-group-dark.png"))
    # delete for me: gone for bob only
    message(bob, "@bob look").locator(".do-delete").click()
    expect(message(bob, "@bob look")).to_have_count(0)
    bob.reload()
    expect(message(bob, "@alice thanks 谢谢")).to_have_count(1)
    expect(message(bob, "@bob look")).to_have_count(0)
    expect(message(alice, "@bob look")).to_have_count(1)


RECORD_NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  static permission = 'default';
  static requestPermission() { window.Notification.permission = 'granted'; return Promise.resolve('granted'); }
  constructor(title, options) { window.__notes.push({title, body: options.body, tag: options.tag}); }
  close() {}
};
"""


def test_presence_groups_and_desktop_notifications(browser: Any, chatd: Chatd) -> None:
    contexts = [new_context(browser) for _ in range(2)]
    alice, bob = (ctx.new_page() for ctx in contexts)
    bob.add_init_script(RECORD_NOTIFICATIONS)  # the browser's notifications, recorded
    log_in(alice, chatd.url, "alice")
    log_in(bob, chatd.url, "bob")
    bob.click(".notify")  # asks for the permission once
    expect(bob.locator(".notify")).to_have_count(0)
    open_dm(alice, 2)
    send(alice, "are you there?")
    dm = bob.locator('.entry[data-target="dm:1"]')
    expect(dm.locator(".presence.on")).to_have_count(1)
    notes = lambda n: bob.wait_for_function(f"() => window.__notes.length >= {n}", timeout=EXPECT_MS) and bob.evaluate("window.__notes")  # noqa: E731
    assert notes(1)[0] == {"title": "alice", "body": "are you there?", "tag": "dm:1"}
    # a new group, made in the browser
    alice.click(".new-group summary")
    alice.fill("input[name=group-name]", "Lunch 午饭")
    alice.fill("input[name=group-members]", "2")
    alice.click(".new-group button[type=submit]")
    expect(alice.locator(".conversation h2")).to_have_text("Lunch 午饭")
    target = alice.evaluate("location.hash.slice(1)")
    alice.click(".show-members")
    expect(alice.locator(".members li .role")).to_have_text(["owner", ""])
    alice.fill("input[name=invite]", "3")
    alice.press("input[name=invite]", "Enter")
    members = alice.locator(".members li")
    expect(members).to_have_count(3)
    expect(members.locator("span").first).to_have_text("alice")
    # the owner makes bob an admin and removes carol
    alice.click('.members li[data-user="2"] .set-role')
    expect(alice.locator('.members li[data-user="2"] .role')).to_have_text("admin")
    alice.click('.members li[data-user="3"] .kick')
    expect(members).to_have_count(2)
    alice.click(".show-members")
    send(alice, "who is hungry?")
    expect(bob.locator(f'.entry[data-target="{target}"]')).to_be_visible()
    assert notes(2)[1] == {"title": "Lunch 午饭", "body": "who is hungry?", "tag": target}
    # muted: no notification (the DM's, sent after it, is the next one)
    chatd.command(chatd.token("bob"), "chat_group_mute_set", {"group_id": int(target.split(":")[1]), "muted": True})
    expect(bob.locator(f'.entry[data-target="{target}"] .mute')).to_be_visible()
    send(alice, "pizza?")
    alice.click('.entry[data-target="dm:2"] a')
    send(alice, "and you?")
    assert [n["body"] for n in notes(3)] == ["are you there?", "who is hungry?", "and you?"]
    # bob leaves the group; alice goes offline
    bob.click(f'.entry[data-target="{target}"] a')
    expect(message(bob, "pizza?")).to_have_count(1)
    bob.click(".leave")
    expect(bob.locator(f'.entry[data-target="{target}"]')).to_have_count(0)
    contexts[0].close()
    expect(dm.locator(".presence.on")).to_have_count(0)
    contexts[1].close()


def test_a_community_channel(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta, tb = chatd.token("alice"), chatd.token("bob")
    made = chatd.command(ta, "community_create", {"name": "开源社区", "public": True, "join_mode": "open"})
    community, channel = made["community"]["community_id"], made["channel_id"]
    chatd.command(tb, "community_join", {"community_id": community})
    chatd.command(ta, "community_send", {"channel_id": channel, "content": text("大家好")})
    entry = bob.locator(f'.entry[data-target="channel:{channel}"]')
    expect(entry.locator(".unread")).to_have_text("1")
    entry.locator("a").click()
    expect(message(bob, "大家好").locator(".sender")).to_have_text("alice")
    expect(entry.locator(".unread")).to_have_count(0)
    send(bob, "你好 alice")
    alice.click(f'.entry[data-target="channel:{channel}"] a')
    expect(message(alice, "你好 alice").locator(".sender")).to_have_text("bob")
    message(alice, "你好 alice").locator("button.react", has_text="🎉").click()
    expect(message(bob, "你好 alice").locator(".reaction")).to_have_text("🎉 1")
    alice.type(".compose", "…")
    expect(bob.locator(".typing")).to_contain_text("alice typing")


def test_messages_are_shown_safely(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    token = chatd.token("alice")
    trap = "<img src=x onerror=\"window.__pwned=1\"> <b>not bold</b> javascript:window.__pwned=1"
    chatd.command(token, "chat_dm_send", {"peer": 2, "content": text(trap)})
    rich = '<p><b>bold</b> <a href="https://example.org/">ok</a> <a href="javascript:window.__pwned=1">bad</a></p><script>window.__pwned=1</script>'
    chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "html", "text": rich}})
    chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "markdown", "text": "**md** <i>raw</i>"}})
    bob.click('.entry[data-target="dm:1"] a')
    expect(bob.locator(".msg")).to_have_count(3)
    expect(bob.locator(".msg .text").first).to_have_text(trap)  # text, not markup
    expect(bob.locator(".messages img")).to_have_count(0)
    expect(bob.locator(".rich b")).to_have_text("bold")  # the server's sanitized html
    assert bob.locator(".rich a").evaluate_all("els => els.map((a) => a.getAttribute('href'))") == ["https://example.org/", None]
    expect(bob.locator(".messages script")).to_have_count(0)
    expect(bob.locator(".msg .text").last).to_have_text("**md** <i>raw</i>")
    assert bob.evaluate("window.__pwned") is None


def test_rooms_found_joined_and_caught_up(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    alice.click(".rooms summary")
    alice.fill("input[name=room-query]", "大厅 lobby")
    alice.click(".create-room")
    expect(alice.locator(".conversation h2")).to_have_text("大厅 lobby")
    room = alice.evaluate("location.hash.slice(1)")
    send(alice, "welcome")
    # bob finds the room by part of its name; opening it joins it
    bob.click(".rooms summary")
    bob.fill("input[name=room-query]", "大厅")
    bob.press("input[name=room-query]", "Enter")
    bob.click(".room-list a")
    expect(message(bob, "welcome")).to_have_count(1)
    send(alice, "live in the room")
    expect(message(bob, "live in the room")).to_have_count(1)
    # after a drop the connection is put back in the room and what was said meanwhile caught up
    bob.context.set_offline(True)
    expect(bob.locator(".banner")).to_be_visible()
    send(alice, "said while bob was away")
    bob.context.set_offline(False)
    expect(message(bob, "said while bob was away")).to_have_count(1)
    send(alice, "and live again")
    expect(message(bob, "and live again")).to_have_count(1)
    expect(bob.locator(".msg")).to_have_count(5)  # the room's first message, then the four
    seqs = bob.locator(".msg").evaluate_all("els => els.map((e) => Number(e.dataset.seq))")
    assert seqs == [1, 2, 3, 4, 5], seqs
    expect(bob.locator(f'.entry[data-target="{room}"]')).to_be_visible()
    bob.click(".leave")
    expect(bob.locator(f'.entry[data-target="{room}"]')).to_have_count(0)

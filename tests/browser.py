"""The web client in a real browser, the part every browser test shares (a pytest plugin of
tests/test_web_*.py): Playwright driving Debian's Chromium (installed by tests/debian.py when
missing; never a downloaded browser) against `chatd serve` in a subprocess, two users in two
browser contexts, and the steps the tests take in a page.

The tests are plain synchronous tests (Playwright's sync API runs its own event loop); every
wait and every action is Playwright's own, bounded by EXPECT_MS.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import PASSWORD
from .debian import ensure
from .helpers_proc import CHATD, URL_RE, clean_env, run_sync


EXPECT_MS = 10_000
# Where the tests put their screenshots: a directory of their own, or the one CHATD_SCREENSHOTS
# names (docs/img, to refresh the documentation's pictures), so a test run leaves the checkout as it was.
IMG = Path(os.environ.get("CHATD_SCREENSHOTS") or tempfile.mkdtemp(prefix="chatd-screenshots-"))
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
expect.set_options(timeout=EXPECT_MS)


class Chatd:
    """`chatd serve` on a free loopback port with its own data directory; its stdout read by a thread.
    `prefix` runs it through another command (tests/netns.py: in a private network namespace)."""

    def __init__(self, data: Path, prefix: tuple[str, ...] = (), **env: str):
        self.data = data
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.log = open(data.parent / f"{data.name}.stderr", "wb")
        self.proc = subprocess.Popen([*prefix, *CHATD, "serve", "--listen", "127.0.0.1:0", "--data", str(data)], stdout=subprocess.PIPE, stderr=self.log, env=clean_env(**env), text=True)
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


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright, once per test session (its sync API runs one instance per thread)."""
    ensure("chromium", CHROMIUM)
    IMG.mkdir(parents=True, exist_ok=True)
    # Fonts for Chinese text and emoji, so that the screenshots in docs/img/ read as a person sees them.
    ensure("fonts-wqy-microhei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    ensure("fonts-noto-color-emoji", "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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


def text(body: str) -> dict[str, str]:
    return {"type": "text", "text": body}

"""1:1 calls in the web client, in real browsers (tests/browser.py): alice calls bob, who has two
tabs open; both ring, one answers, the other stops; the two pages' RTCPeerConnections connect and
the video plays; the end leaves the call's record in the DM of both. A call nobody answers is a
missed call; a declined one ends for both.

WebRTC needs network addresses to gather candidates, so chatd and Chromium both run in a
private network namespace with a veth pair (tests/netns.py), with Chromium's fake camera and
microphone. The page says where a call stands in its view's data-phase and data-pc attributes
(chatd/web/call_view.js); every wait is Playwright's, bounded by EXPECT_MS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser")

from .browser import CHROMIUM, CHROMIUM_ARGS, IMG, Chatd, add_users, expect, log_in, new_context, open_dm, send  # noqa: E402
from .netns import NetNs  # noqa: E402

pytest_plugins = ["tests.browser"]  # the fixture: playwright

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--disable-features=WebRtcHideLocalIpsWithMdns"]
RING_S = 30  # long enough for a test to answer; the missed call's test uses a short one


@pytest.fixture(scope="module")
def netns() -> Iterator[NetNs]:
    ns = NetNs()
    yield ns
    ns.close()


@pytest.fixture(scope="module")
def browser_in_ns(playwright: Any, netns: NetNs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    wrapper = netns.executable(CHROMIUM, tmp_path_factory.mktemp("netns"))
    b = playwright.chromium.launch(executable_path=wrapper, args=[*CHROMIUM_ARGS, *MEDIA_ARGS])
    yield b
    b.close()


class People:
    """alice's page, and bob's two tabs (one browser context: one login, two connections)."""

    def __init__(self, browser: Any, url: str, bob_locale: str = "en-US"):
        self.contexts = [new_context(browser, permissions=["microphone", "camera"], locale=locale) for locale in ("en-US", bob_locale)]
        self.pages: list[Any] = []
        self.url = url
        self.alice = self._page(0)
        log_in(self.alice, url, "alice")
        self.bob = self._page(1)
        log_in(self.bob, url, "bob")
        self.bob2 = self._page(1)
        self.bob2.goto(url + "/")  # the same stored token: a second device of bob
        expect(self.bob2.locator(".home h1")).to_be_visible()

    def _page(self, i: int) -> Any:
        page = self.contexts[i].new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda msg: "Content Security Policy" in msg.text and page.errors.append(msg.text))
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in self.pages:
            assert not page.errors, page.errors
        for ctx in self.contexts:
            ctx.close()


def serve(netns: NetNs, tmp_path: Path, ring_s: float) -> Chatd:
    add_users(tmp_path / "data", "alice", "bob", "carol")
    return Chatd(tmp_path / "data", prefix=netns.command(), CHATD_CALLS_RING_TIMEOUT_S=str(ring_s))


@pytest.fixture
def people(browser_in_ns: Any, netns: NetNs, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[People]:
    options = getattr(request, "param", {})
    server = serve(netns, tmp_path, options.get("ring_s", RING_S))
    folks = People(browser_in_ns, server.url, options.get("bob_locale", "en-US"))
    yield folks
    folks.close()
    server.stop()


def call_view(page: Any, phase: str | None = None, **attrs: str) -> Any:
    selector = ".call" + (f'[data-phase="{phase}"]' if phase else "") + "".join(f'[data-{k}="{v}"]' for k, v in attrs.items())
    return page.locator(selector)


def record(page: Any, reason: str) -> Any:
    return page.locator(f'.msg .call-record[data-reason="{reason}"]')


def test_a_video_call_rings_every_tab_connects_and_leaves_its_record(people: People) -> None:
    alice, bob, bob2 = people.alice, people.bob, people.bob2
    open_dm(alice, 2)
    send(alice, "Call you in a minute? 马上打给你")
    bob.locator('.entry[data-target="dm:1"] a').click()
    expect(bob.locator(".msg .text", has_text="马上打给你")).to_be_visible()

    alice.click(".conversation .call-video")
    expect(call_view(alice, "calling")).to_be_visible()
    for tab in (bob, bob2):  # every device of the callee rings
        expect(call_view(tab, "incoming").locator(".call-peer")).to_have_text("alice")
    expect(call_view(bob, "incoming").locator(".call-status")).to_have_text("Incoming video call")
    bob.screenshot(path=str(IMG / "web-call-incoming.png"))

    bob.click(".call-accept")
    expect(bob2.locator(".call")).to_have_count(0)  # answered on the other tab: this one stops ringing
    for page in (alice, bob):  # the two RTCPeerConnections connected, through the veth pair
        expect(call_view(page, "connected", pc="connected")).to_be_visible()
        # and the other side's (fake) camera plays
        page.wait_for_function("() => document.querySelector('.call video.remote')?.videoWidth > 0")
        expect(page.locator(".call .call-status")).to_have_text(re.compile(r"^0:\d\d$"))
    expect(alice.locator(".conversation .call-video")).to_be_disabled()  # one call at a time
    alice.screenshot(path=str(IMG / "web-call.png"))

    alice.click(".call-hangup")
    for page in (alice, bob):
        expect(call_view(page, "ended", reason="hangup")).to_be_visible()
        expect(record(page, "hangup")).to_have_text(re.compile(r"🎥 Video call, 0:\d\d$"))
    expect(bob2.locator(".call")).to_have_count(0)
    expect(bob2.locator('.entry[data-target="dm:1"] .preview')).to_have_text(re.compile(r"^Video call, 0:\d\d$"))
    alice.click(".call-close")
    expect(alice.locator(".call")).to_have_count(0)
    expect(alice.locator(".conversation .call-video")).to_be_enabled()


@pytest.mark.parametrize("people", [{"ring_s": 2}], indirect=True)  # calls ring for 2 s
def test_a_call_nobody_answers_is_a_missed_call(people: People) -> None:
    alice, bob, bob2 = people.alice, people.bob, people.bob2
    open_dm(alice, 2)
    alice.click(".conversation .call-audio")
    for tab in (bob, bob2):
        expect(call_view(tab, "incoming")).to_be_visible()
    expect(call_view(bob, "incoming").locator(".call-status")).to_have_text("Incoming voice call")
    for page in (alice, bob, bob2):  # ring_until passes: the ringing stops everywhere
        expect(call_view(page, "ended", reason="missed")).to_be_visible()
    expect(record(alice, "missed")).to_have_text("📞 Missed audio call")
    entry = bob.locator('.entry[data-target="dm:1"]')
    expect(entry.locator(".preview")).to_have_text("Missed audio call")
    expect(entry.locator(".unread")).to_have_text("1")  # a missed call shows as unread for the callee
    entry.locator("a").click()
    expect(record(bob, "missed")).to_have_class(re.compile(r"\bmissed\b"))


@pytest.mark.parametrize("people", [{"bob_locale": "zh-CN"}], indirect=True)  # bob reads Chinese
def test_a_declined_call_ends_for_both(people: People) -> None:
    alice, bob, bob2 = people.alice, people.bob, people.bob2
    open_dm(alice, 2)
    alice.click(".conversation .call-video")
    for tab in (bob, bob2):
        expect(call_view(tab, "incoming").locator(".call-status")).to_have_text("视频通话来电")
    bob3 = people._page(1)  # a tab opened while it rings finds the call (rtc_call_state) and rings too
    bob3.goto(people.url + "/")
    expect(call_view(bob3, "incoming")).to_be_visible()
    expect(bob2.locator(".call-reject")).to_have_text("拒绝")
    bob2.click(".call-reject")
    for page in (alice, bob, bob2, bob3):
        expect(call_view(page, "ended", reason="rejected")).to_be_visible()
    expect(alice.locator(".call .call-status")).to_have_text("Call ended: declined")
    expect(bob2.locator(".call .call-status")).to_have_text("通话已结束：已拒绝")
    expect(record(alice, "rejected")).to_have_text("🎥 Declined video call")
    expect(bob.locator('.entry[data-target="dm:1"] .preview')).to_have_text("已拒绝的视频通话")


def test_a_reconnect_mid_call_takes_its_place_again(people: People) -> None:
    """bob's connection drops during the call: alice sees him reconnecting; his page comes back on
    a new connection, takes its place in the call (rtc_call_state) and offers an ICE restart."""
    alice, bob = people.alice, people.bob
    open_dm(alice, 2)
    alice.click(".conversation .call-audio")
    expect(call_view(bob, "incoming")).to_be_visible()
    bob.click(".call-accept")
    for page in (alice, bob):
        expect(call_view(page, "connected", pc="connected")).to_be_visible()
    before = bob.evaluate("() => document.querySelector('.call').dataset.callId")

    people.contexts[1].set_offline(True)
    expect(call_view(alice, "reconnecting")).to_be_visible()
    people.contexts[1].set_offline(False)
    for page in (alice, bob):
        expect(call_view(page, "connected", pc="connected")).to_be_visible()
    assert bob.evaluate("() => document.querySelector('.call').dataset.callId") == before

    bob.click(".call-hangup")
    for page in (alice, bob):
        expect(call_view(page, "ended", reason="hangup")).to_be_visible()
    expect(record(alice, "hangup")).to_have_text(re.compile(r"📞 Audio call, 0:\d\d$"))


def test_a_page_reloaded_mid_call_rejoins_it(people: People) -> None:
    """bob reloads during a call: his new page finds the call (rtc_call_state), shows it with
    Rejoin, and rejoining makes a new peer connection that alice's page answers."""
    alice, bob = people.alice, people.bob
    open_dm(alice, 2)
    send(alice, "hello")  # the DM names alice in bob's list
    alice.click(".conversation .call-video")
    expect(call_view(bob, "incoming")).to_be_visible()
    bob.click(".call-accept")
    expect(call_view(alice, "connected", pc="connected")).to_be_visible()

    bob.reload()
    expect(call_view(alice, "reconnecting")).to_be_visible()
    expect(call_view(bob, "away").locator(".call-peer")).to_have_text("alice")
    bob.click(".call-rejoin")
    for page in (alice, bob):
        expect(call_view(page, "connected", pc="connected")).to_be_visible()
        page.wait_for_function("() => document.querySelector('.call video.remote')?.videoWidth > 0")
    expect(people.bob2.locator(".call")).to_have_count(0)

    alice.click(".call-hangup")
    expect(call_view(bob, "ended", reason="hangup")).to_be_visible()


def test_a_ring_cancelled_while_offline_stops_when_back(people: People) -> None:
    alice, bob, bob2 = people.alice, people.bob, people.bob2
    open_dm(alice, 2)
    alice.click(".conversation .call-audio")
    expect(call_view(bob, "incoming")).to_be_visible()
    people.contexts[1].set_offline(True)
    expect(bob.locator(".banner")).to_be_visible()  # bob's tabs lost their connections
    alice.click(".call-hangup")
    expect(call_view(alice, "ended", reason="cancelled")).to_be_visible()
    people.contexts[1].set_offline(False)
    for tab in (bob, bob2):  # back: the ring they missed the end of stops
        expect(call_view(tab, "ended")).to_be_visible()
    expect(record(alice, "cancelled")).to_have_text("📞 Cancelled audio call")

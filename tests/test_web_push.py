"""The web client's Web Push service worker (chatd/web/sw.js; docs/push.md) in a real browser
(tests/browser.py). The page registers it once notifications are allowed; Chromium here has no
push service (Playwright's contexts are incognito), so each push is handed to the worker through
the DevTools protocol (ServiceWorker.deliverPushMessage), as a push service would deliver it."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser")  # its asserts explain themselves, as the tests' do

from .browser import EXPECT_MS, Chatd, log_in, new_context  # noqa: E402

pytest_plugins = ["tests.browser"]  # the fixtures: browser, chatd

SHOWN = "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, target: n.data.target})))"


def test_the_service_worker_shows_pushes_and_clears_them_on_read(browser: Any, chatd: Chatd) -> None:
    ctx = new_context(browser, permissions=["notifications"])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    cdp = ctx.new_cdp_session(page)
    registrations: dict[str, str] = {}
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.update({r["scopeURL"]: r["registrationId"] for r in e["registrations"]}))
    cdp.send("ServiceWorker.enable")
    log_in(page, chatd.url, "bob")  # notifications are allowed: the page registers the worker
    page.wait_for_function("navigator.serviceWorker.getRegistration().then(r => !!(r && r.active))", timeout=EXPECT_MS)
    registration = registrations[chatd.url + "/"]

    def push(data: dict[str, Any]) -> None:
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": chatd.url, "registrationId": registration, "data": json.dumps(data)})

    def shown(count: int) -> list[dict[str, Any]]:
        page.wait_for_function(f"{SHOWN}.then(ns => ns.length === {count})", timeout=EXPECT_MS)
        return sorted(page.evaluate(SHOWN), key=lambda n: n["tag"])

    page.goto(chatd.url + "/api/v1/setup")  # the client's page is not open: the worker shows what comes
    push({"type": "message", "kind": "dm", "conv_id": 4, "msg_id": 9, "seq": 3, "sender_id": 1, "unread": 1, "mention": False})
    push({"type": "message", "kind": "group", "conv_id": 7, "msg_id": 10, "seq": 8, "sender_id": 1, "unread": 2, "mention": True,
          "sender_name": "alice", "text": "lunch at noon?"})  # fmt: skip
    assert shown(2) == [
        {"title": "chatd", "body": "New message", "tag": "conv4", "target": "dm:1"},  # ids only: no text to show
        {"title": "alice", "body": "lunch at noon?", "tag": "conv7", "target": "group:7"},  # with previews
    ]
    # Read on another device: that conversation's notification goes, the other stays (the page open or not).
    page.goto(chatd.url + "/")
    push({"type": "read", "kind": "dm", "conv_id": 4, "seq": 3, "unread": 0})
    assert shown(1) == [{"title": "alice", "body": "lunch at noon?", "tag": "conv7", "target": "group:7"}]
    assert not errors, errors
    ctx.close()

"""Regression tests for login throttling and the Origin check, over real sockets against the real server.

- Failed logins are counted per client address and per account; past a budget a login
  answers rate_limited with retry_after_ms before any password is hashed, on the
  WebSocket and on the HTTP login alike.
- One address cannot take the hashing slots from everyone else.
- A disabled account answers auth_failed, whatever the password.
- A WebSocket upgrade with a foreign Origin is refused with 403; the JSON HTTP
  endpoints refuse other content types with 415.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from urllib.parse import urlsplit

import pytest
import trio

from trio_websocket import open_websocket_url

from chatd.client import ClientError

from .bystander import watching
from .conftest import PASSWORD
from .test_http import Http, error_code, post_json, request

LOGIN = "/api/v1/auth/login"


def guard(harness):
    return harness.server.services.login_guard


async def ws_login_error(harness, username=None, password=None, **kw) -> ClientError:
    async with harness.client() as c:
        with pytest.raises(ClientError) as exc:
            await c.login(username, password, **kw)
        return exc.value


# -- budgets and back-off -------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"auth": {"account_failures": 3, "backoff_base_ms": 60_000}}])
async def test_account_budget_answers_rate_limited_before_hashing(harness, users):
    async with harness.client() as c:
        for _ in range(3):
            with pytest.raises(ClientError) as exc:
                await c.login("alice", "guess")
            assert exc.value.code == "auth_failed"
        hashed = guard(harness).hashes
        for password in ("another guess", PASSWORD):  # even the right password waits
            with pytest.raises(ClientError) as exc:
                await c.login("alice", password)
            assert exc.value.code == "rate_limited"
            assert 50_000 < exc.value.retry_after_ms <= 60_000
        assert guard(harness).hashes == hashed, "a refused login must not spend a password check"
        # The account is named in any case; the same address may still log in to others.
        with pytest.raises(ClientError) as exc:
            await c.login("ALICE", PASSWORD)
        assert exc.value.code == "rate_limited"
        await c.login("bob", PASSWORD)
    # The HTTP login shares the throttle.
    resp = await post_json(harness, LOGIN, {"username": "alice", "password": PASSWORD})
    assert resp.status == 429, resp
    assert error_code(resp) == "rate_limited"
    assert resp.json()["error"]["retry_after_ms"] > 50_000
    assert 50 <= int(resp.headers["retry-after"]) <= 60


@pytest.mark.parametrize("config_overrides", [{"auth": {"address_failures": 4, "backoff_base_ms": 60_000}}])
async def test_address_budget_covers_every_account_and_both_sides(harness, users):
    for name in ("nobody", "alice"):
        assert (await ws_login_error(harness, name, "guess")).code == "auth_failed"
    assert (await ws_login_error(harness, token="x" * 43)).code == "auth_failed"
    resp = await post_json(harness, LOGIN, {"username": "bob", "password": "guess"})
    assert resp.status == 401, resp
    hashed = guard(harness).hashes
    err = await ws_login_error(harness, "carol", PASSWORD)
    assert err.code == "rate_limited" and err.retry_after_ms > 50_000
    assert (await ws_login_error(harness, token="y" * 43)).code == "rate_limited"
    resp = await post_json(harness, LOGIN, {"username": "carol", "password": PASSWORD})
    assert resp.status == 429 and error_code(resp) == "rate_limited", resp
    assert guard(harness).hashes == hashed


@pytest.mark.parametrize("config_overrides", [{"auth": {"account_failures": 2, "backoff_base_ms": 300, "backoff_max_ms": 1000}}])
async def test_back_off_doubles_then_ends_and_success_clears_it(harness, users):
    async with harness.client() as c:
        waits = []
        for _ in range(3):
            for attempt in range(2 if not waits else 1):
                with pytest.raises(ClientError) as exc:
                    await c.login("alice", "guess")
                assert exc.value.code == "auth_failed"
            with pytest.raises(ClientError) as exc:
                await c.login("alice", "guess")
            assert exc.value.code == "rate_limited"
            waits.append(exc.value.retry_after_ms)
            await trio.sleep(exc.value.retry_after_ms / 1000 + 0.05)
        assert waits[0] <= 300 and 300 < waits[1] <= 600 and 600 < waits[2] <= 1000, waits
        await c.login("alice", PASSWORD)
    # The success forgot the account's failures: one more wrong guess does not block it.
    assert (await ws_login_error(harness, "alice", "guess")).code == "auth_failed"
    async with harness.client("alice"):
        pass


# -- hashing slots ------------------------------------------------------------------------------


async def _flood(harness, source: str, stop: trio.Event, answers: list[int]) -> None:
    url = urlsplit(harness.http_url)
    stream = await trio.open_tcp_stream(url.hostname, url.port, local_address=source)
    http = Http(stream, url.netloc)
    async with stream:
        while not stop.is_set():
            body = json.dumps({"username": "u" + os.urandom(4).hex(), "password": "guess"}).encode()
            resp = await http.request("POST", LOGIN, body, {"Content-Type": "application/json"})
            answers.append(resp.status)
            if resp.status == 429:
                await trio.sleep(0.01)


@pytest.mark.parametrize("config_overrides", [{"auth": {"address_failures": 100_000, "queue_per_address": 3}}])
async def test_a_flood_from_one_address_cannot_take_the_hashing_slots(harness, users):
    """8 connections from 127.0.0.2 guess passwords as fast as they can (never the same
    account twice, and with a budget too large to stop them); logins from 127.0.0.1 still
    get the next free hashing slot, since slots go to the addresses in turn."""
    stop = trio.Event()
    answers: list[int] = []
    peak = 0
    async with watching(harness, "8 connections guessing passwords"), trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(_flood, harness, "127.0.0.2", stop, answers)
        with trio.fail_after(60):
            while answers.count(401) < 5:
                await trio.sleep(0.02)
            for _ in range(5):  # bob's logins are served during the flood (how fast: bench, not a test)
                async with harness.client("bob") as c:
                    assert (await c.request("ping"))["pong"] is True
                peak = max(peak, guard(harness).lines.get("127.0.0.2", 0))
        stop.set()
    assert 401 in answers and 429 in answers, "the flood was answered, and its overflow refused at once"
    assert peak <= 3  # the flooding address never had more than its line's worth running or waiting


# -- disabled accounts ----------------------------------------------------------------------------


async def test_disabled_account_fails_like_a_wrong_password_on_the_websocket(harness, users):
    def op(ctx) -> None:
        ctx.conn.execute("UPDATE users SET disabled = 1 WHERE name = 'carol'")

    await harness.server.writer.submit(op)
    for password in (PASSWORD, "guess"):
        err = await ws_login_error(harness, "carol", password)
        assert err.code == "auth_failed" and err.error["message"] == "wrong username or password"


# -- logging ----------------------------------------------------------------------------------------


async def test_logins_are_logged_without_secrets(harness, users, caplog):
    caplog.set_level(logging.INFO, logger="chatd.auth")
    async with harness.client() as c:
        with pytest.raises(ClientError):
            await c.login("alice", "my-secret-guess", device="probe")
        out = await c.login("alice", PASSWORD, device="laptop")
    async with harness.client() as c:
        await c.login(token=out["token"], device="phone")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "chatd.auth")
    assert "login failed (wrong password): user='alice' address=127.0.0.1 device='probe' via=ws" in text
    assert "login: user='alice' by password address=127.0.0.1 device='laptop' via=ws" in text
    assert "login: user='alice' by token address=127.0.0.1 device='phone' via=ws" in text
    for secret in ("my-secret-guess", PASSWORD, out["token"]):
        assert secret not in text


# -- Origin -------------------------------------------------------------------------------------------


async def upgrade(harness, headers: dict[str, str]) -> int:
    """Send a WebSocket opening handshake for /ws and return the response's status code."""
    url = urlsplit(harness.url)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /ws HTTP/1.1", f"Host: {url.netloc}", "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with trio.fail_after(10):
        stream = await trio.open_tcp_stream(url.hostname, url.port)
        async with stream:
            await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = b""
            while b"\r\n" not in head:
                chunk = await stream.receive_some(4096)
                assert chunk, head
                head += chunk
    return int(head.split(b" ", 2)[1])


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://attacker.test:8443", "http://127.0.0.1:1"])
async def test_upgrade_with_a_foreign_origin_is_403(harness, origin):
    async with watching(harness, f"20 upgrades from Origin {origin}"):
        for _ in range(20):
            assert await upgrade(harness, {"Origin": origin}) == 403


async def test_upgrade_without_origin_or_from_the_same_host_is_accepted(harness):
    assert await upgrade(harness, {}) == 101
    assert await upgrade(harness, {"Origin": "http://" + urlsplit(harness.url).netloc}) == 101


@pytest.mark.parametrize("config_overrides", [{"server": {"allowed_origins": ["https://chat.example.com"]}}])
async def test_listed_origins_are_accepted(harness):
    assert await upgrade(harness, {"Origin": "https://chat.example.com"}) == 101
    assert await upgrade(harness, {"Origin": "https://chat.example.com:443"}) == 101
    assert await upgrade(harness, {"Origin": "http://chat.example.com"}) == 403
    assert await upgrade(harness, {"Origin": "http://evil.example"}) == 403


async def test_http_login_from_a_foreign_origin_is_403(harness, users):
    body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
    resp = await request(harness, "POST", LOGIN, body, {"Content-Type": "application/json", "Origin": "http://evil.example"})
    assert resp.status == 403 and error_code(resp) == "forbidden", resp
    assert "token" not in resp.body.decode()


# -- content types --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/plain", json.dumps({"username": "alice", "password": PASSWORD})),
        ("text/plain;charset=UTF-8", json.dumps({"username": "alice", "password": PASSWORD})),
        ("application/x-www-form-urlencoded", '{"username": "alice", "password": "' + PASSWORD + '", "x": "="}'),
        ("multipart/form-data; boundary=xyz", json.dumps({"username": "alice", "password": PASSWORD})),
        (None, json.dumps({"username": "alice", "password": PASSWORD})),
    ],
)
async def test_http_login_takes_only_json(harness, users, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await request(harness, "POST", LOGIN, body.encode(), headers)
    assert resp.status == 415, resp
    assert error_code(resp) == "bad_request"
    assert "token" not in resp.body.decode()


async def test_http_login_takes_json_with_a_charset(harness, users):
    body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
    resp = await request(harness, "POST", LOGIN, body, {"Content-Type": "Application/JSON; charset=utf-8"})
    assert resp.status == 200 and resp.json()["token"], resp


# -- behind a trusted reverse proxy --------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"server": {"trusted_proxies": ["127.0.0.1"]}, "auth": {"address_failures": 2, "backoff_base_ms": 60_000}}])
async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(harness, users, caplog):
    caplog.set_level(logging.INFO, logger="chatd.auth")

    async def login(password: str, client: str) -> int:
        body = json.dumps({"username": "bob", "password": password}).encode()
        resp = await request(harness, "POST", LOGIN, body, {"Content-Type": "application/json", "X-Forwarded-For": client})
        return resp.status

    assert [await login("guess", "203.0.113.5") for _ in range(3)] == [401, 401, 429]
    assert await login(PASSWORD, "203.0.113.5") == 429
    assert await login(PASSWORD, "203.0.113.6") == 200
    # The WebSocket side reads the header from the upgrade request.
    async with open_websocket_url(harness.url, extra_headers=[(b"X-Forwarded-For", b"198.51.100.7")]) as ws:
        await ws.send_message(json.dumps({"cmd": "login", "id": "1", "data": {"username": "bob", "password": "guess"}}))
        answer = json.loads(await ws.get_message())
        assert answer["error"]["code"] == "auth_failed", answer
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "chatd.auth")
    assert "address=198.51.100.7 " in text and "via=ws" in text


@pytest.mark.parametrize("config_overrides", [{"auth": {"address_failures": 2, "backoff_base_ms": 60_000}}])
async def test_without_trusted_proxies_forwarded_for_is_ignored(harness, users):
    for i, want in enumerate((401, 401, 429)):
        body = json.dumps({"username": "bob", "password": "guess"}).encode()
        resp = await request(harness, "POST", LOGIN, body, {"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{i}"})
        assert resp.status == want, resp

"""The HTTP side, on the WebSocket's address: health, the REST login, errors, keep-alive.

Requests are plain HTTP/1.1 written to a loopback TCP socket, so what is tested
is exactly what goes over the wire.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

from chatd.client import ClientError

from .conftest import PASSWORD


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.headers} {self.body[:200]!r}>"


class Http:
    """One HTTP/1.1 connection: write requests, read responses (Content-Length or chunked bodies)."""

    def __init__(self, stream: trio.SocketStream, host: str):
        self.stream = stream
        self.host = host
        self.buf = b""

    @staticmethod
    def request_bytes(method: str, path: str, host: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    async def send(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> None:
        await self.stream.send_all(self.request_bytes(method, path, self.host, body, headers))

    async def _fill(self) -> None:
        chunk = await self.stream.receive_some(65536)
        if not chunk:
            raise EOFError(f"the server closed the connection; had {self.buf!r}")
        self.buf += chunk

    async def _take_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            await self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    async def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    async def response(self) -> Response:
        status_line = await self._take_line()
        version, status, _ = status_line.decode().split(" ", 2)
        assert version == "HTTP/1.1", status_line
        headers: dict[str, str] = {}
        while line := await self._take_line():
            k, _, v = line.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            body = await self._take(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self._take_line()).split(b";")[0], 16):
                parts.append(await self._take(size))
                await self._take_line()
            await self._take_line()
            body = b"".join(parts)
        else:
            body = b""
        return Response(int(status), headers, body)

    async def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
        await self.send(method, path, body, headers)
        return await self.response()


async def open_http(harness) -> Http:
    url = urlsplit(harness.http_url)
    stream = await trio.open_tcp_stream(url.hostname, url.port)
    return Http(stream, url.netloc)


async def request(harness, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
    """One request on its own connection."""
    with trio.fail_after(10):
        http = await open_http(harness)
        async with http.stream:
            return await http.request(method, path, body, headers)


async def post_json(harness, path: str, value: Any) -> Response:
    return await request(harness, "POST", path, json.dumps(value).encode(), {"Content-Type": "application/json"})


def error_code(resp: Response) -> str:
    assert resp.headers.get("content-type", "").startswith("application/json"), resp
    body = resp.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str), body
    return body["error"]["code"]


# -- routes -------------------------------------------------------------------------------


async def test_healthz(harness):
    resp = await request(harness, "GET", "/healthz")
    assert resp.status == 200, resp
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["status"] == "ok"
    assert isinstance(body.get("version"), str) and body["version"]


async def test_healthz_with_a_standard_client(harness):
    def get() -> tuple[int, Any]:
        with urllib.request.urlopen(harness.http_url + "/healthz", timeout=10) as resp:
            return resp.status, json.loads(resp.read())

    with trio.fail_after(15):
        status, body = await trio.to_thread.run_sync(get)
    assert status == 200 and body["status"] == "ok"


async def test_login_issues_a_token_that_logs_in_on_the_websocket(harness, users):
    resp = await post_json(harness, "/api/v1/auth/login", {"username": "bob", "password": PASSWORD, "device": "script"})
    assert resp.status == 200, resp
    body = resp.json()
    assert body["user"] == {"id": users["bob"], "name": "bob", "display_name": "bob", "is_admin": False}
    token = body["token"]
    assert isinstance(token, str) and len(token) >= 20
    async with harness.client() as c:
        out = await c.login(token=token)
        assert out["user"]["id"] == users["bob"]
        assert (await c.request("ping"))["pong"] is True
    # Each password login issues a new token.
    again = await post_json(harness, "/api/v1/auth/login", {"username": "bob", "password": PASSWORD})
    assert again.status == 200 and again.json()["token"] != token


async def test_login_with_a_standard_client(harness, users):
    def post() -> tuple[int, Any]:
        req = urllib.request.Request(
            harness.http_url + "/api/v1/auth/login",
            data=json.dumps({"username": "alice", "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())

    with trio.fail_after(15):
        status, body = await trio.to_thread.run_sync(post)
    assert status == 200 and body["user"]["is_admin"] is True and body["token"]


@pytest.mark.parametrize("username, password", [("alice", "not the password"), ("nobody", PASSWORD), ("ALICE", "")])
async def test_login_with_wrong_credentials_is_401(harness, users, username, password):
    resp = await post_json(harness, "/api/v1/auth/login", {"username": username, "password": password})
    assert resp.status == 401, resp
    assert error_code(resp) == "auth_failed"


async def _disable(harness, name: str) -> None:
    def op(ctx: Any) -> None:
        ctx.conn.execute("UPDATE users SET disabled = 1 WHERE name = ?", (name,))

    await harness.server.writer.submit(op)


async def test_login_of_a_disabled_user_fails_like_a_wrong_password(harness, users):
    """By default a disabled account answers auth_failed whatever the password, so a failed
    login never tells an attacker that the password was right."""
    await _disable(harness, "carol")
    for password in (PASSWORD, "not the password"):
        resp = await post_json(harness, "/api/v1/auth/login", {"username": "carol", "password": password})
        assert resp.status == 401, resp
        assert error_code(resp) == "auth_failed"


@pytest.mark.parametrize("config_overrides", [{"auth": {"reveal_disabled": True}}])
async def test_login_of_a_disabled_user_says_so_when_configured(harness, users):
    await _disable(harness, "carol")
    resp = await post_json(harness, "/api/v1/auth/login", {"username": "carol", "password": PASSWORD})
    assert resp.status == 403, resp
    assert error_code(resp) == "user_disabled"
    # Only to the right password.
    resp = await post_json(harness, "/api/v1/auth/login", {"username": "carol", "password": "not the password"})
    assert resp.status == 401 and error_code(resp) == "auth_failed", resp


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"username": "alice", "password": ', b"\xff\xfe"])
async def test_login_with_malformed_json_is_400(harness, users, body):
    resp = await request(harness, "POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
    assert resp.status == 400, resp
    assert error_code(resp) in {"bad_request", "bad_frame"}


@pytest.mark.parametrize(
    "value",
    [{"username": "alice"}, {"password": PASSWORD}, {}, {"username": 5, "password": PASSWORD}, ["alice", PASSWORD]],
)
async def test_login_with_a_missing_or_mistyped_field_is_400(harness, users, value):
    resp = await post_json(harness, "/api/v1/auth/login", value)
    assert resp.status == 400, resp
    assert error_code(resp) == "bad_request"


async def test_login_body_over_the_limit_is_413(harness, users):
    value = {"username": "alice", "password": PASSWORD, "device": "x" * 70_000}
    resp = await post_json(harness, "/api/v1/auth/login", value)
    assert resp.status == 413, resp
    assert error_code(resp) == "too_large"


async def test_unknown_path_is_404(harness):
    for method, path in (("GET", "/nothing-here"), ("POST", "/api/v1/nothing"), ("GET", "/healthz/extra")):
        resp = await request(harness, method, path)
        assert resp.status == 404, (method, path, resp)
        assert error_code(resp) == "not_found"


async def test_wrong_method_is_405(harness):
    resp = await request(harness, "GET", "/api/v1/auth/login")
    assert resp.status == 405, resp


async def test_ws_without_upgrade_is_426(harness):
    resp = await request(harness, "GET", "/ws")
    assert resp.status == 426, resp
    error_code(resp)


# -- the connection ---------------------------------------------------------------------------


async def test_two_requests_on_one_kept_alive_connection(harness, users):
    with trio.fail_after(10):
        http = await open_http(harness)
        async with http.stream:
            first = await http.request("GET", "/healthz")
            assert first.status == 200 and first.json()["status"] == "ok"
            body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
            second = await http.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
            assert second.status == 200, second
            assert second.json()["user"]["name"] == "alice"
            third = await http.request("GET", "/nothing-here")
            assert third.status == 404


async def test_pipelined_requests_are_answered_in_order(harness):
    with trio.fail_after(10):
        http = await open_http(harness)
        async with http.stream:
            both = Http.request_bytes("GET", "/healthz", http.host) + Http.request_bytes("GET", "/nothing-here", http.host)
            await http.stream.send_all(both)
            first = await http.response()
            second = await http.response()
    assert first.status == 200 and second.status == 404


async def test_http_and_websocket_share_the_address(harness, users):
    assert urlsplit(harness.http_url).netloc == urlsplit(harness.url).netloc
    async with harness.client("alice") as c:
        resp = await request(harness, "GET", "/healthz")
        assert resp.status == 200
        assert (await c.request("ping"))["pong"] is True


async def test_websocket_login_with_a_bad_token_still_fails(harness, users):
    async with harness.client() as c:
        with pytest.raises(ClientError) as exc:
            await c.login(token="x" * 43)
        assert exc.value.code == "auth_failed"


async def test_standard_client_sees_error_statuses(harness):
    def get(path: str) -> int:
        try:
            with urllib.request.urlopen(harness.http_url + path, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            err.read()
            return err.code

    with trio.fail_after(15):
        assert await trio.to_thread.run_sync(get, "/missing") == 404
        assert await trio.to_thread.run_sync(get, "/ws") == 426

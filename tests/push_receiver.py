"""A push service and a push gateway for the tests, on 127.0.0.1: a small HTTP/1.1 server that
records every request and answers what the test scripted for its path (201 when nothing is),
and the browser's side of a Web Push subscription: its keys, the VAPID check and aes128gcm
decryption (http_ece)."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any

import http_ece
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Got:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hold: trio.Event | None = None  # answer only once it is set


class Subscription:
    """A browser's push subscription: the keys it gives the server, and what it can read."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._auth = os.urandom(16)
        raw = self._key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.register = {"kind": "webpush", "endpoint": endpoint, "p256dh": b64url(raw), "auth": b64url(self._auth)}

    def read(self, got: Got, vapid_public_key: str) -> dict[str, Any]:
        """Check the request as a push service and a browser would, and decrypt its payload."""
        check_vapid(got, vapid_public_key)
        assert got.headers["content-encoding"] == "aes128gcm"
        plain = http_ece.decrypt(got.body, private_key=self._key, auth_secret=self._auth, version="aes128gcm")
        return json.loads(plain)  # type: ignore[no-any-return]


def check_vapid(got: Got, vapid_public_key: str) -> dict[str, Any]:
    """RFC 8292: `vapid t=<JWT>,k=<key>`, the key the server gave at login, the signature valid,
    the audience this origin. Returns the JWT's claims."""
    auth = got.headers["authorization"]
    assert Vapid02.verify(auth), "the VAPID signature does not verify"
    parts = dict(p.split("=", 1) for p in auth.split(" ", 1)[1].split(","))
    assert parts["k"] == vapid_public_key
    claims = json.loads(unb64url(parts["t"].split(".")[1]))
    assert claims["aud"] == f"http://{got.headers['host']}"
    assert claims["sub"].startswith("mailto:")
    return claims  # type: ignore[no-any-return]


class Receiver:
    def __init__(self) -> None:
        self.script: dict[str, list[Answer]] = {}
        self._in, self._got = trio.open_memory_channel[Got](1000)
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *answers: Answer) -> None:
        self.script.setdefault(path, []).extend(answers)

    async def next(self) -> Got:
        with trio.fail_after(20):
            return await self._got.receive()

    def nothing_waiting(self) -> bool:
        return self._got.statistics().current_buffer_used == 0

    async def start(self, nursery: trio.Nursery) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        nursery.start_soon(trio.serve_listeners, self._serve, listeners)

    async def _serve(self, stream: trio.SocketStream) -> None:
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
                size = int(headers.get("content-length", "0"))
                while len(buf) < size:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:size], buf[size:]
                queued = self.script.get(path)
                answer = queued.pop(0) if queued else Answer()
                self._in.send_nowait(Got(method, path, headers, body))
                if answer.hold is not None:
                    await answer.hold.wait()
                extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
                await stream.send_all(f"HTTP/1.1 {answer.status} X\r\nContent-Length: {len(answer.body)}\r\n{extra}\r\n".encode() + answer.body)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

"""The push worker: a process of its own that sends the server's pushes (docs/push.md).

Each push is encrypted for its own subscription and is one HTTP request; together that is about
2 ms of CPU, which on the server's event loop would hold up the deliveries of the next message.
Here it runs beside the server, at a lower CPU priority (nice 10), so the message path wins a
busy machine's cores. The server (chatd.push.sender) starts it on the first push and
talks to it over its standard input and output, one JSON object per line:

- the first line: `Setup` (the VAPID key, the deadlines, whether private endpoints are allowed);
- then one `Job` per push; the worker answers each with an `Outcome` carrying its id, in the
  order the answers come. It tries each push once: retries, back-off, the circuit breakers and
  deleting a gone subscription stay the server's.

It ends when its standard input closes (the server stopped, or died); it ignores SIGINT and
SIGTERM, which a terminal's Ctrl-C and systemd send to the server's whole process group.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import httpx
import msgspec
import trio

from ..errors import ChatError
from . import webpush

MAX_CLIENTS = 64  # HTTP clients kept, one per push service or gateway host name
MAX_LINE = 1 << 20


class Setup(msgspec.Struct, frozen=True):
    vapid_pem: str
    vapid_subject: str
    request_timeout_s: float
    connect_timeout_s: float
    concurrency: int
    allow_private: bool


class Job(msgspec.Struct, frozen=True):
    id: int
    device: dict[str, Any]  # the device's row: kind, endpoint, keys or pushkey
    data: dict[str, Any]  # what the notification says
    urgency: str
    ttl_s: int
    topic: str


class Outcome(msgspec.Struct, frozen=True):
    id: int
    status: int | None = None  # the HTTP status; None: no answer
    retry_after: str | None = None  # the answer's Retry-After header
    rejected: bool = False  # a gateway answered that the device's pushkey is rejected
    error: str = ""  # why there was no answer (an exception's name)


class Lines:
    """The lines of a byte stream, each at most MAX_LINE bytes."""

    def __init__(self, stream: trio.abc.ReceiveStream):
        self._stream = stream
        self._buffer = bytearray()

    def __aiter__(self) -> Lines:
        return self

    async def __anext__(self) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_LINE:
                raise ValueError("a line longer than MAX_LINE")
            chunk = await self._stream.receive_some(65536)
            if not chunk:
                raise StopAsyncIteration
            self._buffer += chunk


def request(vapid: webpush.Vapid, job: Job) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one push: a gateway's JSON, or an encrypted Web Push message."""
    device = job.device
    if device["kind"] == "gateway":
        return gateway_body(job), {"Content-Type": "application/json"}
    payload = json.dumps(job.data, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "TTL": str(job.ttl_s),
        "Urgency": job.urgency,
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "Authorization": vapid.authorization(device["endpoint"]),
    }
    if job.topic:
        headers["Topic"] = job.topic
    return webpush.encrypt(payload, device["p256dh"], device["auth"]), headers


def gateway_body(job: Job) -> bytes:
    """A push gateway's notification, in the shape of the Matrix push gateway API
    (`POST /_matrix/push/v1/notify`), so Sygnal-style gateways work."""
    device, data = job.device, job.data
    note: dict[str, Any] = {"type": f"chatd.{data['type']}", "prio": "high" if job.urgency == "high" else "low"}
    if "msg_id" in data or "call_id" in data:
        note["event_id"] = str(data.get("msg_id") or data.get("call_id"))
    if data.get("conv_id"):
        note["room_id"] = str(data["conv_id"])
    if data.get("sender_id"):
        note["sender"] = str(data["sender_id"])
    if "unread" in data:
        note["counts"] = {"unread": data["unread"]}
    if "text" in data:
        note["sender_display_name"] = data["sender_name"]
        note["content"] = {"body": data["text"]}
    ids_only = data if "text" not in data else {k: v for k, v in data.items() if k not in ("text", "sender_name")}
    note["devices"] = [{"app_id": device["app_id"], "pushkey": device["pushkey"], "pushkey_ts": device["created_at"] // 1000, "data": {"chatd": ids_only}}]
    return json.dumps({"notification": note}, separators=(",", ":"), ensure_ascii=False).encode()


class Worker:
    def __init__(self, setup: Setup, nursery: trio.Nursery):
        self.setup = setup
        self.vapid = webpush.Vapid(setup.vapid_pem, setup.vapid_subject)
        self._nursery = nursery
        self._clients: dict[str, httpx.AsyncClient] = {}  # per host name, the most recently used last

    def _client(self, server_name: str) -> httpx.AsyncClient:
        """The HTTP client of one host name. Requests go to the checked address (the URL's host
        is an IP address), so a client's connections are pooled by address: one client per name
        keeps a connection whose TLS was verified for one name from carrying another's."""
        clients = self._clients
        client = clients.pop(server_name, None)
        if client is None:
            timeout = httpx.Timeout(self.setup.request_timeout_s, connect=self.setup.connect_timeout_s)
            limits = httpx.Limits(max_connections=self.setup.concurrency)
            client = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False, trust_env=False)
            if len(clients) >= MAX_CLIENTS:
                self._nursery.start_soon(clients.pop(next(iter(clients))).aclose)
        clients[server_name] = client  # the newest last
        return client

    async def send(self, job: Job) -> Outcome:
        setup = self.setup
        try:
            target = await webpush.resolve(job.device["endpoint"], setup.allow_private, setup.connect_timeout_s)
            body, headers = request(self.vapid, job)
            headers["Host"] = target.host
            with trio.fail_after(setup.connect_timeout_s + setup.request_timeout_s):
                answer = await self._client(target.server_name).post(target.url, content=body, headers=headers, extensions={"sni_hostname": target.server_name})
        except (ChatError, httpx.HTTPError, trio.TooSlowError, OSError) as exc:
            return Outcome(job.id, error=type(exc).__name__)
        rejected = False
        if job.device["kind"] == "gateway" and 200 <= answer.status_code < 300:
            try:
                rejected = job.device["pushkey"] in answer.json().get("rejected", [])
            except (ValueError, AttributeError):
                pass
        return Outcome(job.id, answer.status_code, answer.headers.get("Retry-After"), rejected)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


async def serve(stdin: trio.abc.ReceiveStream, stdout: trio.abc.SendStream) -> None:
    """Read the setup and the jobs from `stdin` and write each job's outcome to `stdout`, until
    `stdin` ends."""
    lines = Lines(stdin)
    setup = msgspec.json.decode(await lines.__anext__(), type=Setup)
    jobs = msgspec.json.Decoder(Job)
    encode = msgspec.json.Encoder().encode
    outcomes_in, outcomes = trio.open_memory_channel[Outcome](setup.concurrency * 4)

    async def one(job: Job) -> None:
        try:
            outcome = await worker.send(job)
        except Exception as exc:  # noqa: BLE001 - one push's bug must not stop the others
            print(f"chatd push worker: job {job.id}: {exc!r}", file=sys.stderr)
            outcome = Outcome(job.id, error=type(exc).__name__)
        await outcomes_in.send(outcome)

    async def write() -> None:
        async for outcome in outcomes:
            await stdout.send_all(encode(outcome) + b"\n")

    async with trio.open_nursery() as nursery:
        worker = Worker(setup, nursery)
        nursery.start_soon(write)
        try:
            async for line in lines:
                nursery.start_soon(one, jobs.decode(line))
        finally:
            with trio.CancelScope(shield=True):
                await worker.aclose()
            nursery.cancel_scope.cancel()  # the server is gone: nobody reads what is left


def main() -> None:
    # Ctrl-C in a terminal and systemd's SIGTERM reach the whole process group: the worker ends
    # when the server closes its input, after the server has stopped sending.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.nice(10)
    except OSError:
        pass
    trio.run(serve, trio.lowlevel.FdStream(os.dup(0)), trio.lowlevel.FdStream(os.dup(1)))

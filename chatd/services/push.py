"""Push delivery: notifications to the devices of users who are offline (docs/push.md).

The delivery pipeline hands every committed `Notify` effect to `offer`, which never waits: it
drops what the bounded queue (`push.queue_size`) cannot take, and says so in the log. One task
plans each notification (who is offline, their settings, mutes and devices: one read) and
feeds a bounded job queue; `push.concurrency` tasks hand the jobs to the push worker, a process
of its own that encrypts, signs and sends each one over HTTP with its deadline
(chatd.push.worker), and act on its outcome:

- 2xx: delivered (a gateway's `rejected` pushkeys are deleted);
- 404, 410: the subscription is gone: deleted;
- 413: sent again with the ids-only payload (if a preview made it bigger);
- 429, 5xx, no answer: retried after a jittered, doubling back-off that honours Retry-After,
  up to `push.max_attempts` tries; then, and on any other answer, a failure is counted;
- `push.breaker_failures` failures in a row open the endpoint's circuit for
  `push.breaker_open_s` seconds: its notifications are dropped meanwhile.

Logs name a device by its id and never show an endpoint, a key or a token.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

from ..core.effects import Notify
from ..policy import push as policy
from ..protocol.content import loads, preview_text
from ..store import push as store
from ..store import users as users_store
from ..store.db import now_ms
from ..push import webpush
from ..push.sender import PushSender
from ..push.worker import Setup

if TYPE_CHECKING:
    from ..config import PushConfig
    from ..net.hub import Hub
    from ..store.readers import Readers
    from ..store.writer import Writer
    from .members import MemberCache

log = logging.getLogger("chatd.push")

PLAN_CHUNK = 100  # recipients planned per read: the read's Python work holds the interpreter, which the event loop shares
MAX_PENDING = 100_000  # (user, conversation) pairs notified and not read yet, kept for clear-on-read


class Job(NamedTuple):
    device: dict[str, Any]
    data: dict[str, Any]  # what the notification says, ids only
    preview: dict[str, Any] | None  # data with the preview (users who want previews)
    urgency: str
    ttl_s: int
    topic: str
    attempt: int = 1


class Clock:
    """What the push service reads of the wall clock (Retry-After dates) and how it waits before
    a retry: the real ones. A test gives its own, to see each wait the service asks for and end
    it when the test chooses (tests/push_scene.py)."""

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)


class PushService:
    def __init__(self, cfg: PushConfig, hub: Hub, readers: Readers, writer: Writer, members: MemberCache):
        self.counted: Callable[[str, str], None] = lambda kind, result: None  # (device kind, result): /metrics (chatd.server)
        self.clock = Clock()
        self.cfg = cfg
        self.hub = hub
        self.readers = readers
        self.writer = writer
        self.members = members
        self._notes_in, self._notes = trio.open_memory_channel[Notify](cfg.queue_size)
        self._jobs_in, self._jobs = trio.open_memory_channel[Job](cfg.queue_size)
        self.vapid: webpush.Vapid | None = None
        self.subscribed: set[int] = set()  # users with a device (a superset: deletions are not followed)
        self._pending: dict[tuple[int, int], None] = {}
        self._breakers: dict[int, tuple[int, float]] = {}  # device id -> (failures in a row, open until)
        self._retrying = 0
        self._nursery: trio.Nursery | None = None
        self.sender: PushSender | None = None  # the push worker process, from the server's side
        self.dropped = 0

    @property
    def public_key(self) -> str:
        """The VAPID public key for clients ('' while push is off)."""
        return self.vapid.public_key if self.vapid is not None and self.cfg.enabled else ""

    # -- from the delivery pipeline (never waits) ----------------------------------------------

    def offer(self, note: Notify) -> None:
        if not self.cfg.enabled or self.vapid is None or not self.subscribed:
            return  # (a server where nobody registered a device pays one test per message)
        if note.event == "read":
            if (note.to[0], note.conv_id) not in self._pending:
                return  # nothing of it was pushed: nothing to clear
        elif note.to and not any(uid in self.subscribed for uid in note.to):
            return
        try:
            self._notes_in.send_nowait(note)
        except trio.WouldBlock:
            self._drop("the notification queue is full (push.queue_size)")

    def registered(self, user_id: int) -> None:
        self.subscribed.add(user_id)
        if self.sender is not None and self.cfg.enabled:
            self.sender.start_soon()  # before its first push: a call's must not wait for it

    def _drop(self, why: str) -> None:
        self.dropped += 1
        if self.dropped & (self.dropped - 1) == 0:  # 1, 2, 4, 8...: the log is not flooded
            log.warning("push dropped (%d so far): %s", self.dropped, why)

    # -- the task ----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        cfg = self.cfg
        pem = await self.writer.submit(store.op_vapid_key, webpush.new_vapid_pem())
        self.vapid = webpush.Vapid(pem, cfg.vapid_subject)
        self.subscribed = await self.readers.read(store.users_with_devices)
        setup = Setup(pem, cfg.vapid_subject, cfg.request_timeout_s, cfg.connect_timeout_s, cfg.concurrency, cfg.allow_private_endpoints)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.sender = PushSender(setup, nursery)
                if self.subscribed and cfg.enabled:
                    self.sender.start_soon()
                for _ in range(self.cfg.concurrency):
                    nursery.start_soon(self._work)
                task_status.started()
                async for note in self._notes:
                    try:
                        await self._plan(note)
                    except Exception:  # noqa: BLE001 - one notification's bug must not stop the others
                        log.exception("planning a %s push failed", note.event)
        finally:
            if self.sender is not None:
                with trio.CancelScope(shield=True):
                    await self.sender.aclose()

    def _live(self, user_id: int) -> bool:
        if user_id in self.hub.elsewhere:  # connected to another node (whose idle time is not known here)
            return True
        sessions = self.hub.by_user.get(user_id)
        if not sessions:
            return False
        if self.cfg.idle_after_s <= 0:
            return True
        cutoff = time.monotonic() - self.cfg.idle_after_s
        return any(s.last_frame >= cutoff for s in sessions)

    async def _plan(self, note: Notify) -> None:
        now = now_ms()
        if note.event == "read":
            key = (note.to[0], note.conv_id)
            if key not in self._pending:
                return  # cleared already
            del self._pending[key]
            users = list(note.to)
        else:
            users = list(note.to) if note.to else list(await self.members.get(note.conv_id))
            users = [u for u in users if u != note.sender_id and u in self.subscribed and not self._live(u)]
        sender_name: list[str] = []
        for start in range(0, len(users), PLAN_CHUNK):
            entries = await self.readers.read(store.targets, users[start : start + PLAN_CHUNK], note.conv_id, now, self.cfg.previews)
            await self._plan_for(note, entries, now, sender_name)

    async def _plan_for(self, note: Notify, entries: list[dict[str, Any]], now: int, sender_name: list[str]) -> None:
        for entry in entries:
            uid = entry["user_id"]
            mentioned = note.event == "message" and (uid in note.mentions or 0 in note.mentions)
            settings = policy.Settings(entry["dnd"], entry["groups"])
            if not policy.notifies(note.event, note.kind, settings, entry["muted"], mentioned):
                continue
            ttl = policy.ttl_s(note.event, now, note.until)
            if ttl <= 0:
                continue  # a call that no longer rings
            data = self._data(note, entry["unread"], mentioned)
            preview = None
            if note.event == "message":
                if entry["previews"]:
                    if not sender_name:
                        found = await self.readers.read(users_store.get_users, [note.sender_id])
                        sender_name.append(found[note.sender_id]["display_name"] if note.sender_id in found else "")
                    preview = {**data, "sender_name": sender_name[0], "text": _preview(note.content)}
                self._remember(uid, note.conv_id)
            topic = policy.topic(note.conv_id) if note.conv_id else ""
            urgency = policy.urgency(note.event, note.kind, mentioned)
            for device in entry["devices"]:
                await self._jobs_in.send(Job(device, data, preview, urgency, ttl, topic))

    @staticmethod
    def _data(note: Notify, unread: int, mentioned: bool) -> dict[str, Any]:
        if note.event == "message":
            return {"type": "message", "kind": note.kind, "conv_id": note.conv_id, "msg_id": note.ref_id, "seq": note.seq,
                    "sender_id": note.sender_id, "unread": unread, "mention": mentioned}  # fmt: skip
        if note.event == "read":
            return {"type": "read", "kind": note.kind, "conv_id": note.conv_id, "seq": note.seq, "unread": unread}
        if note.event == "call":
            return {"type": "call", "call_id": note.ref_id, "sender_id": note.sender_id, "ring_until": note.until}
        return {"type": note.event, "sender_id": note.sender_id}

    def _remember(self, user_id: int, conv_id: int) -> None:
        pending = self._pending
        pending.pop((user_id, conv_id), None)
        pending[(user_id, conv_id)] = None
        if len(pending) > MAX_PENDING:
            del pending[next(iter(pending))]  # the oldest

    # -- delivery ----------------------------------------------------------------------------

    async def _work(self) -> None:
        async for job in self._jobs:
            try:
                await self._deliver(job)
            except Exception:  # noqa: BLE001 - one delivery's bug must not stop the others
                log.exception("push to device %s failed", job.device["id"])

    async def _deliver(self, job: Job, minimal: bool = False) -> None:
        device, cfg = job.device, self.cfg
        failures, open_until = self._breakers.get(device["id"], (0, 0.0))
        if open_until > trio.current_time():
            self._drop(f"device {device['id']}'s circuit is open after {failures} failures")
            return
        assert self.sender is not None
        data = job.data if minimal or job.preview is None else job.preview
        outcome = await self.sender.send(device, data, job.urgency, job.ttl_s, job.topic)
        status = outcome.status
        if status is None:
            log.info("push to device %s: no answer (%s)", device["id"], outcome.error)
        if status is not None and 200 <= status < 300:
            self._breakers.pop(device["id"], None)
            self.counted(device["kind"], "delivered")
            await self._delivered(job, outcome.rejected)
        elif status in (404, 410):
            log.info("push to device %s: %s, the subscription is gone: deleted", device["id"], status)
            self.counted(device["kind"], "gone")
            await self.writer.submit(store.op_gone, [device["id"]])
        elif status == 413 and not minimal and job.preview is not None:
            await self._deliver(job, minimal=True)
        elif (status is None or status == 429 or status >= 500) and job.attempt < cfg.max_attempts:
            retry_after = policy.retry_after_s(outcome.retry_after, self.clock.time())
            wait = policy.backoff_s(job.attempt, cfg.retry_base_s, cfg.retry_max_s, retry_after, random.random())
            self.counted(device["kind"], "retried")
            self._retry(job._replace(attempt=job.attempt + 1), wait)
        else:
            log.info("push to device %s failed (%s) after %d tries", device["id"], status, job.attempt)
            self.counted(device["kind"], "failed")
            failures += 1
            self._breakers[device["id"]] = (failures, trio.current_time() + cfg.breaker_open_s if failures >= cfg.breaker_failures else 0.0)
            await self.writer.submit(store.op_failed, device["id"])

    async def _delivered(self, job: Job, rejected: bool) -> None:
        device = job.device
        if rejected:
            log.info("push to device %s: the gateway rejected its pushkey: deleted", device["id"])
            await self.writer.submit(store.op_gone, [device["id"]])
            return
        if device["failures"] or now_ms() - device["last_success"] > 3_600_000:  # not a write per push
            device["failures"], device["last_success"] = 0, now_ms()
            await self.writer.submit(store.op_delivered, device["id"])

    def _retry(self, job: Job, wait: float) -> None:
        if self._retrying >= self.cfg.queue_size or self._nursery is None:
            self._drop("too many retries waiting (push.queue_size)")
            return
        self._retrying += 1

        async def later() -> None:
            try:
                await self.clock.sleep(wait)
                await self._jobs_in.send(job)
            finally:
                self._retrying -= 1

        self._nursery.start_soon(later)


def _preview(content: Any) -> str:
    """The start of a message's text (its stored JSON, or its Struct)."""
    return preview_text(loads(content) if isinstance(content, bytes) else content, policy.PREVIEW_CHARS)


"""The push worker process (chatd.push.worker, docs/push.md): the server's pushes are
encrypted, signed and sent by a real child process, talking to the receiver on 127.0.0.1
(tests/push_receiver.py); the server restarts it when it dies and stops it when it stops."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
import trio

pytest.register_assert_rewrite("tests.push_scene")

from tests.push_receiver import Answer, Receiver, Subscription, check_vapid  # noqa: E402
from tests.push_scene import text  # noqa: E402

from chatd.push import webpush  # noqa: E402
from chatd.push.sender import PushSender  # noqa: E402
from chatd.push.worker import Setup  # noqa: E402

pytest_plugins = ["tests.push_scene"]  # the fixtures: receiver, scene


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return {"push": {"allow_private_endpoints": True, "concurrency": 1, "retry_base_s": 0.01, "retry_max_s": 0.05}}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _setup(allow_private: bool = True) -> Setup:
    return Setup(webpush.new_vapid_pem(), "mailto:admin@example.com", 5.0, 5.0, 4, allow_private)


async def test_the_worker_sends_each_push_once_and_answers_what_came_back():
    setup = _setup()
    vapid = webpush.Vapid(setup.vapid_pem, setup.vapid_subject)
    async with trio.open_nursery() as nursery:
        receiver = Receiver()
        await receiver.start(nursery)
        sender = PushSender(setup, nursery)
        assert sender.pid is None  # not started before the first push
        sub = Subscription(receiver.url("/push/bob"))
        device = {"id": 1, **sub.register}
        data = {"type": "message", "conv_id": 7, "msg_id": 9}
        out = await sender.send(device, data, "high", 60, "c7")
        assert (out.status, out.error) == (201, "")
        got = await receiver.next()
        assert sub.read(got, vapid.public_key) == data
        assert (got.headers["urgency"], got.headers["ttl"], got.headers["topic"]) == ("high", "60", "c7")
        pid = sender.pid
        assert pid is not None and sender.started == 1

        receiver.answer("/push/bob", Answer(429, {"Retry-After": "120"}), Answer(410))
        out = await sender.send(device, data, "normal", 60, "")
        assert (out.status, out.retry_after) == (429, "120")  # tried once: retrying is the server's
        assert (await sender.send(device, data, "normal", 60, "")).status == 410
        for _ in range(2):
            await receiver.next()

        gateway = {"id": 2, "kind": "gateway", "endpoint": receiver.url("/gw"), "pushkey": "pk1", "app_id": "app", "created_at": 5000}
        receiver.answer("/gw", Answer(200, body=b'{"rejected":["pk1"]}'), Answer(200, body=b'{"rejected":[]}'))
        assert (await sender.send(gateway, data, "high", 60, "")).rejected
        sent = await receiver.next()
        assert sent.json()["notification"]["devices"][0] == {"app_id": "app", "pushkey": "pk1", "pushkey_ts": 5, "data": {"chatd": data}}
        assert not (await sender.send(gateway, data, "high", 60, "")).rejected

        unreachable = {"id": 3, **Subscription("http://127.0.0.1:1/push").register}
        out = await sender.send(unreachable, data, "high", 60, "")
        assert out.status is None and out.error  # no answer: named, not raised
        assert sender.started == 1 and sender.pid == pid  # one worker for all of it

        await sender.aclose()
        assert _gone(pid)
        nursery.cancel_scope.cancel()


async def test_the_worker_ends_when_the_server_is_cancelled(receiver):
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            sender = PushSender(_setup(), nursery)
            sub = Subscription(receiver.url("/push/bob"))
            assert (await sender.send({"id": 1, **sub.register}, {"type": "x"}, "high", 60, "")).status == 201
            pid = sender.pid
            assert pid is not None
            scope.cancel()
    assert _gone(pid)


async def test_private_endpoints_are_refused_by_the_worker_too(receiver):
    async with trio.open_nursery() as nursery:
        sender = PushSender(_setup(allow_private=False), nursery)
        sub = Subscription(receiver.url("/push/bob"))
        out = await sender.send({"id": 1, **sub.register}, {"type": "x"}, "high", 60, "")
        assert (out.status, out.error) == (None, "ChatError")
        assert receiver.nothing_waiting()
        await sender.aclose()


async def test_a_killed_worker_is_started_again_and_the_push_it_held_is_retried(scene):
    """The push service waits for the worker's answer; the worker dies with a request open; the
    push is retried (push.retry_base_s) through a new worker and arrives."""
    push = scene.harness.server.services.push
    await scene.sentinel()
    first = push.sender.pid
    assert first is not None
    await scene.register("bob")
    held = trio.Event()
    scene.receiver.answer("/push/bob", Answer(hold=held))
    await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
    got = await scene.receiver.next()
    assert got.path == "/push/bob"  # the worker's request is open at the receiver
    os.kill(first, signal.SIGKILL)
    pushed = await scene.pushed("bob")  # the same push, again, from a new worker
    assert pushed["data"]["msg_id"] == scene.subs["bob"].read(got, scene.vapid)["msg_id"]
    check_vapid(got, scene.vapid)
    held.set()
    assert push.sender.started == 2 and push.sender.pid not in (None, first)
    assert _gone(first)
    await scene.sentinel()


async def test_a_worker_that_stops_answering_is_killed_and_replaced(receiver, monkeypatch):
    from chatd.push import sender as sender_module

    monkeypatch.setattr(sender_module, "ANSWER_GRACE_S", 0.5)
    setup = Setup(webpush.new_vapid_pem(), "mailto:admin@example.com", 1.0, 1.0, 4, True)
    async with trio.open_nursery() as nursery:
        sender = PushSender(setup, nursery)
        sub = Subscription(receiver.url("/push/bob"))
        device = {"id": 1, **sub.register}
        assert (await sender.send(device, {"type": "x"}, "high", 60, "")).status == 201
        await receiver.next()
        stuck = sender.pid
        assert stuck is not None
        os.kill(stuck, signal.SIGSTOP)  # alive, and answering nothing
        out = await sender.send(device, {"type": "x"}, "high", 60, "")
        assert (out.status, out.error) == (None, "WorkerStuck")
        assert (await sender.send(device, {"type": "x"}, "high", 60, "")).status == 201  # a new worker
        assert sender.started == 2 and sender.pid != stuck and _gone(stuck)
        await sender.aclose()
        nursery.cancel_scope.cancel()

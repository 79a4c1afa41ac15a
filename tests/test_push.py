"""Push notifications over real sockets (docs/push.md): devices registered by real logins, a push
service and a gateway on 127.0.0.1 written here (tests/push_receiver.py) that check the VAPID JWT
and decrypt the aes128gcm payload with the subscription's own keys.

One delivery at a time (push.concurrency 1) keeps the pushes in the order of their events, so
"not pushed" is checked by a sentinel: a DM to carol, always pushed, must be the next request."""

from __future__ import annotations

from typing import Any

import pytest
import trio

pytest.register_assert_rewrite("tests.push_scene")  # its asserts explain themselves, as the tests' do

from tests.push_receiver import Answer, Subscription  # noqa: E402
from tests.push_scene import TEXT, gone_offline, text  # noqa: E402

from chatd.client import ClientError  # noqa: E402

pytest_plugins = ["tests.push_scene"]  # the fixtures: receiver, scene


async def fails(c, cmd: str, data: dict[str, Any], code: str, field: str | None = None) -> ClientError:
    with pytest.raises(ClientError) as exc:
        await c.request(cmd, data)
    assert exc.value.code == code, exc.value
    if field is not None:
        assert exc.value.field == field, exc.value
    return exc.value


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return {"push": {"allow_private_endpoints": True, "concurrency": 1, "retry_base_s": 0.01, "retry_max_s": 0.05}}


async def test_login_gives_the_vapid_key_and_devices_are_listed_registered_once_and_unregistered(harness, users, receiver):
    sub = Subscription(receiver.url("/push/bob"))
    async with harness.client() as c:
        login = await c.login("bob", "correct horse battery", device="phone")
    vapid = login["vapid_public_key"]
    assert len(vapid) == 87  # a P-256 point, 65 bytes in base64url
    async with harness.client("bob", device="phone") as b:
        first = await b.request("push_device_register", sub.register)
        assert first["vapid_public_key"] == vapid
        dev = first["device"]
        assert (dev["kind"], dev["endpoint"], dev["device"], dev["app_id"], dev["last_success"], dev["failures"]) == ("webpush", sub.endpoint, "phone", "", 0, 0)
        again = await b.request("push_device_register", sub.register)  # idempotent on the endpoint
        assert again["device"]["id"] == dev["id"]
        listed = await b.request("push_device_list", {})
        assert listed["devices"] == [again["device"]] and listed["vapid_public_key"] == vapid
        # Bad input changes nothing.
        await fails(b, "push_device_register", {**sub.register, "auth": ""}, "bad_request", field="auth")
        await fails(b, "push_device_register", {**sub.register, "p256dh": "AAAA"}, "bad_request", field="p256dh")
        await fails(b, "push_device_register", {**sub.register, "pushkey": "x"}, "bad_request", field="pushkey")
        await fails(b, "push_device_register", {"kind": "gateway", "endpoint": receiver.url("/gw"), "app_id": "a"}, "bad_request", field="pushkey")
        await fails(b, "push_device_register", {"kind": "telegram", "endpoint": receiver.url("/x")}, "bad_request", field="kind")
        async with harness.client("carol") as c:
            await fails(c, "push_device_unregister", {"device_id": dev["id"]}, "not_found", field="device_id")  # not hers
        assert (await b.request("push_device_list", {}))["devices"] == [again["device"]]
        assert await b.request("push_device_unregister", {"device_id": dev["id"]}) == {"device_id": dev["id"]}
        assert (await b.request("push_device_list", {}))["devices"] == []
        await fails(b, "push_device_unregister", {"device_id": dev["id"]}, "not_found", field="device_id")
        # Settings: what is left out keeps its value.
        assert (await b.request("push_settings_set", {"groups": "mentions"}))["settings"] == {"dnd": False, "groups": "mentions", "previews": False}
        assert (await b.request("push_settings_set", {"dnd": True}))["settings"] == {"dnd": True, "groups": "mentions", "previews": False}
        await fails(b, "push_settings_set", {}, "bad_request")
        await fails(b, "push_settings_set", {"groups": "some"}, "bad_request", field="groups")
        assert (await b.request("push_device_list", {}))["settings"] == {"dnd": True, "groups": "mentions", "previews": False}


async def test_a_dm_to_an_offline_user_is_pushed_with_ids_only_vapid_signed_and_encrypted(scene):
    bob = scene.users["bob"]
    await scene.register("bob")
    sent = await scene.alice.request("chat_dm_send", {"peer": bob, "content": text()})
    got = await scene.receiver.next()
    assert got.path == "/push/bob" and got.method == "POST"
    assert TEXT.encode() not in got.body
    data = scene.subs["bob"].read(got, scene.vapid)
    assert data == {
        "type": "message", "kind": "dm", "conv_id": sent["conv_id"], "msg_id": sent["id"], "seq": sent["seq"],
        "sender_id": scene.users["alice"], "unread": 2, "mention": False,
    }  # fmt: skip (unread: this and the scene's hello)
    assert TEXT not in str(data)
    assert len(__import__("json").dumps(data, separators=(",", ":")).encode()) <= 256
    assert got.headers["urgency"] == "high" and got.headers["topic"] == f"conv{sent['conv_id']}"
    assert int(got.headers["ttl"]) > 0
    # The second unread message says so.
    await scene.alice.request("chat_dm_send", {"peer": bob, "content": text("more")})
    assert (await scene.pushed("bob"))["data"]["unread"] == 3


async def test_previews_when_the_user_opts_in(scene):
    await scene.register("bob", settings={"previews": True})
    await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
    data = (await scene.pushed("bob"))["data"]
    assert data["text"] == TEXT and data["sender_name"] == "alice"


# setting -> what is pushed of: a DM, a group message mentioning bob, a plain group message, a call
TABLE = {
    "default": (True, True, True, True),
    "muted": (True, False, False, True),
    "dnd": (False, False, False, False),
    "mentions": (True, True, False, True),
    "groups_none": (True, False, False, True),
}


@pytest.mark.parametrize("setting", list(TABLE))
async def test_settings_by_kind(scene, setting):
    users, alice = scene.users, scene.alice
    bob = users["bob"]
    group = (await alice.request("chat_group_create", {"name": "g", "members": [bob]}))["group"]["group_id"]
    settings = {"dnd": {"dnd": True}, "mentions": {"groups": "mentions"}, "groups_none": {"groups": "none"}}.get(setting)

    async def mute(c) -> None:
        if setting == "muted":
            await c.request("chat_group_mute_set", {"group_id": group, "muted": True})

    await scene.register("bob", settings=settings, then=mute)

    async def call() -> None:
        placed = (await alice.request("rtc_call_invite", {"peer": bob, "media": "audio"}))["call"]
        await alice.request("rtc_call_hangup", {"call_id": placed["call_id"]})

    kinds = {
        "dm": lambda: alice.request("chat_dm_send", {"peer": bob, "content": text()}),
        "mention": lambda: alice.request("chat_group_send", {"group_id": group, "content": text(), "mentions": [bob]}),
        "plain": lambda: alice.request("chat_group_send", {"group_id": group, "content": text()}),
        "call": call,
    }
    for (kind, act), expected in zip(kinds.items(), TABLE[setting]):
        await act()
        if expected:
            pushed = await scene.pushed("bob")
            data, headers = pushed["data"], pushed["headers"]
            if kind == "call":
                assert data["type"] == "call" and data["sender_id"] == users["alice"] and headers["urgency"] == "high"
                assert 0 < int(headers["ttl"]) <= 45  # the ring time left: a late push never rings
            else:
                assert data["type"] == "message" and data["kind"] == ("dm" if kind == "dm" else "group")
                assert data["mention"] is (kind == "mention")
                assert headers["urgency"] == ("normal" if kind == "plain" else "high")
        await scene.sentinel()


async def test_an_online_user_is_not_pushed(scene, harness):
    await scene.register("bob")
    async with harness.client("bob"):
        await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
        await scene.sentinel()


async def test_reading_clears_with_the_conversations_topic(scene, harness):
    await scene.register("bob")
    sent = await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
    first = await scene.pushed("bob")
    async with harness.client("bob") as b:
        await b.request("chat_dm_mark_read", {"peer": scene.users["alice"]})
        clear = await scene.pushed("bob")
    assert clear["headers"]["topic"] == first["headers"]["topic"] == f"conv{sent['conv_id']}"
    assert clear["headers"]["urgency"] == "low"
    assert clear["data"] == {"type": "read", "kind": "dm", "conv_id": sent["conv_id"], "seq": sent["seq"], "unread": 0}


async def test_410_and_404_delete_the_subscription(scene, harness):
    for status in (410, 404):
        await scene.register("bob")
        scene.receiver.answer("/push/bob", Answer(status))
        await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
        await scene.pushed("bob")
        await scene.sentinel()  # one delivery at a time: bob's was settled before carol's was sent
        async with harness.client("bob") as b:
            assert (await b.request("push_device_list", {}))["devices"] == []
        await gone_offline(scene.alice, scene.users["bob"])
        await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
        await scene.sentinel()  # nothing more to the deleted subscription
    # /metrics counts them (docs/operations.md#metrics): two gone, the sentinels delivered.
    counts = harness.server.metrics.push_deliveries
    assert counts[("webpush", "gone")] == 2 and counts[("webpush", "delivered")] >= 2


async def test_429_and_5xx_are_retried_and_413_sends_the_ids_only_payload(scene, harness):
    await scene.register("bob", settings={"previews": True})
    scene.receiver.answer("/push/bob", Answer(429, {"Retry-After": "0"}), Answer(503), Answer(413))
    await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
    bodies = [await scene.pushed("bob") for _ in range(4)]
    assert [b["data"].get("text") for b in bodies] == [TEXT, TEXT, TEXT, None]  # the last: ids only, after the 413
    assert bodies[3]["data"]["msg_id"] == bodies[0]["data"]["msg_id"]
    await scene.sentinel()
    async with harness.client("bob") as b:
        (device,) = (await b.request("push_device_list", {}))["devices"]
    assert device["failures"] == 0 and device["last_success"] > 0


async def test_unregister_stops_pushes(scene, harness):
    await scene.register("bob")
    async with harness.client("bob") as b:
        await b.request("push_device_unregister", {"device_id": scene.devices["bob"]})
    await gone_offline(scene.alice, scene.users["bob"])
    await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
    await scene.sentinel()


async def _devices(harness) -> list[int]:
    return await harness.server.writer.submit(lambda ctx: [r[0] for r in ctx.conn.execute("SELECT user_id FROM push_devices ORDER BY user_id")])


async def test_a_revoked_token_or_a_disabled_user_takes_its_devices(scene, harness):
    from chatd.store import users as users_store

    users = scene.users
    await scene.register("bob")
    assert await _devices(harness) == sorted([users["bob"], users["carol"]])
    await harness.server.writer.submit(lambda ctx: users_store.set_password(ctx.conn, "bob", "x"))  # ends bob's tokens
    assert await _devices(harness) == [users["carol"]]
    await scene.alice.request("chat_dm_send", {"peer": users["bob"], "content": text()})
    await scene.sentinel()
    await harness.server.writer.submit(lambda ctx: users_store.set_disabled(ctx.conn, "carol"))
    assert await _devices(harness) == []


async def test_a_gateway_gets_a_matrix_style_notification_and_rejected_pushkeys_go(scene, harness):
    bob = scene.users["bob"]
    gw = {"kind": "gateway", "endpoint": scene.receiver.url("/_matrix/push/v1/notify"), "pushkey": "device-token-1", "app_id": "org.example.chat"}
    out = await scene.register("bob", register=gw)
    sent = await scene.alice.request("chat_dm_send", {"peer": bob, "content": text()})
    got = await scene.receiver.next()
    assert got.path == "/_matrix/push/v1/notify" and got.headers["content-type"] == "application/json"
    assert TEXT.encode() not in got.body
    note = got.json()["notification"]
    assert note["event_id"] == str(sent["id"]) and note["room_id"] == str(sent["conv_id"]) and note["sender"] == str(scene.users["alice"])
    assert note["type"] == "chatd.message" and note["prio"] == "high" and note["counts"] == {"unread": 2}
    (device,) = note["devices"]
    assert (device["app_id"], device["pushkey"], device["pushkey_ts"]) == ("org.example.chat", "device-token-1", out["device"]["created_at"] // 1000)
    assert device["data"]["chatd"]["msg_id"] == sent["id"]
    # A gateway that rejects the pushkey: the device goes.
    scene.receiver.answer("/_matrix/push/v1/notify", Answer(200, {"Content-Type": "application/json"}, b'{"rejected": ["device-token-1"]}'))
    await scene.alice.request("chat_dm_send", {"peer": bob, "content": text()})
    assert (await scene.receiver.next()).path == "/_matrix/push/v1/notify"
    await scene.sentinel()
    assert await _devices(harness) == [scene.users["carol"]]


async def test_unifiedpush_takes_the_web_push_path(scene):
    sub = Subscription(scene.receiver.url("/push/bob"))
    await scene.register("bob", register={**sub.register, "kind": "unifiedpush"})
    scene.subs["bob"] = sub
    await scene.alice.request("chat_dm_send", {"peer": scene.users["bob"], "content": text()})
    assert (await scene.pushed("bob"))["data"]["type"] == "message"


async def test_a_friend_request_is_pushed(scene):
    await scene.register("bob")
    await scene.alice.request("chat_friend_add", {"user_id": scene.users["bob"], "message": TEXT})
    pushed = await scene.pushed("bob")
    assert pushed["data"] == {"type": "friend_request", "sender_id": scene.users["alice"]}


@pytest.mark.parametrize("endpoint", [
    "https://127.0.0.1/p", "https://10.0.0.1/p", "https://169.254.169.254/latest", "https://[::ffff:127.0.0.1]/p",
    "https://[::1]/p", "https://localhost/p", "http://93.184.215.14/p", "ftp://93.184.215.14/p", "https:///p",
])  # fmt: skip
async def test_private_or_plain_endpoints_are_refused(tmp_path, endpoint):
    from tests.conftest import make_config, start_server
    from chatd.client import connect
    from chatd.store import users as users_store
    from tests.conftest import _HASH

    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, make_config(tmp_path))  # allow_private_endpoints off
        await server.writer.submit(lambda ctx: users_store.create_user(ctx.conn, "bob", _HASH))
        async with connect(server.urls[1]) as b:
            await b.login("bob", "correct horse battery")
            sub = Subscription(endpoint)
            await fails(b, "push_device_register", sub.register, "bad_request", field="endpoint")
            assert (await b.request("push_device_list", {}))["devices"] == []
        server.stop()


async def test_a_delivery_connects_to_the_checked_address_and_keeps_the_name():
    from urllib.parse import urlsplit

    from chatd.errors import ChatError
    from chatd.push import webpush

    target = await webpush.resolve("http://localhost:8080/push/abc?x=1", True, 5)
    parts = urlsplit(target.url)
    assert parts.hostname in ("127.0.0.1", "::1") and parts.port == 8080 and parts.path == "/push/abc" and parts.query == "x=1"
    assert (target.host, target.server_name) == ("localhost:8080", "localhost")  # the Host header and the TLS name
    with pytest.raises(ChatError) as exc:
        await webpush.resolve("https://localhost/p", False, 5)  # a name that resolves to loopback
    assert exc.value.field == "endpoint"
    with pytest.raises(ChatError):
        await webpush.resolve("https://no-such-host.invalid/p", False, 5)


@pytest.mark.parametrize(
    "config_overrides",
    [{"push": {"allow_private_endpoints": True, "concurrency": 1, "max_attempts": 2, "retry_base_s": 0.01, "retry_max_s": 0.05, "breaker_failures": 2, "breaker_open_s": 3600}}],
)
async def test_failures_are_counted_and_open_the_circuit(scene, harness):
    bob = scene.users["bob"]
    await scene.register("bob")
    scene.receiver.answer("/push/bob", Answer(400), Answer(500), Answer(503))  # not retried; retried once, then given up
    for _ in range(2):
        await scene.alice.request("chat_dm_send", {"peer": bob, "content": text()})
    assert [(await scene.receiver.next()).path for _ in range(3)] == ["/push/bob"] * 3
    await scene.sentinel()
    # Two failures in a row: the circuit is open, bob's device is left alone (nothing sent, nothing deleted).
    await scene.alice.request("chat_dm_send", {"peer": bob, "content": text()})
    await scene.sentinel()
    async with harness.client("bob") as b:
        (device,) = (await b.request("push_device_list", {}))["devices"]
    assert device["failures"] == 2 and device["last_success"] == 0

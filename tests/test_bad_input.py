"""Bad input over real sockets against the real in-process server: every kind of mistake a
client can make in a request gets one documented error code (with `field` naming the culprit
where there is one), leaves the connection usable (each case is followed by a request that
succeeds on the same connection) and writes nothing (the conversation tables are compared row
by row before and after). Frames that cannot be decoded, or are too large, are
tests/test_bad_frames.py's.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from chatd.protocol.registry import REGISTRY

from .bad_input import check_error, expect_rejected, snapshot, still_up, text


# -- commands that do not exist, or not yet ----------------------------------------------


async def test_unknown_and_unimplemented_commands(harness, users):
    pushes = [c.wire for c in REGISTRY.commands.values() if c.kind == "push"]
    unimplemented = [c.wire for c in REGISTRY.commands.values() if c.kind == "request" and not c.implemented]
    assert unimplemented == []  # every request of the protocol is implemented (the loop below walks any that is not)
    async with harness.client("alice") as a:
        for name in ("no_such_command", "", "CHAT_DM_SEND", "chat_dm_send ", "chat.dm.send", *pushes):
            frame = await a.call(name, {})
            assert frame["cmd"] == name
            check_error(frame, "unknown_command")
        await still_up(a)
        for name in unimplemented:
            frame = await a.call(name, {"peer": users["bob"]})
            assert frame["cmd"] == name
            check_error(frame, "not_implemented")
        await still_up(a)


# -- the registry walk: every field of every implemented request ----------------------------

# login, heartbeat and ping have only optional fields (login's are checked before logging in, above).
WALKED = [
    c
    for c in REGISTRY.commands.values()
    if c.kind == "request" and c.implemented and c.wire not in ("login", "heartbeat", "ping")
]
# A value of the wrong type for each field type the registry uses.
WRONG: dict[str, list[Any]] = {
    "int": ["1", 1.5, True, [1], {"n": 1}],
    "float": ["x", [1.0]],
    "str": [1, True, ["x"], {"s": "x"}],
    "bool": ["true", 1, [True]],
    "list[int]": ["1", 1, {"a": 1}],
    "list[str]": ["x", 1, {"a": "x"}],
    "Content": [5, "hello", ["text"]],
    "any": [],  # (a control message's data: any value is of the right type)
    "list[any]": ["x", 1, {"a": 1}],
}


def _required(spec: dict[str, Any]) -> bool:
    return not spec.get("optional") and "default" not in spec


def _valid(name: str, spec: dict[str, Any], ids: dict[str, int]) -> Any:
    """A value that decodes (what it names need not exist: decoding fails before any lookup)."""
    t = spec["type"]
    if name == "peer":
        return ids["bob"]
    if name == "language":
        return "en"
    if "enum" in spec:
        return spec["enum"][0] if t == "str" else spec["enum"][:1]
    if "pattern" in spec:  # the other patterns are those of conversation targets (kind:id)
        return f"dm:{ids['bob']}" if t == "str" else [f"dm:{ids['bob']}"]
    if t == "int":
        return max(1, spec.get("min", 1))
    if t == "str":
        return "x" * max(1, spec.get("min_length", 1))
    if t == "bool":
        return True
    if t == "list[int]":
        return [ids["bob"]]
    if t == "list[str]":
        return ["x"]
    if t == "Content":
        return text("x")
    if t == "any":  # (a form's values)
        return {}
    if t == "list[any]":
        return []
    raise AssertionError(f"the walk does not know the field type {t!r}: add it to WRONG and _valid")


# Thousands of frames on one connection as fast as the server answers: past the default frame budget.
@pytest.mark.parametrize("config_overrides", [{"limits": {"frames_burst": 1_000_000, "user_write_burst": 1_000_000}}])
@pytest.mark.parametrize("msgpack", [False, True], ids=["json", "msgpack"])
async def test_registry_walk_missing_and_mistyped_fields(harness, users, msgpack):
    assert {c.wire for c in WALKED} >= {"chat_dm_send", "chat_dm_history", "chat_dm_delete", "chat_message_edits"}
    async with harness.client("alice", msgpack=msgpack) as a:
        before = await snapshot(harness)
        checked = 0
        for cmd in WALKED:
            base = {name: _valid(name, spec, users) for name, spec in cmd.request.items() if _required(spec)}
            for name, spec in cmd.request.items():
                if _required(spec):
                    data = {k: v for k, v in base.items() if k != name}
                    await expect_rejected(a, cmd.wire, data, "bad_request", name)
                    checked += 1
                assert spec["type"] in WRONG, f"{cmd.wire}.{name}: no wrong values for type {spec['type']}"
                for wrong in WRONG[spec["type"]]:
                    await expect_rejected(a, cmd.wire, {**base, name: wrong}, "bad_request", name)
                    checked += 1
                if spec["type"] == "list[int]":  # a list of the wrong items
                    err = await expect_rejected(a, cmd.wire, {**base, name: ["x"]}, "bad_request")
                    assert err.get("field") in (name, f"{name}[0]"), err
            for not_an_object in ([], [base], "data", 5, True):
                await expect_rejected(a, cmd.wire, not_an_object, "bad_request", "data")
                checked += 1
        assert checked > 100
        # Unknown fields in data are ignored, as the protocol guide says.
        assert (await a.request("chat_dm_conversations", {"no_such_field": 1}))["conversations"] == []
        assert await snapshot(harness) == before


async def test_commands_without_fields_reject_data_that_is_not_an_object_with_a_listed_code(harness, users):
    async with harness.client("alice") as a:
        for cmd in ("heartbeat", "ping"):
            for not_an_object in ([], "data", 5):
                frame = await a.call(cmd, not_an_object)
                assert frame["ok"] is False and frame["error"]["code"] == "bad_request", frame
                assert frame["error"].get("field") == "data", frame
                await still_up(a)
                check_error(frame, "bad_request", "data")  # the code must be listed in the registry


# -- values out of range, and semantic mistakes that name a field ----------------------------


async def test_out_of_range_values(harness, users):
    a_id, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("hello")}))["id"]
        before = await snapshot(harness)
        send = {"peer": b, "content": text("x")}
        cases: list[tuple[str, Any, str]] = [
            ("chat_dm_history", {"peer": b, "limit": 0}, "limit"),
            ("chat_dm_history", {"peer": b, "limit": 101}, "limit"),
            ("chat_dm_history", {"peer": b, "limit": -1}, "limit"),
            ("chat_dm_history", {"peer": b, "before_seq": 0}, "before_seq"),
            ("chat_dm_history", {"peer": b, "after_seq": -1}, "after_seq"),
            ("chat_dm_history", {"peer": b, "num": 0}, "num"),
            ("chat_dm_history", {"peer": b, "num": 101}, "num"),
            ("chat_dm_history", {"peer": b, "begin": -1}, "begin"),
            ("chat_dm_history", {"peer": b, "lastid": -1}, "lastid"),
            ("chat_dm_history", {"peer": a_id}, "peer"),
            ("chat_dm_search", {"query": ""}, "query"),
            ("chat_dm_search", {"query": "x" * 201}, "query"),
            ("chat_dm_search", {"query": "x", "limit": 0}, "limit"),
            ("chat_dm_search", {"query": "x", "limit": 51}, "limit"),
            ("chat_dm_conversations", {"limit": 0}, "limit"),
            ("chat_dm_conversations", {"limit": 501}, "limit"),
            ("chat_dm_mark_read", {"peer": b, "seq": -1}, "seq"),
            ("chat_dm_typing", {"peer": a_id}, "peer"),
            ("chat_dm_delete", {"peer": b, "msg_ids": []}, "msg_ids"),
            ("chat_dm_delete", {"peer": b, "msg_ids": [m] * 101}, "msg_ids"),
            ("chat_dm_recall_batch", {"peer": b, "msg_ids": []}, "msg_ids"),
            ("chat_dm_recall_batch", {"peer": b, "msg_ids": [m] * 1001}, "msg_ids"),
            ("chat_dm_react", {"peer": b, "msg_id": m, "emoji": ""}, "emoji"),
            ("chat_dm_react", {"peer": b, "msg_id": m, "emoji": "\N{THUMBS UP SIGN}" * 33}, "emoji"),
            ("chat_message_edits", {"msg_id": m, "limit": 0}, "limit"),
            ("chat_message_edits", {"msg_id": m, "limit": 101}, "limit"),
            ("chat_message_edits", {"msg_id": m, "offset": -1}, "offset"),
            ("chat_dm_send", {**send, "client_msg_id": ""}, "client_msg_id"),
            ("chat_dm_send", {**send, "client_msg_id": "x" * 65}, "client_msg_id"),
            ("chat_dm_send", {**send, "mentions": [b] * 101}, "mentions"),
            ("chat_dm_send", {**send, "mentions": [c]}, "mentions"),
            ("chat_dm_send", {**send, "peer": a_id}, "peer"),
            ("chat_dm_send", {"peer": b, "content": text("")}, "content.text"),
            ("chat_dm_send", {"peer": b, "content": {"type": "text"}}, "content.text"),
            ("chat_dm_send", {"peer": b, "content": {"text": "x"}}, "content.type"),
            ("chat_dm_send", {"peer": b, "content": {"type": "no_such_type", "text": "x"}}, "content.type"),
            ("chat_dm_send", {"peer": b, "content": {"type": "system", "event": "joined"}}, "content.type"),
            ("chat_dm_send", {"peer": b, "content": {"type": "text", "text": "x", "extra": 1}}, "content"),
            ("chat_dm_send", {"peer": b, "content": {"type": "text", "text": 5}}, "content.text"),
            ("chat_dm_send", {"peer": b, "content": {"type": "image", "url": ""}}, "content.url"),
            ("chat_dm_send", {"peer": b, "content": {"type": "image", "url": "https://x/y.png", "width": -1}}, "content.width"),
            ("chat_dm_send", {"peer": b, "content": {"type": "buttons", "text": "t", "buttons": []}}, "content.buttons"),
            ("chat_dm_edit", {"peer": b, "msg_id": m, "content": text("")}, "content.text"),
            ("chat_dm_edit", {"peer": b, "msg_id": m, "content": {"type": "system", "event": "x"}}, "content.type"),
        ]
        for cmd, data, field in cases:
            await expect_rejected(a, cmd, data, "bad_request", field)
        # An edit may not change the content's type.
        markdown = {"type": "markdown", "text": "x"}
        await expect_rejected(a, "chat_dm_edit", {"peer": b, "msg_id": m, "content": markdown}, "not_editable", "content.type")
        assert await snapshot(harness) == before


# -- ids that name nothing, or nothing this user can see --------------------------------------


async def test_unknown_ids_answer_not_found(harness, users):
    b, c = users["bob"], users["carol"]
    nobody = 999_999
    async with harness.client("alice") as a:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("hello")}))["id"]
        before = await snapshot(harness)
        by_peer: list[tuple[str, dict[str, Any]]] = [
            ("chat_dm_send", {"content": text("x")}),
            ("chat_dm_history", {}),
            ("chat_dm_mark_read", {}),
            ("chat_dm_pin_set", {"pinned": True}),
            ("chat_dm_typing", {}),
            ("chat_dm_control", {"name": "x"}),
            ("chat_dm_edit", {"msg_id": m, "content": text("x")}),
            ("chat_dm_recall", {"msg_id": m}),
            ("chat_dm_recall_batch", {"msg_ids": [m]}),
            ("chat_dm_react", {"msg_id": m, "emoji": "x"}),
            ("chat_dm_delete", {"msg_ids": [m]}),
            ("chat_dm_search", {"query": "hello"}),
            ("rtc_call_invite", {}),
            ("chat_bot_commands_list", {}),
            ("chat_bot_command", {"bot_id": b, "name": "x"}),
            ("chat_dm_handover", {"bot_id": b}),
            ("chat_dm_release", {"bot_id": b}),
        ]
        # chat_stream_begin is refused to people whatever it names (only bots stream): its
        # unknown peers are walked by a bot in tests/test_streams.py.
        assert {cmd for cmd, _ in by_peer} | {"chat_stream_begin"} == {c.wire for c in WALKED if "peer" in c.request}
        for peer in (nobody, 0, -1, 2**62):
            for cmd, data in by_peer:
                await expect_rejected(a, cmd, {**data, "peer": peer}, "not_found", "peer")
        # carol exists, but alice has no conversation with her: nothing to act on.
        for cmd, data in by_peer:
            if cmd in ("chat_dm_send", "chat_dm_history", "rtc_call_invite", "chat_bot_commands_list", "chat_bot_command"):  # a first message or call needs none
                continue
            if cmd in ("chat_dm_handover", "chat_dm_release"):  # bob is no bot: walked in tests/test_dm_handover.py
                continue
            await expect_rejected(a, cmd, {**data, "peer": c}, "not_found", "peer")
        empty = await a.request("chat_dm_history", {"peer": c})
        assert empty["conv_id"] == 0 and empty["messages"] == [] and empty["last_seq"] == 0
        # Unknown message ids in a real conversation.
        for cmd, data, field in (
            ("chat_dm_edit", {"peer": b, "msg_id": nobody, "content": text("x")}, "msg_id"),
            ("chat_dm_recall", {"peer": b, "msg_id": nobody}, "msg_id"),
            ("chat_dm_react", {"peer": b, "msg_id": nobody, "emoji": "x"}, "msg_id"),
            ("chat_dm_delete", {"peer": b, "msg_ids": [nobody]}, "msg_ids"),
            ("chat_dm_delete", {"peer": b, "msg_ids": [m, nobody]}, "msg_ids"),  # all or nothing: m stays visible
            ("chat_message_edits", {"msg_id": nobody}, "msg_id"),
            ("chat_message_edits", {"msg_id": -1}, "msg_id"),
            ("chat_dm_send", {"peer": b, "content": text("x"), "quote_id": nobody}, "quote_id"),
            # A quote from another conversation; the new alice–carol conversation must not be left behind.
            ("chat_dm_send", {"peer": c, "content": text("x"), "quote_id": m}, "quote_id"),
        ):
            await expect_rejected(a, cmd, data, "not_found", field)
        assert await snapshot(harness) == before
        hist = await a.request("chat_dm_history", {"peer": b})
        assert [x["id"] for x in hist["messages"]] == [m]


async def test_a_third_user_cannot_touch_someone_elses_conversation(harness, users):
    a_id, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a, harness.client("bob") as bob, harness.client("carol") as carol:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("between alice and bob")}))["id"]
        await a.request("chat_dm_edit", {"peer": b, "msg_id": m, "content": text("between alice and bob only")})
        await bob.request("chat_dm_react", {"peer": a_id, "msg_id": m, "emoji": "x"})

        async def carol_tries(*, own_conversations: bool) -> None:
            for peer in (a_id, b):
                attempts = [
                    ("chat_dm_edit", {"msg_id": m, "content": text("carol was here")}),
                    ("chat_dm_recall", {"msg_id": m}),
                    ("chat_dm_react", {"msg_id": m, "emoji": "y"}),
                    ("chat_dm_react", {"msg_id": m, "emoji": "x", "remove": True}),
                    ("chat_dm_delete", {"msg_ids": [m]}),
                ]
                if not own_conversations:  # else these would be about her own conversation, and fine
                    attempts += [("chat_dm_mark_read", {"seq": 1}), ("chat_dm_pin_set", {"pinned": True})]
                for cmd, data in attempts:
                    frame = await carol.call(cmd, {**data, "peer": peer})
                    err = check_error(frame, frame.get("error", {}).get("code", "?"), cmd=cmd)
                    assert err["code"] in ("not_found", "forbidden"), frame
                    await still_up(carol)
                hist = await carol.request("chat_dm_history", {"peer": peer})
                assert all(x["id"] != m for x in hist["messages"])
            await expect_rejected(carol, "chat_message_edits", {"msg_id": m}, "not_found", "msg_id")
            found = await carol.request("chat_dm_search", {"query": "between"})
            assert found["results"] == []

        before = await snapshot(harness)
        await carol_tries(own_conversations=False)  # carol has no conversation with either of them
        assert await snapshot(harness) == before
        await carol.request("chat_dm_send", {"peer": a_id, "content": text("hi alice")})
        await carol.request("chat_dm_send", {"peer": b, "content": text("hi bob")})
        before = await snapshot(harness)
        await carol_tries(own_conversations=True)  # now she has one with each: the message is still not in them
        assert await snapshot(harness) == before

        # bob is in the conversation but did not send the message: he may not edit or recall it.
        await expect_rejected(bob, "chat_dm_edit", {"peer": a_id, "msg_id": m, "content": text("bob was here")}, "forbidden")
        await expect_rejected(bob, "chat_dm_recall", {"peer": a_id, "msg_id": m}, "forbidden")
        assert await snapshot(harness) == before
        msg = (await a.request("chat_dm_history", {"peer": b}))["messages"][0]
        assert msg["content"] == text("between alice and bob only") and msg["recalled_at"] is None
        assert msg["reactions"] == [{"emoji": "x", "count": 1, "user_ids": [b]}]
        assert (await a.request("chat_message_edits", {"msg_id": m}))["total"] == 1


# -- size limits on content ---------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"limits": {"max_text_chars": 100, "max_content_bytes": 300}}])
async def test_text_and_content_over_the_limits_are_too_large(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a:
        # At the limits exactly: stored.
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("a" * 100)}))["id"]
        before = await snapshot(harness)
        for content, field in (
            (text("a" * 101), "content.text"),
            ({"type": "markdown", "text": "b" * 101}, "content.text"),
            ({"type": "buttons", "text": "c" * 60, "buttons": [[{"text": "d" * 60}]]}, "content.text"),
            # 90 characters, but 360 bytes of UTF-8.
            (text("\N{GRINNING FACE}" * 90), "content"),
            ({"type": "image", "url": "https://example.test/" + "e" * 400}, "content"),
        ):
            await expect_rejected(a, "chat_dm_send", {"peer": b, "content": content}, "too_large", field)
            if content["type"] == "text":  # an edit keeps the type: only text can replace m
                await expect_rejected(a, "chat_dm_edit", {"peer": b, "msg_id": m, "content": content}, "too_large", field)
        assert await snapshot(harness) == before
        assert (await a.request("chat_dm_history", {"peer": b}))["messages"][0]["content"] == text("a" * 100)


# -- the send rate limit --------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"limits": {"send_rate_per_s": 4, "send_burst": 3}}])
async def test_sends_are_rate_limited_per_connection(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2:
        sent = 0
        for i in range(30):
            frame = await a1.call("chat_dm_send", {"peer": b, "content": text(f"m{i}"), "client_msg_id": f"r{i}"})
            if not frame["ok"]:
                break
            sent += 1
        else:
            pytest.fail("30 sends in a row were never rate limited")
        err = check_error(frame, "rate_limited")
        assert sent >= 3  # the burst
        assert 0 < err["retry_after_ms"] <= 250  # one token at 4 per second
        # The refused send wrote nothing; reads on the same connection still work.
        hist = await a1.request("chat_dm_history", {"peer": b})
        assert hist["last_seq"] == sent and len(hist["messages"]) == sent
        await still_up(a1)
        # Another connection of the same user has its own bucket.
        other = await a2.request("chat_dm_send", {"peer": b, "content": text("from a2")})
        assert other["seq"] == sent + 1
        # Typing notices are throttled apart from sends: the second within the interval is not sent.
        assert (await a1.request("chat_dm_typing", {"peer": b}))["sent"] is True
        assert (await a1.request("chat_dm_typing", {"peer": b}))["sent"] is False
        # Waiting as told, the same send (same client_msg_id) goes through.
        retry = err["retry_after_ms"]
        with trio.fail_after(10):
            while True:
                await trio.sleep(retry / 1000)
                frame = await a1.call("chat_dm_send", {"peer": b, "content": text(f"m{sent}"), "client_msg_id": f"r{sent}"})
                if frame["ok"]:
                    break
                retry = check_error(frame, "rate_limited")["retry_after_ms"]
                assert retry > 0
        assert frame["data"]["duplicate"] is False and frame["data"]["seq"] == sent + 2


# Every walked command three times per id field: more frames than the default burst.
@pytest.mark.parametrize("config_overrides", [{"limits": {"frames_burst": 1_000_000, "user_write_burst": 1_000_000}}])
async def test_ids_beyond_64_bits_are_a_client_mistake(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a:
        m = (await a.request("chat_dm_send", {"peer": b, "content": text("hello")}))["id"]
        before = await snapshot(harness)
        huge = 2**64 - 1
        offenders = []
        for cmd in WALKED:
            base = {name: _valid(name, spec, users) for name, spec in cmd.request.items() if _required(spec)}
            if "msg_id" in base:
                base["msg_id"] = m
            if "msg_ids" in base:
                base["msg_ids"] = [m]
            for name, spec in cmd.request.items():
                if spec["type"] not in ("int", "list[int]"):
                    continue
                for value in (huge, -(2**63) - 1, 2**100):
                    data = {**base, name: [value] if spec["type"] == "list[int]" else value}
                    frame = await a.call(cmd.wire, data)
                    code = frame["error"]["code"] if not frame["ok"] else "ok"
                    if code not in ("ok", "bad_request", "not_found"):
                        offenders.append(f"{cmd.wire}.{name}={value}: {code}")
                    await still_up(a)
        assert await snapshot(harness) == before
        assert offenders == [], "\n".join(offenders)

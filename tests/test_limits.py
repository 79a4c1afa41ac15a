"""Limits that keep one user from filling the disk or flooding the server, over the real socket.

The user's write budget (every request's `cost`, shared by the user's connections), edits per
message and the edit history's cap, the storage quota, and the per-connection frame budget.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

from chatd.client import Client
from chatd.net.session import TokenBucket, UserBuckets
from chatd.protocol.registry import REGISTRY, load_registry

from .bystander import watching
from .conftest import Harness, make_config, start_server
from .schema_rewind import rewind
from .bad_input import check_error, still_up, text
from .stored import rows

PROTOCOL = Path(__file__).resolve().parents[1] / "clients" / "protocol.yaml"
IMPLEMENTED_REQUESTS = [c for c in REGISTRY.commands.values() if c.implemented and c.kind == "request"]


async def db(harness: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return await trio.to_thread.run_sync(rows, harness.server, sql, *args)


_ACTUAL = (
    "SELECT COALESCE((SELECT SUM(length(content)) FROM messages WHERE sender_id = ?1 AND type != 'system' AND content IS NOT NULL), 0)"
    " + COALESCE((SELECT SUM(length(e.content)) FROM message_edits e JOIN messages m ON m.id = e.message_id WHERE m.sender_id = ?1), 0)"
)


def _actual_bytes(conn: sqlite3.Connection, user_id: int) -> int:
    """What the user's messages and edit histories hold."""
    return int(conn.execute(_ACTUAL, (user_id,)).fetchone()[0])


async def stored_bytes(harness: Any, user_id: int) -> tuple[int, int]:
    """(the counter, the bytes it should count)."""
    (counter,) = (await db(harness, "SELECT stored_bytes FROM users WHERE id = ?", user_id))[0]
    (actual,) = (await db(harness, _ACTUAL, user_id))[0]
    return counter, actual


async def pipelined(client: Client, frames: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Send every request without waiting for answers in between; the responses, in order."""
    out: list[dict[str, Any] | None] = [None] * len(frames)

    async def one(i: int, cmd: str, data: Any) -> None:
        out[i] = await client.call(cmd, data)

    async with trio.open_nursery() as nursery:
        for i, (cmd, data) in enumerate(frames):
            nursery.start_soon(one, i, cmd, data)
            await trio.sleep(0)  # keep the order of sending
    return [f for f in out if f is not None]


# -- the registry: every request has a cost ------------------------------------------------------


def test_every_implemented_request_declares_a_cost_and_can_answer_rate_limited():
    for cmd in IMPLEMENTED_REQUESTS:
        assert isinstance(cmd.cost, int) and cmd.cost >= 0, f"{cmd.wire}: no cost"
        assert "rate_limited" in cmd.errors, f"{cmd.wire}: every request is under the frame budget, so may answer rate_limited"
    costs = {c.wire: c.cost for c in IMPLEMENTED_REQUESTS}
    for wire in ("chat_dm_send", "chat_dm_edit", "chat_group_react", "chat_room_typing", "chat_dm_mark_read"):
        assert costs[wire] >= 1, wire
    assert costs["chat_group_create"] > costs["chat_group_send"]
    assert costs["chat_dm_history"] == costs["ping"] == costs["heartbeat"] == 0


def test_a_registry_with_an_implemented_request_without_cost_is_refused(tmp_path):
    raw = PROTOCOL.read_text(encoding="utf-8")
    start = raw.index("    wire: chat_dm_edit\n")
    cut = raw.index("    cost: 1\n", start)
    broken = tmp_path / "protocol.yaml"
    broken.write_text(raw[:cut] + raw[cut + len("    cost: 1\n") :], encoding="utf-8")
    with pytest.raises(ValueError, match="chat_dm_edit.*cost"):
        load_registry(broken)


def test_buckets():
    b = TokenBucket(2, 5, now=0.0)
    assert b.take(0.0, cost=5) == 0
    assert b.take(0.0) == 500  # one token at 2 per second
    assert b.take(0.5) == 0
    # A cost above the burst takes a full bucket rather than never succeeding.
    assert b.take(10.0, cost=50) == 0 and b.take(10.0) > 0
    users = UserBuckets(1, 3)
    assert [users.take(1, 1, now=0.0) for _ in range(4)] == [0, 0, 0, 1000]
    assert users.take(2, 3, now=0.0) == 0  # another user has a budget of their own


# -- the write budget --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config_overrides", [{"limits": {"user_write_rate_per_s": 0.01, "user_write_burst": 40, "max_edits_per_message": 10_000}}]
)
async def test_an_edit_flood_is_refused_past_the_budget_and_writes_nothing_more(harness, users):
    b = users["bob"]
    big = "x" * 15_000
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        msg = await a1.request("chat_dm_send", {"peer": b, "content": text(big)})
        frames = [("chat_dm_edit", {"peer": b, "msg_id": msg["id"], "content": text(f"{i} {big}")}) for i in range(300)]
        async with watching(harness, "300 pipelined edits of 15,000 characters"):
            answers = await pipelined(a1, frames)
        ok = [f for f in answers if f["ok"]]
        refused = [f for f in answers if not f["ok"]]
        assert len(ok) == 39  # the burst, less the send
        for f in refused:
            assert check_error(f, "rate_limited")["retry_after_ms"] > 0
        (count, kept) = (
            await db(harness, "SELECT edit_count, (SELECT SUM(length(content)) FROM message_edits WHERE message_id = ?1) FROM messages WHERE id = ?1", msg["id"])
        )[0]
        assert count == 39
        # And the history kept of those edits is capped (limits.max_edit_history_bytes, 256 KiB).
        assert kept <= 262144
        # The refused edits changed nothing: the message holds the last accepted edit.
        hist = await a1.request("chat_dm_history", {"peer": b})  # reads cost nothing
        assert hist["messages"][-1]["content"] == ok[-1]["data"]["message"]["content"]
        await still_up(a1)
        # bob's budget is his own.
        await b1.request("chat_dm_send", {"peer": users["alice"], "content": text("still here")})


@pytest.mark.parametrize("config_overrides", [{"limits": {"user_write_rate_per_s": 0.01, "user_write_burst": 10}}])
async def test_two_devices_of_one_user_share_the_budget(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        for i in range(6):
            await a1.request("chat_dm_send", {"peer": b, "content": text(f"a1 {i}")})
        for i in range(4):
            await a2.request("chat_dm_send", {"peer": b, "content": text(f"a2 {i}")})
        for client in (a2, a1):
            frame = await client.call("chat_dm_send", {"peer": b, "content": text("one too many")})
            assert check_error(frame, "rate_limited")["retry_after_ms"] > 0
            # Other writes are refused too (a reaction costs 1), reads still answer.
            frame = await client.call("chat_dm_mark_read", {"peer": b})
            check_error(frame, "rate_limited")
            assert (await client.request("chat_dm_history", {"peer": b}))["last_seq"] == 10
        # A new connection of the same user does not bring a new budget.
        async with harness.client("alice") as a3:
            check_error(await a3.call("chat_dm_typing", {"peer": b}), "rate_limited")
        await b1.request("chat_dm_send", {"peer": users["alice"], "content": text("bob is fine")})


# -- edits per message and the history's cap -----------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"limits": {"max_edits_per_message": 3}}])
async def test_a_message_takes_at_most_max_edits(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1:
        msg = await a1.request("chat_dm_send", {"peer": b, "content": text("v0")})
        for i in range(1, 4):
            await a1.request("chat_dm_edit", {"peer": b, "msg_id": msg["id"], "content": text(f"v{i}")})
        frame = await a1.call("chat_dm_edit", {"peer": b, "msg_id": msg["id"], "content": text("v4")})
        assert "3" in check_error(frame, "not_editable")["message"]
        edits = await a1.request("chat_message_edits", {"msg_id": msg["id"]})
        assert edits["total"] == 3
        assert (await a1.request("chat_dm_history", {"peer": b}))["messages"][-1]["content"] == text("v3")
        # Other messages are not affected.
        other = await a1.request("chat_dm_send", {"peer": b, "content": text("w0")})
        await a1.request("chat_dm_edit", {"peer": b, "msg_id": other["id"], "content": text("w1")})


@pytest.mark.parametrize("config_overrides", [{"limits": {"max_edit_history_bytes": 2500, "user_storage_bytes": 10**9}}])
async def test_the_edit_history_keeps_its_newest_versions_within_the_cap(harness, users):
    a, b = users["alice"], users["bob"]
    pad = "p" * 1000  # each version is a little over 1000 bytes: two fit in 2500
    async with harness.client("alice") as a1:
        msg = await a1.request("chat_dm_send", {"peer": b, "content": text(f"v0 {pad}")})
        for i in range(1, 6):
            await a1.request("chat_dm_edit", {"peer": b, "msg_id": msg["id"], "content": text(f"v{i} {pad}")})
        edits = await a1.request("chat_message_edits", {"msg_id": msg["id"]})
        assert [e["content"]["text"][:2] for e in edits["edits"]] == ["v4", "v3"]
        (size,) = (await db(harness, "SELECT SUM(length(content)) FROM message_edits WHERE message_id = ?", msg["id"]))[0]
        assert size <= 2500
        counter, actual = await stored_bytes(harness, a)
        assert counter == actual
        # Dropping old versions does not make room for more edits than max_edits_per_message.
        (count,) = (await db(harness, "SELECT edit_count FROM messages WHERE id = ?", msg["id"]))[0]
        assert count == 5


# -- the storage quota -----------------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"limits": {"user_storage_bytes": 2000}}])
async def test_the_storage_quota_refuses_sends_and_edits_and_a_recall_frees_space(harness, users):
    a, b = users["alice"], users["bob"]
    body = "q" * 450  # about 480 bytes once encoded
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        sent = []
        while True:
            frame = await a1.call("chat_dm_send", {"peer": b, "content": text(body), "client_msg_id": f"q{len(sent)}"})
            if not frame["ok"]:
                break
            sent.append(frame["data"])
            assert len(sent) < 10, "the quota never refused a send"
        check_error(frame, "quota_exceeded")
        assert len(sent) == 4
        counter, actual = await stored_bytes(harness, a)
        assert counter == actual and counter <= 2000
        hist = await a1.request("chat_dm_history", {"peer": b})
        assert hist["last_seq"] == 4  # the refused send wrote nothing
        # An edit adds a version: over the quota too, and the message is unchanged.
        frame = await a1.call("chat_dm_edit", {"peer": b, "msg_id": sent[0]["id"], "content": text(body + "!")})
        check_error(frame, "quota_exceeded")
        assert (await a1.request("chat_message_edits", {"msg_id": sent[0]["id"]}))["total"] == 0
        # Recalling gives the space back.
        await a1.request("chat_dm_recall", {"peer": b, "msg_id": sent[0]["id"]})
        counter2, actual2 = await stored_bytes(harness, a)
        assert counter2 == actual2 < counter
        await a1.request("chat_dm_send", {"peer": b, "content": text(body)})
        # Another user's quota is their own; what others sent does not count against alice.
        await b1.request("chat_dm_send", {"peer": a, "content": text(body)})
        assert (await stored_bytes(harness, a))[0] == (await stored_bytes(harness, a))[1]


async def test_without_a_quota_nothing_is_counted_and_a_quota_counts_afresh_at_start(tmp_path):
    """Without a quota no send updates its sender's row; a server started with one counts what is stored."""
    async with trio.open_nursery() as nursery:
        first = Harness(await start_server(nursery, make_config(tmp_path)), nursery)
        a, b = await first.add_user("alice"), await first.add_user("bob")
        async with first.client("alice") as a1:
            m1 = await a1.request("chat_dm_send", {"peer": b, "content": text("hello")})
            await a1.request("chat_dm_edit", {"peer": b, "msg_id": m1["id"], "content": text("hello there")})
            m2 = await a1.request("chat_dm_send", {"peer": b, "content": text("bye")})
            await a1.request("chat_dm_send", {"peer": b, "content": text("and this")})
            await a1.request("chat_dm_recall", {"peer": b, "msg_id": m2["id"]})
        counter, actual = await stored_bytes(first, a)
        assert counter == 0 and actual > 0
        first.server.stop()
    async with trio.open_nursery() as nursery:
        again = Harness(await start_server(nursery, make_config(tmp_path, limits={"user_storage_bytes": 1_000_000})), nursery)
        assert await stored_bytes(again, a) == (actual, actual)
        again.server.stop()


# -- the frame budget: pings and heartbeats count ------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"limits": {"frames_per_s": 100.0, "frames_burst": 50}}])
async def test_a_ping_flood_is_limited_while_another_users_ping_answers(harness, users):
    async with harness.client("alice") as a1, harness.client("alice") as a2:
        results: dict[str, list[dict[str, Any]]] = {}

        async def flood(name: str, client: Client) -> None:
            results[name] = await pipelined(client, [("ping", None)] * 150 + [("heartbeat", {})] * 50)

        async with watching(harness, "2 connections of pipelined pings"), trio.open_nursery() as nursery:
            nursery.start_soon(flood, "a1", a1)
            nursery.start_soon(flood, "a2", a2)
        for name, answers in results.items():
            assert len(answers) == 200
            refused = [f for f in answers if not f["ok"]]
            assert refused, f"{name}: 200 pipelined frames were never limited"
            for f in refused:
                assert f["cmd"] in ("ping", "heartbeat")
                assert check_error(f, "rate_limited")["retry_after_ms"] > 0
            # Each connection has its own frame budget, its burst accepted in full (login took one).
            assert all(f["ok"] for f in answers[:45]), name
        # The flooding connections stay usable.
        await trio.sleep(0.05)
        await still_up(a1)
        await still_up(a2)


# -- the migration counts what was stored before it -------------------------------------------------


def test_the_migration_counts_each_users_stored_bytes_and_edits(tmp_path):
    from chatd.protocol import content as ct
    from chatd.store import messages, schema

    from .test_search_index import _dm

    ctx, a, b, conv = _dm(tmp_path)
    conn = ctx.conn

    def send(sender: int, t: str, kind: str = "text") -> int:
        body = ct.dumps(ct.Text(text=t)) if kind == "text" else b'{"type":"system","event":"x","text":"","data":{}}'
        new = messages.NewMessage(sender_id=sender, type=kind, content=body, text=t, client_msg_id=None, quote_id=None, mentions=[])
        return messages.insert(ctx, conv, new)["id"]

    def edit(sender: int, msg_id: int, t: str) -> None:
        messages.edit(ctx, conv, sender, msg_id, messages.NewMessage(sender, "text", ct.dumps(ct.Text(text=t)), t, None, None, []))

    m1 = send(a, "one")
    edit(a, m1, "one, edited")
    edit(a, m1, "one, edited twice")
    send(b, "from b " * 20)
    send(a, "", kind="system")  # counts for nobody
    gone = send(a, "recalled")
    messages.recall(ctx, conv, a, gone, is_admin=True, window_ms=0)
    want = {u: _actual_bytes(conn, u) for u in (a, b)}
    assert want[a] > 0 and want[b] > 0
    # The same database as it was before the migration, then migrated.
    rewind(conn, 6)  # before migration 7
    schema.migrate(conn)
    assert {u: conn.execute("SELECT stored_bytes FROM users WHERE id = ?", (u,)).fetchone()[0] for u in (a, b)} == want
    assert conn.execute("SELECT edit_count FROM messages WHERE id = ?", (m1,)).fetchone()[0] == 2


@pytest.mark.parametrize("config_overrides", [{"limits": {"user_write_rate_per_s": 0.01, "user_write_burst": 15}}])
async def test_costlier_requests_take_more_of_the_budget(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1:
        await a1.request("chat_group_create", {"name": "one", "members": [b]})  # 10 of 15
        frame = await a1.call("chat_group_create", {"name": "two", "members": [b]})
        assert check_error(frame, "rate_limited")["retry_after_ms"] > 0
        assert len((await a1.request("chat_group_list"))["groups"]) == 1  # nothing written; reads cost 0
        for i in range(5):  # what is left pays five sends
            await a1.request("chat_dm_send", {"peer": b, "content": text(f"m{i}")})
        check_error(await a1.call("chat_dm_send", {"peer": b, "content": text("no")}), "rate_limited")


async def test_a_request_of_cost_0_cannot_write(harness, users):
    from chatd.handlers import Call

    call = Call(harness.server.ctx, None, "chat_dm_history", "1", None, cost=0)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="chat_dm_history writes"):
        await call.write(lambda ctx: None)

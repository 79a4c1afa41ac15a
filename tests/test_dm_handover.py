"""Handover of a bot's DM to a human agent and back (chat_dm_handover, chat_dm_release,
chat_dm_routing_changed; docs/bots.md, "Handover"), over the wire: the cycle any number of
times in one conversation, two agents at once, a stream cut by a handover, the bot off or
observing, the pushes every party gets, and each refusal changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from chatd.client import ClientError
from chatd.store import dm_routing
from chatd.store import users as users_store

from .test_streams import add_bot, as_bot

AGENTS = {"bots": {"handover_agents": ["agnes", "Agnes2"]}}
OBSERVE = {"bots": {"handover_agents": ["agnes", "Agnes2"], "handover_bot_mode": "observe"}}


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return AGENTS


@pytest.fixture
async def cast(harness, users) -> dict[str, Any]:
    """bob, the user; helper, the bot; agnes and agnes2, agents; alice, a server admin."""
    return {
        **users,
        "agnes": await harness.add_user("agnes"),
        "agnes2": await harness.add_user("agnes2"),
        "token": await add_bot(harness, "helper"),
    }


async def bot_id(bot) -> int:
    return int(bot.user["id"])


def text(n: str) -> dict[str, str]:
    return {"type": "text", "text": n}


async def fails(code: str, client, cmd: str, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        await client.request(cmd, data)
    assert exc.value.error["code"] == code, exc.value.error
    return exc.value.error


async def routing_of(client, peer: int) -> dict[str, Any] | None:
    """The routing in the client's own conversation entry of its DM with `peer`."""
    convs = (await client.request("chat_dm_conversations", {}))["conversations"]
    (entry,) = [c for c in convs if c["peer"]["id"] == peer]
    return entry.get("routing")


def routed(conv_id: int, mode: str):
    return lambda d: d["conv_id"] == conv_id and d["mode"] == mode


async def test_handover_and_release_five_times_in_one_conversation(harness, cast):
    bob_id, agnes_id = cast["bob"], cast["agnes"]
    async with as_bot(harness, cast["token"]) as bot, harness.client("bob") as bob, harness.client("agnes") as agnes:
        helper = await bot_id(bot)
        first = await bob.request("chat_dm_send", {"peer": helper, "content": text("hello")})
        conv_id = first["conv_id"]
        assert await routing_of(bob, helper) is None  # never handed over: its bot answers
        for i in range(5):
            # The bot answers.
            q = await bob.request("chat_dm_send", {"peer": helper, "content": text(f"question {i}")})
            got = await bot.next_push("chat_message", where=lambda d: d["seq"] == q["seq"])
            assert got["data"]["peer"] == bob_id
            a = await bot.request("chat_dm_send", {"peer": bob_id, "content": text(f"bot answer {i}")})
            await bob.next_push("chat_message", where=lambda d: d["seq"] == a["seq"])
            # An agent takes over.
            taken = await agnes.request("chat_dm_handover", {"peer": bob_id, "bot_id": helper, "note": f"round {i}"})
            assert taken["changed"] and taken["seq"] == a["seq"]
            r = taken["routing"]
            assert (r["conv_id"], r["mode"], r["agent"]["id"], r["bot_mode"], r["version"], r["note"]) == (conv_id, "agent", agnes_id, "off", 2 * i + 1, f"round {i}")
            for side in (bob, bot):
                push = (await side.next_push("chat_dm_routing_changed", where=routed(conv_id, "agent")))["data"]
                assert push["version"] == 2 * i + 1 and push["seq"] == a["seq"] and push["by"] == agnes_id and push["previous_agent_id"] is None
            assert (await routing_of(bob, helper))["mode"] == "agent"
            history = await agnes.request("chat_dm_history", {"peer": bob_id, "bot_id": helper, "limit": 100})
            assert history["conv_id"] == conv_id and history["messages"][-1]["seq"] == a["seq"]
            q2 = await bob.request("chat_dm_send", {"peer": helper, "content": text(f"to a person {i}")})
            heard = await agnes.next_push("chat_message", where=lambda d: d["seq"] == q2["seq"])
            assert heard["data"]["peer"] == bob_id and heard["data"]["conv_id"] == conv_id
            reply = await agnes.request("chat_dm_send", {"peer": bob_id, "bot_id": helper, "content": text(f"agent answer {i}")})
            assert reply["conv_id"] == conv_id and reply["seq"] == q2["seq"] + 1
            seen = await bob.next_push("chat_message", where=lambda d: d["seq"] == reply["seq"])
            assert seen["data"]["peer"] == helper and seen["data"]["message"]["sender_id"] == agnes_id
            await fails("handed_over", bot, "chat_dm_send", {"peer": bob_id, "content": text("me too")})
            # The agent gives it back.
            back = await agnes.request("chat_dm_release", {"peer": bob_id, "bot_id": helper})
            assert back["routing"]["mode"] == "bot" and back["routing"]["agent"] is None and back["routing"]["version"] == 2 * i + 2
            for side in (bob, bot):
                push = (await side.next_push("chat_dm_routing_changed", where=routed(conv_id, "bot")))["data"]
                assert push["previous_agent_id"] == agnes_id and push["seq"] == reply["seq"]
            # Off: the bot got nothing of the DM while it was handed over (its pushes come in
            # commit order, so all of them before the release are here by now).
            assert not [p for p in bot.pending_pushes("chat_message") if q2["seq"] <= p["data"]["seq"] <= reply["seq"]]
            bot.clear_pushes()
            # And the bot answers again, in the same conversation.
            again = await bot.request("chat_dm_send", {"peer": bob_id, "content": text(f"bot again {i}")})
            assert again["conv_id"] == conv_id and again["seq"] == reply["seq"] + 1
        await fails("forbidden", agnes, "chat_dm_send", {"peer": bob_id, "bot_id": helper, "content": text("late")})
        everything = await bob.request("chat_dm_history", {"peer": helper, "limit": 100})
        assert [m["seq"] for m in everything["messages"]] == list(range(1, 1 + 1 + 5 * 5))
        assert {m["conv_id"] for m in everything["messages"]} == {conv_id}
        assert {m["sender_id"] for m in everything["messages"]} == {bob_id, helper, agnes_id}
        assert (await routing_of(bob, helper))["version"] == 10


async def test_two_agents_at_once_one_wins(harness, cast):
    bob_id = cast["bob"]
    async with as_bot(harness, cast["token"]) as bot, harness.client("bob") as bob, harness.client("agnes") as agnes, harness.client("agnes2") as agnes2:
        helper = await bot_id(bot)
        await bob.request("chat_dm_send", {"peer": helper, "content": text("hello")})
        for round_ in range(5):
            answers: dict[str, Any] = {}

            async def take(name: str, client) -> None:
                try:
                    answers[name] = await client.request("chat_dm_handover", {"peer": bob_id, "bot_id": helper})
                except ClientError as e:
                    answers[name] = e.error["code"]

            async with trio.open_nursery() as nursery:
                nursery.start_soon(take, "agnes", agnes)
                nursery.start_soon(take, "agnes2", agnes2)
            won = [n for n, a in answers.items() if isinstance(a, dict)]
            assert len(won) == 1 and [a for a in answers.values() if not isinstance(a, dict)] == ["conflict"], answers
            winner = agnes if won[0] == "agnes" else agnes2
            assert answers[won[0]]["routing"]["agent"]["id"] == cast[won[0]] and answers[won[0]]["routing"]["version"] == 2 * round_ + 1
            pushed = await bob.next_push("chat_dm_routing_changed", where=lambda d: d["mode"] == "agent")
            assert pushed["data"]["agent"]["id"] == cast[won[0]]
            await winner.request("chat_dm_release", {"peer": bob_id, "bot_id": helper})
            await bob.next_push("chat_dm_routing_changed", where=lambda d: d["mode"] == "bot")
        assert (await routing_of(bob, helper))["version"] == 10


async def test_a_handover_ends_the_bots_running_stream(harness, cast):
    bob_id, agnes_id = cast["bob"], cast["agnes"]
    async with as_bot(harness, cast["token"]) as bot, harness.client("bob") as bob, harness.client("agnes") as agnes:
        helper = await bot_id(bot)
        await bob.request("chat_dm_send", {"peer": helper, "content": text("tell me a story")})
        started = await bot.request("chat_stream_begin", {"peer": bob_id, "text": "Once upon"})
        sid = started["stream_id"]
        out = await bot.request("chat_stream_append", {"stream_id": sid, "seq": 1, "offset": 9, "text": " a time"})
        assert out["length"] == 16
        await agnes.request("chat_dm_handover", {"peer": bob_id, "bot_id": helper})
        # The routing change first, then the stream's end: no delta of the bot after the handover.
        for side in (bob, bot):
            end = await side.next_push("chat.stream.error", where=lambda d: d["stream_id"] == sid)
            assert side.pending_pushes("chat_dm_routing_changed"), "the stream's end overtook the routing change"
            assert end["data"]["reason"] == "handover" and end["data"]["message"]["content"]["text"] == "Once upon a time"
        end = await agnes.next_push("chat.stream.error", where=lambda d: d["stream_id"] == sid)  # the agent hears it end
        assert end["data"]["message"]["state"] == "error"
        with pytest.raises(ClientError) as exc:  # ending (conflict) or ended (not_found): never taken
            await bot.request("chat_stream_append", {"stream_id": sid, "seq": 2, "offset": 16, "text": " there"})
        assert exc.value.error["code"] in ("conflict", "not_found")
        await fails("handed_over", bot, "chat_stream_begin", {"peer": bob_id, "text": "And"})
        (kept,) = [m for m in (await agnes.request("chat_dm_history", {"peer": bob_id, "bot_id": helper}))["messages"] if m["id"] == sid]
        assert kept["state"] == "error" and kept["stream_error"] == "handover" and kept["content"]["text"] == "Once upon a time"
        assert kept["sender_id"] == helper != agnes_id


@pytest.mark.parametrize("config_overrides", [OBSERVE])
async def test_an_observing_bot_hears_but_may_not_speak(harness, cast):
    bob_id, agnes_id = cast["bob"], cast["agnes"]
    async with as_bot(harness, cast["token"]) as bot, harness.client("bob") as bob, harness.client("agnes") as agnes:
        helper = await bot_id(bot)
        await bob.request("chat_dm_send", {"peer": helper, "content": text("hello")})
        taken = await agnes.request("chat_dm_handover", {"peer": bob_id, "bot_id": helper})
        assert taken["routing"]["bot_mode"] == "observe"
        await bot.next_push("chat_dm_routing_changed")
        q = await bob.request("chat_dm_send", {"peer": helper, "content": text("a person please")})
        assert (await bot.next_push("chat_message", where=lambda d: d["seq"] == q["seq"]))["data"]["peer"] == bob_id
        reply = await agnes.request("chat_dm_send", {"peer": bob_id, "bot_id": helper, "content": text("here I am")})
        heard = await bot.next_push("chat_message", where=lambda d: d["seq"] == reply["seq"])
        assert heard["data"]["message"]["sender_id"] == agnes_id and heard["data"]["peer"] == bob_id
        await bob.request("chat_dm_typing", {"peer": helper})
        assert (await agnes.next_push("chat_typing"))["data"]["user_id"] == bob_id
        assert (await bot.next_push("chat_typing"))["data"]["user_id"] == bob_id
        await agnes.request("chat_dm_typing", {"peer": bob_id, "bot_id": helper})  # the agent types in the bot's DM
        assert (await bob.next_push("chat_typing"))["data"]["user_id"] == agnes_id
        for cmd, data in (
            ("chat_dm_send", {"peer": bob_id, "content": text("me too")}),
            ("chat_stream_begin", {"peer": bob_id, "text": "me"}),
            ("chat_dm_typing", {"peer": bob_id}),
            ("chat_dm_control", {"peer": bob_id, "name": "x", "data": {}}),
        ):
            await fails("handed_over", bot, cmd, data)
        history = await bot.request("chat_dm_history", {"peer": bob_id})  # it still reads the DM
        assert [m["seq"] for m in history["messages"]] == [1, 2, 3]


async def test_routing_changed_reaches_every_device_of_every_party(harness, cast):
    bob_id, agnes_id, alice_id = cast["bob"], cast["agnes"], cast["alice"]
    async with (
        as_bot(harness, cast["token"]) as bot,
        harness.client("bob") as bob,
        harness.client("bob") as bob2,
        harness.client("agnes") as agnes,
        harness.client("agnes") as agnes2,
        harness.client("alice") as alice,
        harness.client("alice") as alice2,
        harness.client("carol") as carol,
    ):
        helper = await bot_id(bot)
        sent = await bob.request("chat_dm_send", {"peer": helper, "content": text("hello")})
        await agnes.request("chat_dm_handover", {"peer": bob_id, "bot_id": helper})
        for device in (bob, bob2, bot, agnes2):
            push = (await device.next_push("chat_dm_routing_changed"))["data"]
            assert (push["conv_id"], push["mode"], push["agent"]["id"], push["user_id"], push["bot_id"], push["seq"]) == (
                sent["conv_id"], "agent", agnes_id, bob_id, helper, sent["seq"]
            )
        assert not agnes.pending_pushes("chat_dm_routing_changed")  # the asking connection has the response
        # An admin gives it back: the agent who held it learns it, on every device.
        await alice.request("chat_dm_release", {"peer": bob_id, "bot_id": helper, "note": "shift over"})
        for device in (bob, bob2, bot, agnes, agnes2, alice2):
            push = (await device.next_push("chat_dm_routing_changed", where=lambda d: d["mode"] == "bot"))["data"]
            assert push["previous_agent_id"] == agnes_id and push["by"] == alice_id and push["note"] == "shift over"
        # Not a party: carol hears nothing of it (her next push is her own DM's message).
        await bob.request("chat_dm_send", {"peer": cast["carol"], "content": text("hi carol")})
        await carol.next_push("chat_message")
        assert not carol.pending_pushes("chat_dm_routing_changed")
        assert (await routing_of(bot, bob_id))["version"] == 2


async def test_refusals_change_nothing(harness, cast):
    bob_id, carol_id = cast["bob"], cast["carol"]
    async with (
        as_bot(harness, cast["token"]) as bot,
        harness.client("bob") as bob,
        harness.client("agnes") as agnes,
        harness.client("agnes2") as agnes2,
        harness.client("carol") as carol,
    ):
        helper = await bot_id(bot)
        await bob.request("chat_dm_send", {"peer": helper, "content": text("hello")})
        await bob.request("chat_dm_send", {"peer": carol_id, "content": text("hello carol")})
        handover = {"peer": bob_id, "bot_id": helper}
        await fails("forbidden", carol, "chat_dm_handover", handover)  # not an agent
        await fails("forbidden", bot, "chat_dm_handover", handover)  # the bot itself
        await fails("forbidden", bob, "chat_dm_handover", handover)  # its own user
        assert (await fails("not_found", agnes, "chat_dm_handover", {"peer": bob_id, "bot_id": carol_id}))["field"] == "bot_id"  # no bot
        assert (await fails("not_found", agnes, "chat_dm_handover", {"peer": cast["alice"], "bot_id": helper}))["field"] == "peer"  # no DM yet
        await fails("bad_request", agnes, "chat_dm_handover", {"peer": helper, "bot_id": helper})
        await fails("conflict", agnes, "chat_dm_release", handover)  # not handed over
        await fails("forbidden", agnes, "chat_dm_send", {"peer": bob_id, "bot_id": helper, "content": text("not yet")})
        await fails("forbidden", agnes, "chat_dm_history", {"peer": bob_id, "bot_id": helper})
        assert await routing_of(bob, helper) is None  # nothing was written
        assert not bob.pending_pushes("chat_dm_routing_changed")
        await agnes.request("chat_dm_handover", handover)
        again = await agnes.request("chat_dm_handover", handover)  # held by her already: as it stands
        assert again["changed"] is False and again["routing"]["version"] == 1
        await fails("conflict", agnes2, "chat_dm_handover", handover)
        await fails("forbidden", agnes2, "chat_dm_release", handover)  # not the one holding it
        await fails("forbidden", agnes2, "chat_dm_send", {"peer": bob_id, "bot_id": helper, "content": text("me?")})
        await fails("forbidden", bot, "chat_dm_release", handover)
        assert (await routing_of(bob, helper))["version"] == 1
        await agnes.request("chat_dm_release", handover)
        assert (await routing_of(bob, helper))["version"] == 2


async def test_a_slash_command_in_a_handed_over_dm_reaches_the_agent_not_the_bot(harness, cast):
    bob_id, agnes_id = cast["bob"], cast["agnes"]
    async with as_bot(harness, cast["token"]) as bot, harness.client("bob") as bob, harness.client("agnes") as agnes:
        helper = await bot_id(bot)
        await bot.request("chat_bot_commands_set", {"commands": [{"name": "help"}]})
        await bob.request("chat_dm_send", {"peer": helper, "content": text("hello")})
        await agnes.request("chat_dm_handover", {"peer": bob_id, "bot_id": helper})
        ran = await bob.request("chat_bot_command", {"peer": helper, "bot_id": helper, "name": "help"})
        assert (await agnes.next_push("chat_message", where=lambda d: d["seq"] == ran["seq"]))["data"]["message"]["content"]["text"] == "/help"
        await agnes.request("chat_dm_release", {"peer": bob_id, "bot_id": helper})
        after = await bob.request("chat_bot_command", {"peer": helper, "bot_id": helper, "name": "help"})
        command = await bot.next_push("chat.bot.command")  # the first it gets is the one after the release
        assert command["data"]["msg_id"] == after["id"] and agnes_id != helper


async def test_a_bots_own_agent_takes_over_its_dms_and_no_other_bots(harness, cast):
    carol_id, bob_id = cast["carol"], cast["bob"]
    other = await add_bot(harness, "other")

    def make_carol_helpers_agent(ctx: Any) -> None:
        dm_routing.set_bot_agents(ctx.conn, users_store.bot_id(ctx.conn, "helper"), ["carol"])

    await harness.server.writer.submit(make_carol_helpers_agent)
    async with as_bot(harness, cast["token"]) as bot, as_bot(harness, other) as bot2, harness.client("bob") as bob, harness.client("carol") as carol:
        helper, other_id = await bot_id(bot), await bot_id(bot2)
        await bob.request("chat_dm_send", {"peer": helper, "content": text("hello")})
        await bob.request("chat_dm_send", {"peer": other_id, "content": text("hello")})
        await fails("forbidden", carol, "chat_dm_handover", {"peer": bob_id, "bot_id": other_id})
        taken = await carol.request("chat_dm_handover", {"peer": bob_id, "bot_id": helper})
        assert taken["routing"]["agent"]["id"] == carol_id

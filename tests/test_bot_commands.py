"""Slash commands of bots (docs/bots.md): set by a bot, listed in a conversation, run by a user."""

from __future__ import annotations

import pytest

from chatd.client import ClientError

from .test_streams import add_bot, as_bot

WEATHER = {"name": "weather", "description": "The forecast for a city", "params": [{"name": "city", "description": "Where", "required": True}]}


async def test_commands_set_listed_and_run(harness, users):
    token = await add_bot(harness, "helper")
    async with as_bot(harness, token) as bot, harness.client("alice") as alice, harness.client("bob") as bob, harness.client("carol") as carol:
        out = await bot.request("chat_bot_commands_set", {"commands": [WEATHER, {"name": "help"}]})
        assert [c["name"] for c in out["commands"]] == ["weather", "help"]
        gid = (await alice.request("chat_group_create", {"name": "ops", "members": [users["bob"], bot.user["id"]]}))["group"]["group_id"]
        listed = (await bob.request("chat_bot_commands_list", {"group_id": gid}))["commands"]
        assert [(c["bot"]["id"], c["bot"]["is_bot"], c["name"]) for c in listed] == [(bot.user["id"], True, "weather"), (bot.user["id"], True, "help")]
        assert listed[0]["params"] == WEATHER["params"]
        assert [c["name"] for c in (await alice.request("chat_bot_commands_list", {"peer": bot.user["id"]}))["commands"]] == ["weather", "help"]
        assert (await alice.request("chat_bot_commands_list", {"peer": users["bob"]}))["commands"] == []
        with pytest.raises(ClientError) as exc:
            await carol.request("chat_bot_commands_list", {"group_id": gid})
        assert exc.value.code == "not_member"
        ran = await bob.request("chat_bot_command", {"group_id": gid, "bot_id": bot.user["id"], "name": "weather", "args": "Lisbon"})
        assert ran["message"]["content"]["text"] == "/weather Lisbon"
        push = await bot.next_push("chat.bot.command")
        assert push["data"] == {"bot_id": bot.user["id"], "name": "weather", "args": "Lisbon", "msg_id": ran["id"], "kind": "group", "conv_id": gid, "user_id": users["bob"]}
        await alice.next_push("chat_message", where=lambda d: d["message"]["id"] == ran["id"])  # a message like any other
        for data in ({"name": "nope"}, {"bot_id": users["alice"], "name": "weather"}):
            with pytest.raises(ClientError) as exc:
                await bob.request("chat_bot_command", {"group_id": gid, "bot_id": bot.user["id"], "name": "weather", **data})
            assert (exc.value.code, exc.value.field) == ("not_found", "name"), data
        assert (await bob.request("chat_group_history", {"group_id": gid}))["messages"][-1]["id"] == ran["id"]  # nothing sent
        for commands, field in (([{"name": "Bad Name"}], "commands[0].name"), ([{"name": "a"}, {"name": "a"}], "commands[1].name"), ([{"nom": "x"}], "commands[0]")):
            with pytest.raises(ClientError) as exc:
                await bot.request("chat_bot_commands_set", {"commands": commands})
            assert (exc.value.code, exc.value.field) == ("bad_request", field), commands
        with pytest.raises(ClientError) as exc:
            await alice.request("chat_bot_commands_set", {"commands": []})
        assert exc.value.code == "forbidden"
        # The refused sets changed nothing.
        assert len((await bob.request("chat_bot_commands_list", {"group_id": gid}))["commands"]) == 2

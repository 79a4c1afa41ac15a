"""Bot accounts (docs/bots.md): `chatd bot add / token / list / disable / enable` run as
subprocesses, and the bot over the wire: it logs in with its token only, and is marked as a bot
wherever a user is shown."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from chatd.client import ClientError, connect

from . import helpers_proc as proc
from .conftest import PASSWORD
from .test_cli import seed



@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def token_of(res: proc.Result) -> str:
    assert res.returncode == 0, res
    return res.stdout.strip().splitlines()[-1]


async def test_a_bot_logs_in_with_its_token_and_is_marked(data):
    seed(data, ("alice", False, False))
    d = ["--data", str(data)]
    token = token_of(await proc.run("bot", "add", "helper", "--display-name", "Helper Bot", *d))
    again = await proc.run("bot", "add", "helper", *d)
    assert again.returncode == 1 and "already exists" in again.stderr
    listed = await proc.run("bot", "list", *d)
    assert "helper" in listed.stdout and "alice" not in listed.stdout
    async with proc.serve(data) as srv:
        with trio.fail_after(30):
            async with connect(srv.ws_url) as bot, connect(srv.ws_url) as alice:
                me = await bot.login(token=token)
                assert me["user"]["is_bot"] is True and me["user"]["display_name"] == "Helper Bot"
                a = await alice.login("alice", PASSWORD)
                assert "is_bot" not in a["user"]
                # A bot in a group: its members see it as a bot.
                gid = (await alice.request("chat_group_create", {"name": "with a bot", "members": [me["user"]["id"]]}))["group"]["group_id"]
                members = (await alice.request("chat_group_members", {"group_id": gid}))["members"]
                assert {m["user"]["name"]: m["user"].get("is_bot", False) for m in members} == {"alice": False, "helper": True}
                await bot.request("chat_group_send", {"group_id": gid, "content": {"type": "text", "text": "hello, humans"}})
                said = await alice.next_push("chat_message", where=lambda d: d["message"]["sender_id"] == me["user"]["id"])
                assert said["data"]["message"]["content"]["text"] == "hello, humans"
            async with connect(srv.ws_url) as c:
                with pytest.raises(ClientError) as exc:  # a bot has no password
                    await c.login("helper", "")
                assert exc.value.code in ("auth_failed", "bad_request")
            # A new token ends the old one.
            new = token_of(await proc.run("bot", "token", "helper", *d))
            async with connect(srv.ws_url) as c:
                with pytest.raises(ClientError) as exc:
                    await c.login(token=token)
                assert exc.value.code == "auth_failed"
                await c.login(token=new)
            # Disabled, its connections end and its token stops working.
            async with connect(srv.ws_url) as live:
                await live.login(token=new)
                assert (await proc.run("bot", "disable", "helper", *d)).returncode == 0
                assert (await live.wait_closed(timeout=10)).reason.code == 4003
            assert (await proc.run("bot", "enable", "helper", *d)).returncode == 0
            fresh = token_of(await proc.run("bot", "token", "helper", *d))
            async with connect(srv.ws_url) as c:
                await c.login(token=fresh)
    for args in (["bot", "token", "alice"], ["bot", "disable", "nobody"]):  # not a bot
        res = await proc.run(*args, *d)
        assert res.returncode == 2 and "no bot named" in res.stderr, res


async def test_a_bots_own_agents_are_set_listed_and_cleared(data):
    seed(data, ("agnes", False, False), ("bob", False, False))
    d = ["--data", str(data)]
    token_of(await proc.run("bot", "add", "helper", *d))
    none = await proc.run("bot", "agents", "helper", *d)
    assert none.returncode == 0 and "agents of bot helper: none" in none.stdout
    made = await proc.run("bot", "agents", "helper", "bob", "agnes", *d)
    assert made.returncode == 0 and "agents of bot helper: agnes, bob" in made.stdout
    assert "agnes, bob" in (await proc.run("bot", "agents", "helper", *d)).stdout
    for bad in (["helper", "nobody"], ["helper", "helper"], ["agnes", "bob"]):  # no such user; a bot; not a bot
        refused = await proc.run("bot", "agents", *bad, *d)
        assert refused.returncode == 2, refused  # what it names is not a user, or not a bot
    assert "agnes, bob" in (await proc.run("bot", "agents", "helper", *d)).stdout  # a refusal changed nothing
    cleared = await proc.run("bot", "agents", "helper", "--clear", *d)
    assert "agents of bot helper: none" in cleared.stdout

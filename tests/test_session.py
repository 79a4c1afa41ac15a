"""Connection lifecycle: login, heartbeat, ping, the login deadline, heartbeat timeouts, devices."""

from __future__ import annotations

import pytest
import trio

from chatd.client import ClientError

from .conftest import PASSWORD


async def test_login_with_password_then_token(harness, users):
    async with harness.client() as c:
        out = await c.login("alice", PASSWORD, device="laptop")
        assert out["user"] == {"id": users["alice"], "name": "alice", "display_name": "alice", "is_admin": True}
        assert out["token"] and out["session_id"]
        assert out["heartbeat_timeout_s"] > out["heartbeat_interval_s"] > 0
        token = out["token"]
    async with harness.client() as c:
        out = await c.login(token=token)
        assert out["user"]["name"] == "alice"
        assert out["token"] == token


async def test_wrong_password_and_unknown_user_fail_alike(harness, users):
    async with harness.client() as c:
        for name, pw in (("alice", "wrong password"), ("nobody", PASSWORD)):
            with pytest.raises(ClientError) as exc:
                await c.login(name, pw)
            assert exc.value.code == "auth_failed"
        with pytest.raises(ClientError) as exc:
            await c.login(token="not-a-token")
        assert exc.value.code == "auth_failed"
        # Still usable: a correct login after failures works on the same connection.
        await c.login("alice", PASSWORD)


async def test_first_frame_must_be_login(harness, users):
    async with harness.client() as c:
        with pytest.raises(ClientError) as exc:
            await c.request("ping")
        assert exc.value.code == "not_logged_in"
        await c.login("bob", PASSWORD)
        assert (await c.request("ping"))["pong"] is True


async def test_login_twice_is_refused(harness, users):
    async with harness.client("alice") as c:
        with pytest.raises(ClientError) as exc:
            await c.login("alice", PASSWORD)
        assert exc.value.code == "already_logged_in"


async def test_heartbeat_and_ping(harness, users):
    async with harness.client("alice") as c:
        hb = await c.request("heartbeat", {})
        assert hb["server_time"] > 0
        assert (await c.request("ping"))["pong"] is True


@pytest.mark.parametrize("config_overrides", [{"server": {"login_timeout_s": 0.3}}])
async def test_login_deadline_closes_with_4001(harness, users):
    async with harness.client() as c:
        closed = await c.wait_closed()
        assert closed.reason.code == 4001


@pytest.mark.parametrize("config_overrides", [{"server": {"heartbeat_interval_s": 0.1, "heartbeat_timeout_s": 0.4}}])
async def test_missed_heartbeats_end_the_session(harness, users):
    async with harness.client("alice") as quiet, harness.client("bob") as chatty:
        # bob keeps sending heartbeats; alice sends nothing.
        with trio.move_on_after(10):
            while quiet.closed is None:
                await chatty.request("heartbeat")
                await trio.sleep(0.05)
        assert quiet.closed is not None and quiet.closed.reason.code == 4002
        assert chatty.closed is None
        await chatty.request("ping")


async def test_two_devices_of_one_user(harness, users):
    async with harness.client("alice", device="phone") as a1, harness.client("alice", device="laptop") as a2:
        assert a1.user == a2.user
        assert len(harness.server.hub.sessions_of(users["alice"])) == 2


async def test_msgpack_frames(harness, users):
    async with harness.client(msgpack=True) as c:
        out = await c.login("alice", PASSWORD)
        assert out["user"]["name"] == "alice"
        assert (await c.request("ping"))["pong"] is True

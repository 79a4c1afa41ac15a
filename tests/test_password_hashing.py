"""Password hashes with the configured argon2id parameters, over real sockets against the real server.

- A user whose stored hash was made with other parameters (argon2's defaults, which
  chatd used before the parameters were configurable) logs in with the right
  password; the stored hash then has the configured parameters, still verifies,
  and the user's tokens still work. The next login leaves it alone.
- A wrong password, a disabled account and an unknown user never change a stored hash.
- A password set while an upgrade was under way wins over the upgrade.
"""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters

from chatd import passwords
from chatd.client import ClientError
from chatd.store import users as users_store

from .conftest import PASSWORD
from .test_http import error_code, post_json

OLD = PasswordHasher()  # argon2's defaults: 64 MiB, 3 passes, 4 lanes
CUSTOM = {"auth": {"hash_memory_kib": 9216, "hash_time_cost": 4, "hash_parallelism": 1}}


async def add_user(harness, name: str, stored: str, *, disabled: bool = False) -> int:
    def op(ctx: Any) -> int:
        uid = users_store.create_user(ctx.conn, name, stored)
        if disabled:
            users_store.set_disabled(ctx.conn, name, True)
        return uid

    return await harness.server.writer.submit(op)


async def stored_hash(harness, name: str) -> str:
    found = await harness.server.readers.read(users_store.password_login_row, name)
    assert found is not None
    return found[1]


def configured(harness) -> tuple[int, int, int]:
    auth = harness.server.cfg.auth
    return auth.hash_memory_kib, auth.hash_time_cost, auth.hash_parallelism


def params(stored: str) -> tuple[int, int, int]:
    p = extract_parameters(stored)
    return p.memory_cost, p.time_cost, p.parallelism


@pytest.mark.parametrize("config_overrides", [{}, CUSTOM], ids=["defaults", "configured"])
async def test_an_old_hash_is_upgraded_at_the_next_password_login(harness):
    old = OLD.hash(PASSWORD)
    assert params(old) != configured(harness)
    await add_user(harness, "olga", old)
    async with harness.client() as c:
        token = (await c.login("olga", PASSWORD))["token"]
    new = await stored_hash(harness, "olga")
    assert new != old
    assert params(new) == configured(harness)
    assert extract_parameters(new).type.name == "ID"
    assert passwords.verify(harness.server.cfg.auth, new, PASSWORD)
    assert not passwords.verify(harness.server.cfg.auth, new, PASSWORD + "x")
    # The password did not change: the token issued before the upgrade still logs in.
    async with harness.client() as c:
        await c.login(token=token)
    # The upgraded hash is kept as it is by the next logins, by password (WebSocket or HTTP).
    async with harness.client("olga"):
        pass
    resp = await post_json(harness, "/api/v1/auth/login", {"username": "olga", "password": PASSWORD})
    assert resp.status == 200, resp
    assert await stored_hash(harness, "olga") == new


@pytest.mark.parametrize("config_overrides", [CUSTOM])
async def test_a_wrong_password_never_upgrades(harness):
    old = OLD.hash(PASSWORD)
    assert params(old) != configured(harness)
    await add_user(harness, "olga", old)
    async with harness.client() as c:
        with pytest.raises(ClientError) as exc:
            await c.login("olga", "not the password")
        assert exc.value.code == "auth_failed"
    resp = await post_json(harness, "/api/v1/auth/login", {"username": "olga", "password": "not it either"})
    assert resp.status == 401 and error_code(resp) == "auth_failed", resp
    assert await stored_hash(harness, "olga") == old


@pytest.mark.parametrize("config_overrides", [CUSTOM])
async def test_a_disabled_account_is_not_upgraded(harness):
    old = OLD.hash(PASSWORD)
    assert params(old) != configured(harness)
    await add_user(harness, "dora", old, disabled=True)
    async with harness.client() as c:
        with pytest.raises(ClientError) as exc:
            await c.login("dora", PASSWORD)
        assert exc.value.code == "auth_failed"
    assert await stored_hash(harness, "dora") == old


@pytest.mark.parametrize("config_overrides", [CUSTOM])
async def test_unknown_users_are_checked_with_the_configured_parameters(harness):
    auth = harness.server.cfg.auth
    assert params(passwords.dummy_hash(auth)) == configured(harness)
    hashed = harness.server.services.login_guard.hashes
    async with harness.client() as c:
        with pytest.raises(ClientError) as exc:
            await c.login("nobody", PASSWORD)
        assert exc.value.code == "auth_failed"
    assert harness.server.services.login_guard.hashes == hashed + 1, "an unknown user's password is hashed all the same"


async def test_a_password_set_meanwhile_wins_over_the_upgrade(harness):
    old = OLD.hash(PASSWORD)
    uid = await add_user(harness, "olga", old)
    newer = passwords.hash_password("a newer password", harness.server.cfg.auth)
    await harness.server.writer.submit(lambda ctx: users_store.set_password(ctx.conn, "olga", newer))
    upgraded = passwords.hash_password(PASSWORD, harness.server.cfg.auth)
    assert not await harness.server.writer.submit(users_store.op_upgrade_password_hash, uid, old, upgraded)
    assert await stored_hash(harness, "olga") == newer


def test_check_reports_an_upgrade_only_for_a_right_password_with_other_parameters():
    from chatd.config import AuthConfig

    cfg = AuthConfig(hash_memory_kib=8192, hash_time_cost=1, hash_parallelism=1)
    old = OLD.hash(PASSWORD)
    ok, new = passwords.check(cfg, old, PASSWORD)
    assert ok and new is not None and params(new) == (8192, 1, 1)
    assert passwords.check(cfg, new, PASSWORD) == (True, None)
    assert passwords.check(cfg, old, "wrong") == (False, None)
    assert passwords.check(cfg, old, PASSWORD, upgrade=False) == (True, None)
    assert passwords.check(cfg, "not a hash", PASSWORD) == (False, None)

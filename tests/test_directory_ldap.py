"""The directory's LDAP sync against a real OpenLDAP slapd (tests/slapd.py) on a free loopback
port: the periodic sync of the server, `chatd directory sync [--dry-run]`, people identified by
entryUUID through renames and moves, leavers (deleted or disabled upstream) deactivated with
every connection closed before the sync returns, login through LDAP (auth.ldap) beside local
users, and an LDAP server that is paused or gone (the sync reports, the server goes on)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import trio

from chatd.client import ClientError, connect

from . import helpers_proc as proc
from .slapd import ADMIN_DN, ADMIN_PW, PEOPLE, Slapd
from .test_cli import seed
from .test_directory import left_for_good


@pytest.fixture
def ldap(tmp_path: Path):
    with Slapd(tmp_path) as server:
        yield server


def directory_settings(ldap: Slapd, tmp_path: Path, **extra) -> dict:
    secret = tmp_path / "ldap-password"
    secret.write_text(ADMIN_PW + "\n")
    return {
        "ldap_url": ldap.url,
        "ldap_bind_dn": ADMIN_DN,
        "ldap_bind_password_file": str(secret),
        "ldap_base_dns": [PEOPLE],
        "ldap_disabled_filter": "(employeeType=disabled)",
        "ldap_timeout_s": 2,
        **extra,
    }


@pytest.fixture
def config_overrides(ldap, tmp_path):
    ldap.add_person("boss", "曾国藩", ["Engineering"], employeeNumber="E0001", title="CTO")
    ldap.add_person("zhangsan", "张三", ["Engineering", "Backend"], password="zs ldap pw", mail="zs@example.com", title="Engineer")
    ldap.modify(ldap.person_dn("zhangsan", ["Engineering", "Backend"]), manager=ldap.person_dn("boss", ["Engineering"]))
    ldap.add_person("lisi", "李四", ["Sales"], password="ls ldap pw")
    return {"directory": directory_settings(ldap, tmp_path, sync_interval_s=3600), "auth": {"ldap": True}}


async def search(client, query):
    return [(m["user"]["name"], m["name"], [d["name"] for d in m["departments"]]) for m in (await client.request("enterprise_member_search", {"query": query}))["members"]]


async def test_the_server_syncs_with_ldap(harness, users, ldap):
    sync = harness.server.services.directory_sync
    first = await sync.wait_runs(1)  # the first sync runs as the server starts
    assert first["ok"], first
    for line in ("+ department Engineering", "+ department Engineering/Backend", "+ department Sales", "= 0 unchanged"):
        assert line in first["lines"], first
    async with harness.client("alice") as a:
        assert await search(a, "zengguofan") == [("boss", "曾国藩", ["Engineering"])]
        zs = (await a.request("enterprise_member_search", {"query": "zs"}))["members"][0]
        boss = (await a.request("enterprise_member_search", {"query": "zgf"}))["members"][0]
        assert zs["manager_id"] == boss["user"]["id"] and zs["title"] == "Engineer" and zs["email"] == "zs@example.com"
        depts = [(d["name"], d["total_count"]) for d in (await a.request("enterprise_department_list", {}))["departments"]]
        assert depts == [("Engineering", 2), ("Backend", 1), ("Sales", 1)]

        # auth.ldap: directory people log in with their LDAP password; local users as before.
        async with harness.client() as c:
            with pytest.raises(ClientError) as exc:
                await c.login("zhangsan", "wrong")
            assert exc.value.code == "auth_failed"
        async with harness.client() as c:
            assert (await c.login("zhangsan", "zs ldap pw"))["user"]["id"] == zs["user"]["id"]

        # A rename and a move upstream keep the same chatd user (entryUUID, not DN).
        ldap.move("zhangsan", ["Engineering", "Backend"], ["Sales", "Asia"], new_uid="zhang.san")
        done = await sync.sync_once()
        assert done["ok"] and any(line.startswith("~ member zhang.san (张三)") for line in done["lines"]), done
        assert await search(a, "zhangsan") == [("zhang.san", "张三", ["Asia"])]
        assert (await a.request("enterprise_member_search", {"query": "zs"}))["members"][0]["user"]["id"] == zs["user"]["id"]

        # Leavers: deleted upstream, or disabled there. Every connection of theirs is closed by
        # the time the sync returns, with the reason; they cannot log in again.
        async with connect(harness.url) as l1, connect(harness.url) as l2:
            await l1.login("lisi", "ls ldap pw")
            await l2.login("lisi", "ls ldap pw")
            ldap.delete(ldap.person_dn("lisi", ["Sales"]))
            ldap.modify(ldap.person_dn("boss", ["Engineering"]), employeeType="disabled")
            done = await sync.sync_once()
            assert "- member lisi: left (deactivated)" in done["lines"] and "- member boss: left (deactivated)" in done["lines"], done
            await left_for_good(harness, (l1, l2), "lisi", "ls ldap pw")
        assert await search(a, "lisi") == [] and await search(a, "zeng") == []
        assert (await sync.sync_once())["lines"] == ["= 1 unchanged"]

        # A paused LDAP server: the sync fails at its deadline and says why; the server answers
        # meanwhile, and nothing changed.
        ldap.pause()
        try:
            async with trio.open_nursery() as nursery:
                results = []

                async def run_sync():
                    results.append(await sync.sync_once())

                nursery.start_soon(run_sync)
                assert await search(a, "zhang") == [("zhang.san", "张三", ["Asia"])]  # not blocked
        finally:
            ldap.resume()
        assert results[0]["ok"] is False and "timed out" in results[0]["error"], results
        # Gone altogether: the same, then back.
        ldap.stop()
        down = await sync.sync_once()
        assert down["ok"] is False and "LDAPSocketOpenError" in down["error"], down
        assert await search(a, "zhang") == [("zhang.san", "张三", ["Asia"])]
        ldap.start()
        assert (await sync.sync_once())["ok"]
        # Local users still log in with their chatd password.
        async with harness.client("bob") as b:
            assert await b.request("ping", {}) is not None


@pytest.fixture
def periodic(ldap, tmp_path):
    ldap.add_person("wangwu", "王五", ["Ops"], password="ww ldap pw")
    ldap.add_person("zhaoliu", "赵六", ["Ops"])  # stays (a source listing nobody is refused)
    return {"directory": directory_settings(ldap, tmp_path, sync_interval_s=1), "auth": {"ldap": True}}


async def test_a_leaver_is_closed_by_the_periodic_sync(tmp_path, ldap, periodic):
    from .conftest import make_config, start_server

    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, make_config(tmp_path, **periodic))
        sync = server.services.directory_sync
        assert (await sync.wait_runs(1))["ok"]
        async with connect(server.urls[1]) as w:
            await w.login("wangwu", "ww ldap pw")
            ldap.delete(ldap.person_dn("wangwu", ["Ops"]))
            closed = await w.wait_closed(timeout=30)  # by a sync of the server's own loop
            assert closed.reason.code == 4003
        with trio.fail_after(10):  # the sync that closed it ends after the close: wait for its count
            assert (await sync.wait_runs(2))["ok"]
        server.stop()


async def test_chatd_directory_sync_cli(tmp_path, ldap):
    data = tmp_path / "data"
    seed(data, ("alice", True, False))
    uuid = ldap.add_person("zhangsan", "张三", ["Engineering", "Backend"], title="Engineer")
    ldap.add_person("bad name!", "Bad Name", ["Engineering"])
    settings = directory_settings(ldap, tmp_path)
    config = tmp_path / "chatd.toml"
    body = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    config.write_text(f"[server]\ndata_dir = {json.dumps(str(data))}\n[directory]\n{body}")
    args = ["directory", "sync", "--config", str(config)]
    dry = await proc.run(*args, "--dry-run")
    assert dry.returncode == 0, dry
    out = dry.stdout.splitlines()
    assert f"+ member zhangsan (张三) id {uuid}" in out and "dry run: nothing was written" in out, dry
    assert any(line.startswith("! skipped uid=bad name!") and "is no valid username" in line for line in out), out
    conn = sqlite3.connect(data / "chatd.sqlite3")
    try:
        assert conn.execute("SELECT count(*) FROM directory_members").fetchone()[0] == 0
        done = await proc.run(*args)
        assert done.returncode == 0 and done.stdout.splitlines()[-1] == "applied", done
        assert conn.execute("SELECT external_id, source FROM directory_members").fetchall() == [(uuid, "ldap")]
    finally:
        conn.close()
    # A source that lists nobody (a wrong base DN, a filter that matches nothing) is refused.
    ldap.delete(ldap.person_dn("zhangsan", ["Engineering", "Backend"]))
    nobody = await proc.run(*args)
    assert nobody.returncode == 1 and "refusing to deactivate everyone" in nobody.stderr, nobody
    ldap.stop()
    down = await proc.run(*args)
    assert down.returncode == 1 and "chatd: LDAP: LDAPSocketOpenError" in down.stderr, down

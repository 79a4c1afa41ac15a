"""Uploads across nodes (docs/scaling.md, docs/files.md): three nodes on one PostgreSQL database
share one files directory (files.directory). A file uploaded through node 0 and sent in a
group is downloaded, with its thumbnail, through nodes 1 and 2; one node collects unreferenced
files at a time (an advisory lock); and a file uploaded again through one node while another
collects it is kept, whichever comes first, because the database orders them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import psycopg
import pytest
import trio

from chatd.config import ConfigError, load
from chatd.services import file_gc
from chatd.store import cluster, uploads
from chatd.store.db import now_ms

from . import helpers_proc as proc
from .conftest import Harness, make_config, start_server
from .test_files import fetch, png, token_of, upload


async def _nodes(nursery: trio.Nursery, tmp_path: Path, dsn: str, count: int) -> list[Harness]:
    out = []
    for node in range(count):
        cfg = make_config(tmp_path / f"node{node}", storage={"database": dsn, "node": node}, files={"directory": str(tmp_path / "shared"), "gc_after_s": 0})
        out.append(Harness(await start_server(nursery, cfg), nursery))
    return out


def image(key: str) -> dict[str, Any]:
    return {"type": "image", "url": key}


async def test_a_file_uploaded_through_one_node_is_served_by_the_others_and_collected_by_one(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        ids = {name: await n0.add_user(name) for name in ("alice", "bob", "carol")}
        data = png(64, 48, (10, 200, 10))
        sent = await upload(n0, await token_of(n0, "alice"), data)
        assert sent.status == 201, sent
        key = sent.json()["key"]
        sha = hashlib.sha256(data).hexdigest()
        assert (tmp_path / "shared" / sha[:2] / sha).read_bytes() == data
        assert not (tmp_path / "node0" / "files").exists()  # not in the node's own data directory
        async with n0.client("alice") as a:
            group = (await a.request("chat_group_create", {"name": "shared files", "members": [ids["bob"], ids["carol"]]}))["group"]
            await a.request("chat_group_send", {"group_id": group["group_id"], "content": image(key)})
        for node, name in ((n1, "bob"), (n2, "carol")):
            token = await token_of(node, name)
            got = await fetch(node, token, key)
            assert got.status == 200 and got.body == data
            thumb = await fetch(node, token, key, "/thumb")
            assert thumb.status == 200 and thumb.headers["content-type"] == "image/png"

        dropped = (await upload(n2, await token_of(n2, "bob"), b"named by no message")).json()["key"]
        with psycopg.connect(pg_dsn, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (cluster.FILE_GC_LOCK,))  # as a node collecting now
            for node in (n0, n1, n2):
                assert await file_gc.collect_once(node.server) is None  # skipped: another node collects
            assert (await fetch(n0, await token_of(n0, "bob"), dropped)).status == 200
        assert await file_gc.collect_once(n1.server) == 1  # the lock is free again: node 1 collects
        bob = await token_of(n0, "bob")
        assert (await fetch(n0, bob, dropped)).status == 404
        assert (await fetch(n2, bob, key)).status == 200
        for h in (n0, n1, n2):
            h.server.stop()


async def test_a_file_uploaded_again_through_another_node_while_collected_is_kept(tmp_path, pg_dsn):
    async with trio.open_nursery() as nursery:
        n0, n1, n2 = await _nodes(nursery, tmp_path, pg_dsn, 3)
        for name in ("alice", "bob"):
            await n0.add_user(name)
        alice, bob = await token_of(n0, "alice"), await token_of(n0, "bob")
        data = png(30, 20, (1, 2, 250))
        sha = hashlib.sha256(data).hexdigest()
        assert (await upload(n0, alice, data)).status == 201

        # Node 1 collects: it drops the rows; then bob uploads the same bytes through node 0,
        # which finds the file still there; then node 1 moves it aside and asks the database.
        assert await n1.server.writer.submit(uploads.op_forget, sha, now_ms())
        assert (await upload(n0, bob, data)).status == 201
        assert await file_gc.remove_unless_uploaded(n1.server, sha) is False  # put back
        got = await fetch(n2, bob, f"chatd-file:{sha}")
        assert got.status == 200 and got.body == data
        assert (await fetch(n2, bob, f"chatd-file:{sha}", "/thumb")).status == 200

        # The other order: node 1 deletes it, then alice uploads it again through node 2.
        assert await n1.server.writer.submit(uploads.op_forget, sha, now_ms())
        assert await file_gc.remove_unless_uploaded(n1.server, sha) is True
        assert not (tmp_path / "shared" / sha[:2] / sha).exists()
        assert (await upload(n2, alice, data)).status == 201
        got = await fetch(n0, alice, f"chatd-file:{sha}")
        assert got.status == 200 and got.body == data
        assert [p.name for p in (tmp_path / "shared" / "tmp").iterdir()] == []  # nothing left aside
        for h in (n0, n1, n2):
            h.server.stop()


async def test_check_warns_when_a_node_on_postgresql_keeps_its_files_to_itself(tmp_path, pg_dsn):
    env = {**proc.clean_env(), "CHATD_STORAGE_DATABASE": pg_dsn}
    own = await proc.run("check", "--data", str(tmp_path / "data"), env=env)
    assert own.returncode == 0 and "warning: uploaded files are kept in" in own.stderr and "files.directory" in own.stderr, own.stderr
    shared = await proc.run("check", "--data", str(tmp_path / "data"), env={**env, "CHATD_FILES_DIRECTORY": str(tmp_path / "shared")})
    assert shared.returncode == 0 and "warning" not in shared.stderr, shared.stderr
    with pytest.raises(ConfigError, match="files.directory: an absolute path"):
        load(None, environ={}, flags={"files": {"directory": "relative/files"}})

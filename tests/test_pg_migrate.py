"""`chatd migrate --to postgresql://…` (chatd.store.pg_copy, docs/scaling.md), run as the
command: a database a real server wrote (users, a DM, a group, Chinese text, an edit, a
reaction) is copied into a new PostgreSQL database of the tests' cluster and every table
checked; a server started on the copy serves the same history, and search finds the Chinese
message. What is refused changes nothing."""

from __future__ import annotations

from pathlib import Path

import psycopg
import trio

from chatd.config import load
from chatd.store import pg_copy

from . import helpers_proc as proc
from .conftest import Harness, make_config, start_server


async def _fill(tmp_path: Path) -> dict[str, int]:
    """A server on SQLite in tmp_path/data with some of everything; its ids."""
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, make_config(tmp_path / "data"))
        h = Harness(server, nursery)
        ids = {"alice": await h.add_user("alice", admin=True), "bob": await h.add_user("bob")}
        async with h.client("alice") as a:
            sent = await a.request("chat_dm_send", {"peer": ids["bob"], "content": {"type": "text", "text": "明天开会 at noon"}})
            await a.request("chat_dm_edit", {"peer": ids["bob"], "msg_id": sent["message"]["id"], "content": {"type": "text", "text": "明天下午开会 at noon"}})
            group = await a.request("chat_group_create", {"name": "组", "members": [ids["bob"]]})
            ids["group"] = group["group"]["group_id"]
            for k in range(30):
                await a.request("chat_group_send", {"group_id": ids["group"], "content": {"type": "text", "text": f"message {k}"}})
        async with h.client("bob") as b:
            await b.request("chat_dm_react", {"peer": ids["alice"], "msg_id": sent["message"]["id"], "emoji": "👍"})
        ids["dm_msg"] = sent["message"]["id"]
        server.stop()
    return ids


def _count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


async def test_a_database_is_copied_checked_and_served_from_postgresql(tmp_path, pg_cluster):
    ids = await _fill(tmp_path)
    dsn = pg_cluster.create_database()
    done = await proc.run("migrate", "--data", str(tmp_path / "data"), "--to", dsn)
    assert done.returncode == 0, done.stderr
    assert "messages: 32 rows, checked" in done.stdout  # 1 DM, the group's system message, 30 group messages
    assert "users: 2 rows, checked" in done.stdout
    assert _count(dsn, "message_edits") == 1 and _count(dsn, "messages") == 32

    again = await proc.run("migrate", "--data", str(tmp_path / "data"), "--to", dsn)
    assert again.returncode == 1 and "not empty" in again.stderr  # refused: the copy is untouched
    assert _count(dsn, "messages") == 32

    cfg = make_config(tmp_path / "data", storage={"database": dsn})
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, cfg)
        h = Harness(server, nursery)
        async with h.client("bob") as b:
            history = await b.request("chat_dm_history", {"peer": ids["alice"], "limit": 10})
            (msg,) = history["messages"]
            assert msg["content"]["text"] == "明天下午开会 at noon" and msg["id"] == ids["dm_msg"]
            found = await b.request("chat_dm_search", {"query": "开会"})
            assert [r["message"]["id"] for r in found["results"]] == [ids["dm_msg"]]
            page = await b.request("chat_group_history", {"group_id": ids["group"], "limit": 5})
            assert [m["content"]["text"] for m in page["messages"] if m["content"]["type"] == "text"] == [f"message {k}" for k in range(25, 30)]
            new = await b.request("chat_group_send", {"group_id": ids["group"], "content": {"type": "text", "text": "after the move"}})
            assert new["message"]["seq"] == page["last_seq"] + 1 and new["message"]["id"] > ids["dm_msg"]
        server.stop()


def test_a_copy_that_differs_is_caught(tmp_path):
    """The check itself: the digest of a table's rows changes with any value, in any order."""
    a = pg_copy._digest([(1, "a", b"\x00"), (2, None, 1.5)])
    assert a == pg_copy._digest([(2, None, 1.5), (1, "a", b"\x00")])  # order does not matter
    assert a != pg_copy._digest([(1, "a", b"\x01"), (2, None, 1.5)])
    assert a != pg_copy._digest([(1, "a", b"\x00"), (2, "", 1.5)])  # NULL is not ''
    assert a != pg_copy._digest([(1, "a", b"\x00")])
    assert load(None, environ={}, flags={}).storage.database == ""


async def test_migrate_refuses_what_it_cannot_copy(tmp_path):
    missing = await proc.run("migrate", "--data", str(tmp_path / "none"), "--to", "postgresql://chatd@127.0.0.1:1/x")
    assert missing.returncode == 2 and "no database" in missing.stderr
    bad = await proc.run("migrate", "--data", str(tmp_path / "none"), "--to", "mysql://x")
    assert bad.returncode == 2 and "PostgreSQL URL" in bad.stderr

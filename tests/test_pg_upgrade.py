"""Upgrading a PostgreSQL database in place (chatd.store.pg_upgrade, docs/scaling.md).

A database is made as the chatd of an older schema version made it (pg_schema.create at that
version), rows are put in with that version's columns, and the real server is started on it:
it upgrades the schema, the data is served (history, an edit, a reaction, HTML sanitized by
migration 13, the announcements conversation of migration 18, search), and the upgraded
schema's catalogue (tables, columns and their types, collations, defaults, identities,
indexes, constraints, sequences) is the one a new database gets. From the oldest version and
from others. Several nodes: one upgrades under the advisory lock while the others wait; a node
refuses to upgrade under a live node, and any refuses a database newer than itself."""

from __future__ import annotations

import logging
import threading
from typing import Any

import msgspec
import psycopg
import pytest
import trio

from chatd.store import pg_schema, pg_upgrade
from chatd.store.db import EPOCH_MS, now_ms
from chatd.store.files import StartupError
from chatd.store.schema import LATEST, SchemaTooNew

from . import helpers_proc as proc
from .conftest import _HASH, Harness, make_config, start_server

UNSAFE_HTML = '<p onclick="steal()">quarterly <b>report</b><script>x()</script></p>'


def _catalogue(dsn: str) -> dict[str, Any]:
    """What a schema is, as PostgreSQL's catalogue says, without the names PostgreSQL chose."""
    with psycopg.connect(dsn) as conn:
        columns = conn.execute(
            "SELECT table_name, ordinal_position, column_name, data_type, collation_name, is_nullable, column_default, is_identity, identity_generation "
            "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
        ).fetchall()
        indexes = conn.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2").fetchall()
        constraints = conn.execute(
            "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' ORDER BY 1, 2"
        ).fetchall()
        sequences = conn.execute("SELECT sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY 1").fetchall()
        collations = conn.execute("SELECT collname, collprovider, colliculocale, collisdeterministic FROM pg_collation WHERE collnamespace = 'public'::regnamespace ORDER BY 1").fetchall()
    return {"columns": columns, "indexes": indexes, "constraints": constraints, "sequences": sequences, "collations": collations}


def _old_database(dsn: str, version: int) -> dict[str, int]:
    """A database as the chatd of `version` made it, with two users, a DM (a text message edited,
    with a reaction, and, before migration 13, an HTML message not yet sanitized); its ids."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        pg_schema.create(conn, at=version)
        assert pg_schema.version(conn) == version
        now = now_ms()
        ids = {}
        for name in ("alice", "bob"):
            (ids[name],) = conn.execute(
                "INSERT INTO users (name, display_name, password_hash, created_at) VALUES (%s, %s, %s, %s) RETURNING id", (name, name.title(), _HASH, now)
            ).fetchone()
        low, high = sorted((ids["alice"], ids["bob"]))
        texts = [("text", {"type": "text", "text": "明天开会 before the upgrade"})]
        if version < 13:
            texts.append(("html", {"type": "html", "text": UNSAFE_HTML}))
        first = (now - EPOCH_MS - 60_000) << 12
        (conv,) = conn.execute(
            "INSERT INTO conversations (kind, dm_key, last_seq, last_msg_id, last_activity, created_at) VALUES ('dm', %s, %s, %s, %s, %s) RETURNING id",
            (f"{low}:{high}", len(texts), first + len(texts) - 1, now, now),
        ).fetchone()
        for user in (low, high):
            conn.execute("INSERT INTO members (conv_id, user_id, joined_at) VALUES (%s, %s, %s)", (conv, user, now))
        for k, (kind, content) in enumerate(texts):
            conn.execute(
                "INSERT INTO messages (id, conv_id, seq, sender_id, type, content, created_at, edited_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (first + k, conv, k + 1, ids["alice"], kind, msgspec.json.encode(content), now, now if k == 0 else None),
            )
        conn.execute(
            "INSERT INTO message_edits (message_id, content, edited_at) VALUES (%s, %s, %s)",
            (first, msgspec.json.encode({"type": "text", "text": "明天 before the upgrade"}), now),
        )
        if version >= 7:  # that chatd counted edits as it stored them
            conn.execute("UPDATE messages SET edit_count = 1 WHERE id = %s", (first,))
        conn.execute("INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES (%s, %s, '👍', %s)", (first, ids["bob"], now))
        from chatd.store import search_pg

        for k, (kind, content) in enumerate(texts):  # as that chatd indexed them
            text = content["text"] if kind == "text" else "quarterly report"
            conn.execute("INSERT INTO messages_search (id, conv_id, tsv) VALUES (%s, %s, CAST(%s AS tsvector))", (first + k, conv, search_pg.tsvector(text)))
    return {**ids, "conv": conv, "first": first}


@pytest.mark.parametrize("version", [1, 12, 17, LATEST - 1])
async def test_an_older_database_is_upgraded_at_start_and_served(tmp_path, pg_cluster, version):
    dsn = pg_cluster.create_database()
    ids = _old_database(dsn, version)
    async with trio.open_nursery() as nursery:
        h = Harness(await start_server(nursery, make_config(tmp_path / "data", storage={"database": dsn})), nursery)
        async with h.client("bob") as b:
            history = (await b.request("chat_dm_history", {"peer": ids["alice"], "limit": 10}))["messages"]
            assert history[0]["id"] == ids["first"] and history[0]["content"]["text"] == "明天开会 before the upgrade"
            assert history[0]["edited_at"] and history[0]["reactions"][0]["emoji"] == "👍"
            if version < 13:
                assert history[1]["content"] == {"type": "html", "text": "<p>quarterly <b>report</b></p>"}  # sanitized by 13
                found = await b.request("chat_dm_search", {"query": "quarterly"})
                assert [r["message"]["id"] for r in found["results"]] == [ids["first"] + 1]
            found = await b.request("chat_dm_search", {"query": "开会"})
            assert [r["message"]["id"] for r in found["results"]] == [ids["first"]]
            sent = await b.request("chat_dm_send", {"peer": ids["alice"], "content": {"type": "text", "text": "after the upgrade"}})
            assert sent["message"]["seq"] == len(history) + 1
            assert (await b.request("chat_broadcast_history", {"after_seq": 0}))["messages"] == []  # 18's conversation is there
        h.server.stop()
    with psycopg.connect(dsn) as conn:
        assert pg_schema.version(conn) == LATEST
        assert conn.execute("SELECT edit_count FROM messages WHERE id = %s", (ids["first"],)).fetchone() == (1,)  # counted by 7 if before
        (stored,) = conn.execute("SELECT stored_bytes FROM users WHERE id = %s", (ids["alice"],)).fetchone()
        assert stored > 0 if version < 7 else stored == 0  # counted by 7; a chatd at 7 or later counted as it stored
    fresh = pg_cluster.create_database()
    with psycopg.connect(fresh, autocommit=True) as conn:
        pg_schema.create(conn)
    upgraded, new = _catalogue(dsn), _catalogue(fresh)
    for part in new:
        assert upgraded[part] == new[part], part


def test_every_migration_has_a_postgresql_form():
    """Every step translates: its statements, or a function (none left that calls chatd's SQLite functions)."""
    steps = pg_upgrade.plan(0)
    assert [n for n, _ in steps] == list(range(1, LATEST + 1))
    for number, step in steps:
        if not callable(step):
            for kind, sql in step:
                assert "chatd_" not in sql.lower() and "fts" not in sql.lower(), (number, sql)
                assert kind == "dml" or "INTEGER" not in sql.upper().replace("BIGINT", ""), (number, sql)
    assert pg_upgrade.statement("ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT ''") == ("ddl", "ALTER TABLE users ADD COLUMN lang TEXT COLLATE \"C\" NOT NULL DEFAULT ''")
    assert pg_upgrade.statement("INSERT INTO messages_fts (rowid, text) VALUES (1, 'x');") is None


class _Said(logging.Handler):
    """Lines chatd logged, and an event for the first that contains `words`."""

    def __init__(self, words: str):
        super().__init__()
        self.words, self.lines, self.seen = words, [], threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.lines.append(line)
        if self.words in line:
            self.seen.set()


async def test_one_node_upgrades_while_the_others_wait(tmp_path, pg_dsn):
    ids = _old_database(pg_dsn, LATEST - 1)
    said = _Said("another node is creating or upgrading")
    logging.getLogger("chatd.store").addHandler(said)
    try:
        with psycopg.connect(pg_dsn, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (pg_upgrade.LOCK_KEY,))  # as a node upgrading now
            async with trio.open_nursery() as nursery:
                started: list[Harness] = []

                async def node(n: int) -> None:
                    cfg = make_config(tmp_path / f"node{n}", storage={"database": pg_dsn, "node": n})
                    started.append(Harness(await start_server(nursery, cfg), nursery))

                nursery.start_soon(node, 0)
                nursery.start_soon(node, 1)
                await trio.to_thread.run_sync(said.seen.wait)
                with psycopg.connect(pg_dsn) as look:
                    assert pg_schema.version(look) == LATEST - 1  # nothing done while the lock is held
                holder.execute("SELECT pg_advisory_unlock(%s)", (pg_upgrade.LOCK_KEY,))
                while len(started) < 2:
                    await trio.sleep(0.01)
                async with started[0].client("alice") as a, started[1].client("bob") as b:
                    await a.request("chat_dm_send", {"peer": ids["bob"], "content": {"type": "text", "text": "both nodes serve"}})
                    got = (await b.next_push("chat_message"))["data"]
                    assert got["message"]["content"]["text"] == "both nodes serve"
                for h in started:
                    h.server.stop()
    finally:
        logging.getLogger("chatd.store").removeHandler(said)
    assert sum("upgrading chatd's schema from version" in line for line in said.lines) == 1  # one node did it
    with psycopg.connect(pg_dsn) as conn:
        assert pg_schema.version(conn) == LATEST


def _refused(exc: pytest.ExceptionInfo[BaseException], kind: type[BaseException], match: str) -> bool:
    if isinstance(exc.value, BaseExceptionGroup):
        return exc.group_contains(kind, match=match)
    return isinstance(exc.value, kind) and match in str(exc.value)


async def test_no_upgrade_under_a_live_node_the_commands_upgrade_and_a_newer_schema_is_refused(tmp_path, pg_dsn):
    _old_database(pg_dsn, LATEST - 1)
    env = {**proc.clean_env(), "CHATD_STORAGE_DATABASE": pg_dsn}
    data = ["--data", str(tmp_path / "data")]
    said = await proc.run("check", *data, env=env)
    assert said.returncode == 0 and f"schema {LATEST - 1}, will be upgraded to {LATEST} in place" in said.stdout, said.stderr
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO nodes (node, started_at, seen_at, host, pid, run) VALUES (3, %s, %s, 'old-host', 42, 'r')", (now_ms(), now_ms()))
    async with trio.open_nursery() as nursery:
        with pytest.raises(BaseException) as exc:
            await start_server(nursery, make_config(tmp_path / "a", storage={"database": pg_dsn}))
        assert _refused(exc, StartupError, "node 3 (old-host, pid 42)")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert pg_schema.version(conn) == LATEST - 1  # rolled back: nothing changed
        conn.execute("DELETE FROM nodes")
    listed = await proc.run("user", "list", *data, env=env)  # a command that opens the database upgrades it, as serve does
    assert listed.returncode == 0 and "alice" in listed.stdout and "bob" in listed.stdout, listed.stderr
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert pg_schema.version(conn) == LATEST
        conn.execute("UPDATE chatd_meta SET value = %s WHERE key = 'schema_version'", (LATEST + 1,))
    async with trio.open_nursery() as nursery:
        with pytest.raises(BaseException) as exc:
            await start_server(nursery, make_config(tmp_path / "b", storage={"database": pg_dsn}))
        assert _refused(exc, SchemaTooNew, "written by a newer chatd")
    said = await proc.run("check", *data, env=env)
    assert said.returncode == 2 and f"schema version {LATEST + 1}, newer than this chatd" in said.stderr

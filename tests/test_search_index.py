"""The search index on a real SQLite file: its rebuild by migration 4, indexing after the
store, and both query plans."""

from __future__ import annotations

import sqlite3

from chatd.protocol import content as ct
from chatd.store import dm, messages, schema, search
from chatd.store.db import IdGen, connect, now_ms
from chatd.store.writer import WriteCtx

from .schema_rewind import rewind


def _db(tmp_path) -> WriteCtx:
    conn = connect(tmp_path / "chatd.sqlite3")
    schema.migrate(conn)
    ctx = WriteCtx(conn, IdGen())
    ctx.now = now_ms()
    return ctx


def _user(ctx: WriteCtx, name: str) -> int:
    return ctx.conn.execute(
        "INSERT INTO users (name, display_name, password_hash, created_at) VALUES (?, ?, 'x', 0) RETURNING id", (name, name)
    ).fetchone()[0]


def _send(ctx: WriteCtx, conv_id: int, sender: int, text: str, kind: str = "text") -> int:
    if kind == "system":
        body = ct.dumps(ct.System(event="joined", text=text))
        new = messages.NewMessage(sender_id=sender, type="system", content=body, text="", client_msg_id=None, quote_id=None, mentions=[])
    else:
        body = ct.dumps(ct.Text(text=text))
        new = messages.NewMessage(sender_id=sender, type="text", content=body, text=text, client_msg_id=None, quote_id=None, mentions=[])
    return messages.insert(ctx, conv_id, new)["id"]


def _dm(tmp_path) -> tuple[WriteCtx, int, int, int]:
    """A database with users a and b and their DM: (ctx, a, b, conv_id)."""
    ctx = _db(tmp_path)
    a, b = _user(ctx, "a"), _user(ctx, "b")
    return ctx, a, b, dm.create_conv(ctx, a, b)


def _index(ctx: WriteCtx) -> None:
    """What the writer does a little after messages are stored."""
    upto, caught_up = search.op_index_pending(ctx, 1000)
    assert caught_up and upto == ctx.ids.last


def _find(conn: sqlite3.Connection, user: int, query: str) -> list[int]:
    return search.search_ids(conn, user, search.build_query(query), kind="dm", conv_id=None, before_id=None, limit=50)


def test_migration_rebuilds_the_index_from_the_messages(tmp_path):
    ctx, a, b, conv = _dm(tmp_path)
    conn = ctx.conn
    kept = _send(ctx, conv, a, "明天开会 budget meeting")
    gone = _send(ctx, conv, b, "开会 secret plans")
    _send(ctx, conv, a, "开会 joined", kind="system")
    _index(ctx)
    messages.recall(ctx, conv, b, gone, is_admin=False, window_ms=60_000)
    before = {q: _find(conn, a, q) for q in ("开会", "会", "budget", "meet", "secret", "joined")}
    assert before["开会"] == [kept] and before["secret"] == [] and before["joined"] == []
    # Run migration 4 again over the same messages: the index it builds answers alike.
    conn.execute("DROP TABLE search_state")  # made by migration 5, which runs again after 4
    rewind(conn, 3)
    assert schema.migrate(conn) == 3
    assert search.indexed_upto(conn) == ctx.ids.last
    assert {q: _find(conn, a, q) for q in before} == before
    conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
    # Edits and recalls keep working on the rebuilt index.
    messages.edit(ctx, conv, a, kept, messages.NewMessage(a, "text", ct.dumps(ct.Text(text="后天")), "后天", None, None, []))
    assert _find(conn, a, "开会") == [] and _find(conn, a, "后天") == [kept]
    conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")


def test_both_plans_find_only_the_users_conversations(tmp_path):
    ctx = _db(tmp_path)
    conn = ctx.conn
    me = _user(ctx, "me")
    other = _user(ctx, "other")
    mine, theirs = [], []
    # One conversation more than the filter names in the MATCH: the caller-side plan.
    for i in range(search.CONV_FILTER_MAX + 1):
        peer = _user(ctx, f"p{i}")
        mine.append(_send(ctx, dm.create_conv(ctx, me, peer), peer, f"report {i} 开会"))
        theirs.append(_send(ctx, dm.create_conv(ctx, other, peer), peer, f"report {i} 开会 c{i}"))
    _index(ctx)
    assert _find(conn, me, "开会") == sorted(mine, reverse=True)[:50]
    # A user with few conversations: they are named in the MATCH.
    assert _find(conn, other, "开会") == sorted(theirs, reverse=True)[:50]
    few = _user(ctx, "few")
    conv = dm.create_conv(ctx, few, other)
    only = _send(ctx, conv, few, "report 开会")
    _index(ctx)
    assert _find(conn, few, "开会") == [only] and _find(conn, few, "report") == [only]
    # A conversation token is never matched by the words of a query.
    assert _find(conn, other, "c3") == [theirs[3]] and _find(conn, few, "c1") == []


def test_messages_changed_before_they_are_indexed(tmp_path):
    """Edits and recalls of a message the index has not reached yet change nothing in the index:
    the indexer reads the content as it is when it runs. Of an indexed one, they replace its entry."""
    ctx, a, _, conv = _dm(tmp_path)
    conn = ctx.conn
    indexed = _send(ctx, conv, a, "alpha first")
    recalled_early = _send(ctx, conv, a, "alpha recalled")
    _index(ctx)
    assert _find(conn, a, "alpha") == [recalled_early, indexed]
    edited_late = _send(ctx, conv, a, "bravo draft")
    recalled_late = _send(ctx, conv, a, "bravo gone")
    assert _find(conn, a, "bravo") == []  # stored, not indexed yet
    assert search.indexed_upto(conn) < edited_late
    messages.edit(ctx, conv, a, edited_late, messages.NewMessage(a, "text", ct.dumps(ct.Text(text="charlie final")), "charlie final", None, None, []))
    messages.recall(ctx, conv, a, recalled_late, is_admin=False, window_ms=60_000)
    messages.recall(ctx, conv, a, recalled_early, is_admin=False, window_ms=60_000)
    messages.edit(ctx, conv, a, indexed, messages.NewMessage(a, "text", ct.dumps(ct.Text(text="delta first")), "delta first", None, None, []))
    _index(ctx)
    assert _find(conn, a, "alpha") == [] and _find(conn, a, "bravo") == []
    assert _find(conn, a, "charlie") == [edited_late] and _find(conn, a, "delta") == [indexed]
    conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
    # Nothing waiting: a run indexes nothing and keeps the mark.
    assert search.op_index_pending(ctx, 1000) == (ctx.ids.last, True)

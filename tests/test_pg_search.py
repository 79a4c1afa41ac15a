"""Search on PostgreSQL (chatd.store.search_pg) finds what FTS5 finds on SQLite
(chatd.store.search): the same messages, indexed both ways, the same queries, on a real
PostgreSQL cluster (tests/postgres.py) and an FTS5 table made as chatd's schema makes it."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from chatd.store import search, search_pg

MESSAGES = [
    "明天开会", "我们明天下午三点开会吧", "会议室在三楼", "开发进度怎么样", "今天不开了",
    "Let's meet at noon", "The meeting is moved", "meetings and meet-ups", "THE THEORY of everything",
    "café crème", "cafe creme", "snake_case and camelCase", "東京で会いましょう", "서울에서 만나요",
    "version 2.0 released", "order #42 shipped", "明天 meeting 开会 ok", "there them then", "the",
]
QUERIES = [
    "开会", "会", "明天", "开", "三楼", "今天 开", "明天开会", "会议", "meet", "meeting", "Meet",
    "the", "them", "cafe", "café", "CRÈME", "snake", "case", "snake_case", "東京", "会い", "서울에서",
    "2", "42", "released", "明天 meet", "noon meet", "nothing", "开会吧", "t",
]


@pytest.fixture
def both(pg_dsn):
    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE VIRTUAL TABLE messages_fts USING fts5(text, conv, content='', tokenize='unicode61 remove_diacritics 2')")
    for k, text in enumerate(MESSAGES, 1):
        lite.execute("INSERT INTO messages_fts (rowid, text, conv) VALUES (?, ?, ?)", (k, search.segment(text), "c1"))
    pg = psycopg.connect(pg_dsn, autocommit=True)
    for statement in search_pg.SCHEMA:
        pg.execute(statement)
    for k, text in enumerate(MESSAGES, 1):
        pg.execute("INSERT INTO messages_search (id, conv_id, tsv) VALUES (%s, 1, %s::tsvector)", (k, search_pg.tsvector(text)))
    yield lite, pg
    lite.close()
    pg.close()


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_finds_on_postgresql_what_it_finds_with_fts5(both, query):
    lite, pg = both
    match = search.build_query(query)
    wanted = sorted(r[0] for r in lite.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (f"text : ({match})",))) if match else []
    q = search_pg.tsquery(query)
    got = sorted(r[0] for r in pg.execute("SELECT id FROM messages_search WHERE tsv @@ %s::tsquery", (q,))) if q else []
    assert got == wanted, f"{query!r}: PostgreSQL {[MESSAGES[i - 1] for i in got]}, FTS5 {[MESSAGES[i - 1] for i in wanted]}"


def test_short_chinese_queries_find_their_messages(both):
    _, pg = both
    found = [r[0] for r in pg.execute("SELECT id FROM messages_search WHERE tsv @@ %s::tsquery ORDER BY id", (search_pg.tsquery("开会"),))]
    assert [MESSAGES[i - 1] for i in found] == ["明天开会", "我们明天下午三点开会吧", "明天 meeting 开会 ok"]
    assert search_pg.tsquery("  !! ") is None


def test_a_word_longer_than_postgresqls_longest_lexeme_is_left_out(pg_dsn):
    text = "ok " + "x" * 3000 + " 好"
    with psycopg.connect(pg_dsn) as pg:
        vector = pg.execute("SELECT %s::tsvector", (search_pg.tsvector(text),)).fetchone()[0]
    assert vector == "'ok':1 '好':3"

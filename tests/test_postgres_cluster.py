"""The tests' private PostgreSQL cluster (tests/postgres.py) starts, gives each test its own
database, and answers LISTEN/NOTIFY: what the PostgreSQL backend's tests build on."""

from __future__ import annotations

import psycopg


def test_each_test_gets_an_empty_database_of_its_own(pg_cluster, pg_dsn):
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        assert conn.execute("SHOW server_version_num").fetchone()[0] >= "150000"
        conn.execute("CREATE TABLE t (x int)")
    other = pg_cluster.create_database()
    assert other != pg_dsn
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_a_notification_reaches_a_listener(pg_dsn):
    with psycopg.connect(pg_dsn, autocommit=True) as listener, psycopg.connect(pg_dsn, autocommit=True) as sender:
        listener.execute("LISTEN chatd")
        sender.execute("SELECT pg_notify('chatd', '7:42')")
        got = next(listener.notifies(timeout=10))
        assert (got.channel, got.payload) == ("chatd", "7:42")

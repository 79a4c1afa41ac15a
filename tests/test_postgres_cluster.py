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


def test_a_cluster_whose_starting_process_is_gone_is_stopped_and_removed():
    import subprocess

    from tests.postgres import OWNER, Cluster, reap_stale

    stale = Cluster().start()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (stale.root / OWNER).write_text(str(gone.pid))  # as if the run that started it had been killed
    with psycopg.connect(stale.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert stale.root in reap_stale()
    assert not stale.root.exists()
    try:
        psycopg.connect(stale.dsn(), connect_timeout=5).close()
    except psycopg.OperationalError:
        pass
    else:
        raise AssertionError("the stale cluster still answers")

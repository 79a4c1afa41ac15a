"""chatd's SQL on PostgreSQL (chatd.store.dialect, chatd.store.pg_schema), against a real
PostgreSQL (tests/postgres.py):

- the schema derived from the SQLite migrations creates cleanly and has every table, column and
  index of the SQLite schema but the FTS5 ones;
- every statement of chatd/store/*.py (found statically: tests/store_sql.py) translates and is
  accepted by PostgreSQL's PREPARE (syntax, tables, columns and types) against that schema, and
  returns only the types SQLite would (integers, text, bytes), but those of SQLITE_ONLY, each
  with its reason (a new statement that does not translate fails here);
- translated statements give on PostgreSQL the results they give on SQLite.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from chatd.store import community, dialect, pg_schema, schema, social, users
from tests import store_sql


# The functions of chatd.store whose statements are SQLite's by nature, and why: the PostgreSQL
# backend does these another way (the coordinator's list).
SQLITE_ONLY = {
    "db.connect": "PRAGMAs of a SQLite connection",
    "schema.migrate": "the SQLite migrations (PRAGMA user_version); pg_schema.create makes the schema",
    "broadcast.migrate": "migration 18, run on PostgreSQL by tests/test_pg_upgrade.py (an ALTER TABLE there, which PREPARE cannot check)",
    "broadcast._loosen_kind_check": "migration 18's SQLite form (sqlite_schema, writable_schema)",
    "pg_upgrade._upgrade": "the upgrade's own statements and the migrations', run on PostgreSQL by tests/test_pg_upgrade.py",
    "pg_upgrade._lock": "advisory locks, taken by tests/test_pg_upgrade.py",
    "writer.Writer._open": "PRAGMA wal_autocheckpoint of the writer's SQLite connection",
    "writer.Writer._close_conn": "PRAGMA optimize of the writer's SQLite connection",
    "checkpoints.Checkpointer.run": "WAL checkpoints of the SQLite file",
    "snapshot.copy_database": "a snapshot copies the SQLite file (PRAGMAs)",
    "snapshot.integrity_errors": "PRAGMA integrity_check of a SQLite snapshot",
    "snapshot.schema_version": "PRAGMA user_version of a SQLite snapshot (pg_schema.version on PostgreSQL)",
    "users.op_disabled_if_changed": "PRAGMA data_version: whether another connection wrote (the watch for disabled accounts)",
    "search.index": "FTS5 messages_fts (rowid): search on PostgreSQL is the search module's",
    "search.unindex": "FTS5 messages_fts (rowid, the 'delete' command)",
    "search.readable_matches": "a search page's filters, assembled from a list: run on PostgreSQL by tests/test_dm.py's search and tests/test_pg_migrate.py",
    "directory_search.reindex": "FTS5 directory_search (rowid)",
    "directory_search.unindex": "FTS5 directory_search (rowid)",
    "directory_search.search": "FTS5 directory_search MATCH and rank",
}
SQLITE_TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
_TRANSACTION = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b(?:\s+(?:TO\s+)?(?:SAVEPOINT\s+)?(\w+))?\s*$", re.I)
# What SQLite returns from chatd's tables: integers, text, blobs (and NULL). Another type in a
# result (a boolean, numeric for SUM) would reach Python as something else (bool, Decimal).
RESULT_TYPES = {"int8", "int4", "int2", "text", "bytea"}
_PLACEHOLDER = re.compile(r"%%|%s|%\((\d+)\)s")


@pytest.fixture(scope="module")
def pg(pg_cluster: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_cluster.create_database(), autocommit=True) as conn:
        pg_schema.create(conn)
        yield conn


@pytest.fixture
def lite(tmp_path: Any) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    schema.migrate(conn)
    yield conn
    conn.close()


def _sqlite_latest() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    schema.migrate(conn)
    return conn


# --- the schema ---------------------------------------------------------------------------


def test_the_derived_schema_has_every_table_column_and_index_of_sqlites_but_fts(pg):
    lite = _sqlite_latest()
    derived = pg_schema.derive()
    fts = set(derived.fts) | {s for shadows in derived.fts.values() for s in shadows}
    assert set(pg_schema.REPLACED_BY_SEARCH) == {"messages_fts", "directory_search"}
    tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    assert set(tables) - fts == set(derived.tables)
    pg_tables = {r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert pg_tables == set(derived.tables) | {pg_schema.META_TABLE} | set(pg_schema.OWN_TABLES)
    for table in derived.tables:
        want = [(r[1], SQLITE_TYPES[r[2].upper()], bool(r[3] or r[5] and derived.identity.get(table) == r[1])) for r in lite.execute(f"PRAGMA table_info({table})")]
        got = pg.execute(
            "SELECT column_name, data_type, is_nullable = 'NO' FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", (table,)
        ).fetchall()
        want = [(n, t, notnull or (n,) in derived.keys[table][:1]) for n, t, notnull in want]
        assert got == want, table
        assert _pg_keys(pg, table) == {tuple(k) for k in derived.keys[table]}, table
    named = {r[0]: r[1] for r in lite.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert set(named) == set(derived.indexes)
    for name, table in named.items():
        sqlite_cols = [r[2] for r in lite.execute(f"PRAGMA index_info({name})")]
        unique, partial = next((r[2], r[4]) for r in lite.execute(f"PRAGMA index_list({table})") if r[1] == name)
        row = pg.execute(
            "SELECT i.indisunique, i.indpred IS NOT NULL, array_agg(a.attname ORDER BY k.n) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE c.relname = %s GROUP BY i.indisunique, i.indpred",
            (name,),
        ).fetchone()
        assert row == (bool(unique), bool(partial), sqlite_cols), name
    assert pg_schema.version(pg) == schema.LATEST


def _pg_keys(pg: psycopg.Connection[Any], table: str) -> set[tuple[str, ...]]:
    """The primary key and the unique constraints (and non-partial unique indexes) of a table."""
    rows = pg.execute(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE t.relname = %s AND i.indisunique AND i.indpred IS NULL GROUP BY i.indexrelid",
        (table,),
    ).fetchall()
    return {tuple(r[0]) for r in rows}


def test_the_seeded_rows_and_the_identities_follow_the_sqlite_migrations(pg):
    lite = _sqlite_latest()
    assert pg.execute("SELECT id, kind, name FROM conversations").fetchall() == lite.execute("SELECT id, kind, name FROM conversations").fetchall()
    assert pg.execute("SELECT id, indexed_upto FROM search_state").fetchall() == [(1, 0)]
    # The next conversation takes the id after the seeded one, as SQLite's rowid does.
    with pg.transaction():
        (made,) = pg.execute("INSERT INTO conversations (kind, last_activity, created_at) VALUES ('group', 0, 0) RETURNING id").fetchone()
        assert made == lite.execute("INSERT INTO conversations (kind, last_activity, created_at) VALUES ('group', 0, 0) RETURNING id").fetchone()[0]
        pg.execute("DELETE FROM conversations WHERE id = %s", (made,))


# --- every statement ----------------------------------------------------------------------


def _prepared(pg: psycopg.Connection[Any], sql: str) -> list[str]:
    """Raise what PostgreSQL says of the translated statement (PREPARE checks it whole); the
    types of the columns it returns."""
    transaction = _TRANSACTION.match(sql)
    if transaction:  # not preparable: run it where it can run, inside a transaction rolled back
        word, name = transaction.group(1).upper(), transaction.group(2)
        pg.execute("BEGIN")
        try:
            if name and word in {"RELEASE", "ROLLBACK"}:
                pg.execute(f"SAVEPOINT {name}")
            if word != "BEGIN":
                pg.execute(sql)
        finally:
            pg.execute("ROLLBACK")
        return []
    numbered = iter(range(1, 1000))
    text = _PLACEHOLDER.sub(lambda m: "%" if m.group(0) == "%%" else f"${m.group(1) or next(numbered)}", sql)
    try:
        pg.execute(f"PREPARE chatd_check AS {text}")
    except (psycopg.errors.UndefinedFunction, psycopg.errors.IndeterminateDatatype) as e:
        # A parameter whose type PostgreSQL cannot infer (in VALUES, a select list) reads as text
        # here, where psycopg sends Python ints typed: small ones as smallint.
        count = max((int(n) for n in re.findall(r"\$(\d+)", text)), default=0)
        if not count or "text" not in str(e) and "could not determine" not in str(e):
            raise
        pg.execute(f"PREPARE chatd_check ({', '.join(['smallint'] * count)}) AS {text}")
    described = pg.pgconn.describe_prepared(b"chatd_check")
    oids = [described.ftype(i) for i in range(described.nfields)]
    pg.execute("DEALLOCATE chatd_check")
    return [t.name if (t := psycopg.postgres.types.get(oid)) else str(oid) for oid in oids]


def inventory(pg: psycopg.Connection[Any]) -> tuple[list[store_sql.Statement], list[tuple[store_sql.Statement | str, str]]]:
    """The statements that translate and prepare, and the others with PostgreSQL's (or the
    dialect's) reason."""
    found, unknown = store_sql.statements()
    passed: list[store_sql.Statement] = []
    failed: list[tuple[store_sql.Statement | str, str]] = [(f"{where} (line {line})", f"SQL not known statically: {part}") for where, line, part in unknown]
    for statement in found:
        try:
            odd = set(_prepared(pg, dialect.postgres(statement.sql))) - RESULT_TYPES
            if odd:
                failed.append((statement, f"returns {sorted(odd)} where SQLite returns integers"))
                continue
        except dialect.Untranslatable as e:
            failed.append((statement, f"untranslatable: {e}"))
        except psycopg.Error as e:
            failed.append((statement, f"PostgreSQL: {type(e).__name__}: {str(e).splitlines()[0]}"))
        else:
            passed.append(statement)
    return passed, failed


def test_every_store_statement_translates_and_prepares_but_the_sqlite_only_ones(pg):
    passed, failed = inventory(pg)
    assert len(passed) > 400
    where = lambda s: s.where if isinstance(s, store_sql.Statement) else s.split(" (line")[0]  # noqa: E731
    unexpected = [f"{s}\n    {reason}" for s, reason in failed if where(s) not in SQLITE_ONLY]
    assert not unexpected, "statements with no PostgreSQL translation:\n" + "\n".join(unexpected)
    stale = set(SQLITE_ONLY) - {where(s) for s, _ in failed}
    assert not stale, f"listed as SQLite-only but all translate now: {stale}"


def test_every_insert_whose_lastrowid_is_read_returns_its_id_on_postgresql():
    reads = store_sql.lastrowid_reads()
    assert len(reads) >= 8
    for where, line, variants in reads:
        for sql in variants:
            returning = dialect.returning_id(sql)
            assert returning is not None and returning.endswith(" RETURNING id"), f"{where} (line {line}): {sql}"


# --- the same results on both -------------------------------------------------------------


class _PgCursor:
    def __init__(self, cursor: psycopg.Cursor[Any], returned_id: bool):
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.fetchone()[0] if returned_id else None

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgConnection:
    """The least a PostgreSQL connection wrapper does with a store statement: translate it, pass
    its arguments as `dialect.arguments` says, and read lastrowid from `dialect.returning_id`."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.conn = conn

    def execute(self, sql: str, args: Any = None) -> _PgCursor:
        returning = dialect.returning_id(sql)
        return _PgCursor(self.conn.execute(returning or dialect.postgres(sql), dialect.arguments(sql, args)), returning is not None)

    def executemany(self, sql: str, rows: Any) -> None:
        self.conn.cursor().executemany(dialect.postgres(sql), [dialect.arguments(sql, r) for r in rows])


def _scenario(conn: Any) -> list[Any]:
    """Store functions run as chatd runs them; what they return and read back."""
    from chatd.store import directory, messages

    ctx = SimpleNamespace(conn=conn, now=1_000)
    out: list[Any] = []
    ann = users.create_user(conn, "Ann", "h1")  # lastrowid
    bob = users.create_user(conn, "bob", "h2", display_name="Bobby_%")
    cy = users.create_user(conn, "Cy", "h3")
    out.append((ann, bob, cy))
    out.append(users.password_login_row(conn, "ANN"))  # users.name ignores case
    out.append([u["id"] for u in users.search(conn, "B", 10)])  # LIKE: ASCII case folded
    out.append([u["id"] for u in users.search(conn, "bobby_", 10)])  # escaped _ in LIKE … ESCAPE
    out.append([social.list_add(ctx, "blocks", ann, bob), social.list_add(ctx, "blocks", ann, bob)])  # INSERT OR IGNORE twice
    out.append(social.blocked_among(conn, ann, [bob, cy]))
    social.set_privacy(ctx, ann, "friends", False)  # the upsert: inserts
    social.set_privacy(ctx, ann, "contacts", True)  # … then updates
    out.append(social.privacy(conn, ann))
    out.append(social.facts(conn, bob, ann))  # EXISTS as values, FROM (SELECT 1)
    social.add_friendship(ctx, ann, cy)
    social.add_friendship(ctx, ann, bob)  # "bob" before "Cy" by NOCASE, after it by bytes
    out.append([f["user"]["id"] for f in social.friends_page(conn, ann, 10, 0)["friends"]])  # COLLATE NOCASE order
    cid = community.create(ctx, ann, "Hall", "", "", True, "open")  # lastrowid twice
    community.bump(conn, cid, assignments=True)  # ?N numbered, MAX(a, b)
    out.append(conn.execute("SELECT version > 1, assignments_version > 0 FROM communities WHERE id = ?", (cid,)).fetchone())
    top = directory.create_department(ctx, "Top", None)  # parent_id IS ?
    sub = directory.create_department(ctx, "Sub", top)
    out.append(sorted(directory.subtree_ids(conn, top)) == sorted([top, sub]))  # WITH RECURSIVE
    conn.execute("INSERT INTO conversations (id, kind, name, last_activity, created_at) VALUES (?, 'group', '', 0, 0)", (50,))
    for seq, mentions in [(1, "[2, 3]"), (2, "[0]"), (3, None)]:
        conn.execute(
            "INSERT INTO messages (id, conv_id, seq, sender_id, type, content, mentions, created_at) VALUES (?, 50, ?, ?, 'text', ?, ?, 0)",
            (seq * 4096, seq, ann, b'{"text":"x"}', mentions),
        )
    conn.executemany("INSERT INTO members (conv_id, user_id, joined_at, mention_seq) VALUES (50, ?, 0, 4)", [(bob,), (cy,)])
    messages._forget_mention_of(conn, 50, 4, bob)  # json_each over the mentions
    out.append(conn.execute("SELECT user_id, mention_seq FROM members WHERE conv_id = 50 ORDER BY user_id").fetchall())
    return [_plain(v) for v in out]


def _plain(value: Any) -> Any:
    """Rows as lists and booleans as 0/1, as SQLite gives them."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bool):
        return int(value)
    return value


def test_store_functions_give_the_same_results_on_postgresql_as_on_sqlite(pg_dsn, lite):
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        pg_schema.create(conn)
        on_postgres = _scenario(PgConnection(conn))
    on_sqlite = _scenario(lite)
    assert on_postgres == on_sqlite
    assert on_sqlite[4] == [1, 0] and on_sqlite[1] is not None and on_sqlite[-1] == [[2, 2], [3, 4]]


def test_arguments_and_percent_signs_reach_postgresql_as_written(pg):
    sql = "SELECT ? || '%', ?2 || '%', ?1"
    assert dialect.postgres("SELECT '100%' AS a") == "SELECT '100%%' AS a"
    assert pg.execute(dialect.postgres("SELECT '100%' AS a"), dialect.arguments("SELECT '100%' AS a", None)).fetchone() == ("100%",)
    with pytest.raises(dialect.Untranslatable, match="mixes"):
        dialect.postgres(sql)
    numbered = "SELECT ?2 || '%', ?1"
    assert pg.execute(dialect.postgres(numbered), dialect.arguments(numbered, ("a", "b"))).fetchone() == ("b%", "a")
    with pg.transaction(force_rollback=True):  # a Python bool stored as SQLite stores it: 0 or 1
        insert = "INSERT INTO users (name, display_name, password_hash, is_admin, created_at) VALUES (?, ?, '', ?, 0)"
        pg.execute(dialect.postgres(insert), dialect.arguments(insert, ["b", "b", True]))
        assert pg.execute("SELECT is_admin FROM users WHERE name = 'B'").fetchone() == (1,)


@pytest.mark.parametrize(
    "expression, args",
    [
        ("MAX(1, 2), MIN(3, 4), MAX(2), IFNULL(NULL, 5), instr('abcd', 'cd')", ()),
        ("'ABC' LIKE 'ab%', 'É' LIKE 'é', 'a_c' LIKE 'a!_c' ESCAPE '!', 'abc' NOT LIKE ?", ("A%",)),
        ("'b' COLLATE NOCASE = 'B', 'B' COLLATE NOCASE = 'b', 'B' = 'b'", ()),
        ("CAST('7' AS INTEGER) + 1, printf('%s', 'x') || char(31) || 'y', 7 / 2, -7 / 2, 7 % 3", ()),
        ("CAST(NULL AS INTEGER) IS ?, 1 IS ?, 1 IS NOT ?, 2 IS NOT NULL", (None, 1, None)),
        ("?2 - ?1, ?1", (10, 3)),
        ("(SELECT SUM(v) FROM (SELECT 2 AS v UNION ALL SELECT 3) AS s)", ()),
        ("(SELECT COUNT(*) FROM json_each('[1, 2, 3]') WHERE value IN (2, 3))", ()),
        ("EXISTS (SELECT 1), (SELECT group_key FROM (SELECT 'B' AS group_key UNION SELECT 'a') AS g ORDER BY group_key COLLATE NOCASE LIMIT 1), (SELECT k FROM (SELECT 'B' AS k UNION SELECT 'a') AS g ORDER BY k LIMIT 1)", ()),
    ],
)
def test_expressions_give_what_they_give_on_sqlite(pg, expression, args):
    sql = f"SELECT {expression}"
    want = sqlite3.connect(":memory:").execute(sql, args).fetchone()
    assert _plain(pg.execute(dialect.postgres(sql), dialect.arguments(sql, args)).fetchone()) == list(want)


@pytest.mark.parametrize(
    "sql, why",
    [
        ("SELECT rowid FROM messages", "rowid"),
        ("SELECT 1 FROM messages_fts WHERE messages_fts MATCH ?", "MATCH"),
        ("PRAGMA user_version", "PRAGMA"),
        ("SELECT chatd_indexed(type, content) FROM messages", "application function"),
        ("INSERT OR ROLLBACK INTO blocks VALUES (?, ?, ?)", "no such conflict resolution"),
        ("INSERT OR REPLACE INTO users (name) VALUES (?)", "2 unique keys"),
        ("SELECT printf('%d', 1)", "printf"),
    ],
)
def test_what_does_not_translate_says_why(sql, why):
    with pytest.raises(dialect.Untranslatable, match=why):
        dialect.postgres(sql)


def test_insert_or_replace_sets_what_it_does_not_name_to_the_default(pg):
    sql = "INSERT OR REPLACE INTO privacy (user_id, dm_policy) VALUES (?, ?)"
    assert dialect.postgres(sql) == (
        "INSERT INTO privacy (user_id, dm_policy) VALUES (%s, %s) ON CONFLICT (user_id) DO UPDATE SET dm_policy = excluded.dm_policy, friend_requests = DEFAULT"
    )
    with pg.transaction(force_rollback=True):
        (uid,) = pg.execute("INSERT INTO users (name, display_name, password_hash, created_at) VALUES ('r', 'r', '', 0) RETURNING id").fetchone()
        pg.execute("INSERT INTO privacy (user_id, dm_policy, friend_requests) VALUES (%s, 'nobody', 0)", (uid,))
        pg.execute(dialect.postgres(sql), (uid, "friends"))
        assert pg.execute("SELECT dm_policy, friend_requests FROM privacy WHERE user_id = %s", (uid,)).fetchone() == ("friends", 1)


if __name__ == "__main__":  # the inventory: python -m tests.test_pg_sql
    from collections import defaultdict

    from tests.postgres import Cluster

    with Cluster() as cluster, psycopg.connect(cluster.create_database(), autocommit=True) as conn:
        pg_schema.create(conn)
        ok, not_ok = inventory(conn)
    by_reason: dict[str, list[str]] = defaultdict(list)
    for statement, reason in not_ok:
        where = statement.where if isinstance(statement, store_sql.Statement) else statement
        by_reason[SQLITE_ONLY.get(where.split(" (line")[0], "NOT LISTED")].append(f"{statement}  [{reason}]")
    print(f"{len(ok)} statements translate and prepare; {len(not_ok)} do not:")
    for reason, items in sorted(by_reason.items()):
        print(f"\n{reason}:")
        print("\n".join(f"  {' '.join(i.split())[:220]}" for i in items))

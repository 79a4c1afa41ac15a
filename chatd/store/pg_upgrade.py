"""Bringing a PostgreSQL database to this chatd's schema at start (docs/scaling.md): creating it
in an empty database, or upgrading one an older chatd left, in place.

The upgrade applies the SQLite migrations (chatd.store.migrations) from the database's version
on, translated as chatd.store.pg_schema translates the schema, so that an upgraded database
and a new one are the same (tests/test_pg_upgrade.py compares their catalogues):
- CREATE TABLE (TEMP too) → pg_schema's translation (BIGINT, BYTEA, TEXT COLLATE "C", nocase,
  identity columns); ALTER TABLE … ADD COLUMN → the column's definition translated the same way;
- CREATE INDEX, DROP TABLE and DROP INDEX as written; every other statement (the data the
  migrations move) through PgConnection, which translates SQLite's SQL (chatd.store.dialect);
- what names an FTS5 table is left out: search on PostgreSQL is chatd.store.search_pg's index,
  written with each message since the database was made;
- a migration that is a function runs with the PgConnection (it asks `on_postgres` where its
  two forms differ: chatd.store.broadcast.migrate); a SQL migration that calls chatd's own SQLite
  functions (chatd_*) has its PostgreSQL form here, in INSTEAD.

All of it runs in one transaction (PostgreSQL's DDL is transactional): an upgrade that fails
leaves the database as it was. Before it commits, the tables, their columns in order and the
indexes are checked against the schema a new database gets; a difference rolls it back.

Several nodes: the transaction first takes an advisory lock (LOCK_KEY), so one node creates or
upgrades the schema while the others wait for it (and then find it done); the node upgrading
refuses while another node is alive in `nodes` (chatd.store.cluster): an older chatd would go on
writing the older schema. A database at a newer version than this chatd knows is refused
before any of it (chatd.store.pg_open).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from . import cluster, pg_schema, schema
from .db import now_ms
from .files import StartupError
from .migrations import MIGRATIONS

log = logging.getLogger("chatd.store")

LOCK_KEY = 0x63686174645F7363  # "chatd_sc": the schema's advisory lock, one for every chatd
_COMMENT = re.compile(r"--[^\n]*")
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
_ADD_COLUMN = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(.*)$", re.I | re.S)
_AS_WRITTEN = re.compile(r"^\s*(CREATE\s+(UNIQUE\s+)?INDEX|DROP\s+(TABLE|INDEX))\b", re.I)
_VIRTUAL = re.compile(r"CREATE\s+VIRTUAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)


def _html_sanitized(conn: Any) -> None:
    """13 on PostgreSQL: HTML stored before is sanitized, edit histories included, and the
    messages among it indexed again with their words (SQLite's form calls chatd_clean_html and
    rewrites FTS5's index)."""
    from . import messages, search

    for msg_id, conv_id, raw in conn.execute("SELECT id, conv_id, content FROM messages WHERE type = 'html' AND content IS NOT NULL").fetchall():
        old = bytes(raw)
        new = schema._clean_html_content(old)
        if new != old:
            conn.execute("UPDATE messages SET content = ? WHERE id = ?", (new, msg_id))
            search.reindex(conn, msg_id, conv_id, messages.indexed_text("html", old), messages.indexed_text("html", new))
    for edit_id, raw in conn.execute("SELECT id, content FROM message_edits").fetchall():
        old = bytes(raw)
        if b'"type":"html"' in old:
            new = schema._clean_html_content(old)
            if new != old:
                conn.execute("UPDATE message_edits SET content = ? WHERE id = ?", (new, edit_id))


# Shipped migrations whose SQLite form PostgreSQL cannot run, by version (a shipped migration
# never changes, nor its number): what runs instead.
INSTEAD: dict[int, Callable[[Any], None]] = {13: _html_sanitized}


def _fts_names() -> frozenset[str]:
    """Every FTS5 table a migration makes, whether or not a later one drops it."""
    names = set(pg_schema.REPLACED_BY_SEARCH)
    for step in MIGRATIONS:
        if isinstance(step, str):
            names.update(m.lower() for m in _VIRTUAL.findall(step))
    return frozenset(names)


def _names_fts(statement: str, fts: frozenset[str]) -> bool:
    return any(word in fts for word in re.findall(r"\w+", statement.lower()))


def statement(sql: str, fts: frozenset[str] | None = None) -> tuple[str, str] | None:
    """One statement of a SQL migration in PostgreSQL's terms: ("ddl", sql) to run as it is now,
    ("dml", sql) to run through the translating connection; None: left out (FTS5)."""
    fts = _fts_names() if fts is None else fts
    sql = _COMMENT.sub("", sql).strip().rstrip(";").strip()
    if not sql or _names_fts(sql, fts):
        return None
    table = _CREATE_TABLE.match(sql)
    if table:
        name = table.group(1)
        return "ddl", pg_schema._table(name, sql, name in pg_schema.EXPLICIT_IDS)[0]
    column = _ADD_COLUMN.match(sql)
    if column:
        definition = column.group(2).strip()
        for pattern, replacement in pg_schema._TYPES:
            definition = pattern.sub(replacement, definition)
        return "ddl", f"ALTER TABLE {column.group(1)} ADD COLUMN {pg_schema._binary_text(definition)}"
    if _AS_WRITTEN.match(sql):
        return "ddl", sql
    return "dml", sql


def plan(found: int) -> list[tuple[int, list[tuple[str, str]] | Callable[[Any], None]]]:
    """What upgrading a database at version `found` runs: per version, its statements, or a
    function to call with the connection."""
    fts = _fts_names()
    out: list[tuple[int, list[tuple[str, str]] | Callable[[Any], None]]] = []
    for number in range(found + 1, schema.LATEST + 1):
        step = INSTEAD.get(number, MIGRATIONS[number - 1])
        if callable(step):
            out.append((number, step))
        else:
            out.append((number, [s for s in (statement(sql, fts) for sql in schema._split(step)) if s is not None]))
    return out


def _lock(conn: Any, where: str) -> None:
    """Take the schema's lock for this transaction, waiting (and saying so) while another node holds it."""
    (got,) = conn.execute("SELECT pg_try_advisory_xact_lock(?)", (LOCK_KEY,)).fetchone()
    if not got:
        log.warning("%s: another node is creating or upgrading chatd's schema; waiting for it", where)
        conn.execute("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))


def _live_nodes(conn: Any) -> list[str]:
    rows = conn.execute("SELECT node, host, pid FROM nodes WHERE seen_at > ? ORDER BY node", (now_ms() - cluster.NODE_LEASE_MS,)).fetchall()
    return [f"node {node} ({host}, pid {pid})" for node, host, pid in rows]


def check(conn: Any) -> list[str]:
    """How the database's tables, their columns (in order) and indexes differ from a new database's."""
    expected = pg_schema.derive()
    found: dict[str, list[str]] = {}
    for table, column in conn.execute(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ).fetchall():
        found.setdefault(table, []).append(column)
    own = {*pg_schema.OWN_TABLES, pg_schema.META_TABLE}
    problems = [f"table {t} is missing" for t in [*expected.columns, *sorted(own)] if t not in found]
    problems += [f"table {t} is not chatd's" for t in found if t not in expected.columns and t not in own]
    problems += [f"table {t} has the columns {found[t]}, not {cols}" for t, cols in expected.columns.items() if t in found and found[t] != cols]
    indexes = {r[0] for r in conn.execute("SELECT CAST(indexname AS TEXT) FROM pg_indexes WHERE schemaname = current_schema()").fetchall()}
    wanted = set(expected.indexes) | {name for sql in pg_schema.POSTGRESQL_ONLY for name in re.findall(r"CREATE INDEX (\w+)", sql)}
    problems += [f"index {name} is missing" for name in sorted(wanted - indexes)]
    return problems


def _upgrade(conn: Any, found: int, where: str) -> None:
    live = _live_nodes(conn)
    if live:
        raise StartupError(
            f"{where} is at schema version {found} and this chatd's is {schema.LATEST}, but nodes are running on it: {', '.join(live)}. "
            f"Stop every node before upgrading (a node that died frees its place after {cluster.NODE_LEASE_MS // 1000} s)"
        )
    log.warning("%s: upgrading chatd's schema from version %d to %d", where, found, schema.LATEST)
    for number, step in plan(found):
        try:
            if callable(step):
                step(conn)
            else:
                for kind, sql in step:
                    if kind == "ddl":
                        conn.raw.execute(sql)
                    else:
                        conn.execute(sql)
        except Exception as exc:
            raise StartupError(f"{where}: upgrading the schema to version {number} failed, nothing was changed: {exc}") from exc
    problems = check(conn)
    if problems:
        raise StartupError(f"{where}: the upgraded schema is not this chatd's, nothing was changed: {'; '.join(problems)}")
    conn.raw.execute(f"UPDATE {pg_schema.META_TABLE} SET value = %s WHERE key = 'schema_version'", (schema.LATEST,))


def too_new(where: str, found: int) -> str:
    return f"{where} is at schema version {found}, but this chatd knows only up to {schema.LATEST}: it was written by a newer chatd. Upgrade chatd."


def bring_up(conn: Any, where: str) -> int:
    """Create the schema in an empty database, or upgrade an older one, in one transaction under
    the schema's lock; the version it was at (0: empty). `conn`: a chatd.store.pg.PgConnection."""
    conn.execute("BEGIN")
    try:
        _lock(conn, where)
        found = pg_schema.version(conn.raw)  # another node may have done it while this one waited
        if found is None:
            pg_schema.create(conn.raw)
            found = 0
        elif found > schema.LATEST:
            raise schema.SchemaTooNew(too_new(where, found))
        elif found < schema.LATEST:
            _upgrade(conn, found, where)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if 0 < found < schema.LATEST:
        log.warning("%s: chatd's schema is at version %d now", where, schema.LATEST)
    return found

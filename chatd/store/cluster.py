"""What the nodes sharing one PostgreSQL database tell each other (docs/scaling.md): the SQL.

Each node's writer adds, to every batch whose effects other nodes must apply (pushes to their
connections, member lists that changed), one row of `node_events` in the batch's own
transaction, and a NOTIFY naming it: the other nodes hear of it once it is committed, and read
it. The rows of one node have increasing ids in its commit order (one writer per node), so a
node that applied node N's events up to id X reads `id > X` of N's: a lost notification costs
nothing but the wait for the next one, or for the listener's reconnection. Rows are kept
EVENT_RETENTION_MS, then pruned by the node that wrote them.

`nodes` holds each running node's number and when it last said it was alive: a node refuses to
start under a number another live node holds.
"""

from __future__ import annotations

from typing import Any

CHANNEL = "chatd_events"
LIVE_CHANNEL = "chatd_live"  # effects of requests that wrote nothing, in the payload itself
EVENT_RETENTION_MS = 10 * 60 * 1000
NODE_LEASE_MS = 30_000  # a node silent this long is taken for gone: its number is free

SCHEMA = (
    "CREATE TABLE node_events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, node BIGINT NOT NULL, at BIGINT NOT NULL, body BYTEA NOT NULL)",
    "CREATE INDEX node_events_node ON node_events (node, id)",
    "CREATE TABLE nodes (node BIGINT PRIMARY KEY, started_at BIGINT NOT NULL, seen_at BIGINT NOT NULL, host TEXT NOT NULL, pid BIGINT NOT NULL, run TEXT NOT NULL)",
)


def add_event(conn: Any, node: int, now: int, body: bytes) -> None:
    """In the writer's transaction: the batch's events, and the notification that names them
    ("node:id"). One statement whose answer nobody reads: in the writer's pipeline it waits for
    nothing (chatd.store.pg_batch)."""
    conn.execute(
        "WITH e AS (INSERT INTO node_events (node, at, body) VALUES (?1, ?2, ?3) RETURNING id) "
        "SELECT pg_notify(?4, CAST(?1 AS TEXT) || ':' || CAST(e.id AS TEXT)) FROM e",
        (node, now, body, CHANNEL),
    )


def notify_live(conn: Any, payload: str) -> None:
    conn.execute("SELECT pg_notify(?, ?)", (LIVE_CHANNEL, payload))


def events_after(conn: Any, node: int, after_id: int, limit: int) -> list[tuple[int, bytes]]:
    return [(r[0], bytes(r[1])) for r in conn.execute("SELECT id, body FROM node_events WHERE node = ? AND id > ? ORDER BY id LIMIT ?", (node, after_id, limit))]


def latest_events(conn: Any) -> dict[int, int]:
    """Each node's newest event id: where a node that starts begins to read."""
    return {r[0]: r[1] for r in conn.execute("SELECT node, MAX(id) FROM node_events GROUP BY node")}


def prune(conn: Any, node: int, before: int) -> int:
    return int(conn.execute("DELETE FROM node_events WHERE node = ? AND at < ?", (node, before)).rowcount)


def claim(conn: Any, node: int, now: int, host: str, pid: int, run: str) -> tuple[str, int] | None:
    """Take a node's number for this run of a server (`run`: a random name of it); None, or
    (host, pid) of the live node holding it."""
    row = conn.execute("SELECT host, pid, seen_at, run FROM nodes WHERE node = ?", (node,)).fetchone()
    if row is not None and row[2] > now - NODE_LEASE_MS and row[3] != run:
        return row[0], row[1]
    conn.execute(
        "INSERT INTO nodes (node, started_at, seen_at, host, pid, run) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (node) DO UPDATE SET started_at = excluded.started_at, seen_at = excluded.seen_at, host = excluded.host, pid = excluded.pid, run = excluded.run",
        (node, now, now, host, pid, run),
    )
    return None


def alive(conn: Any, node: int, now: int, run: str) -> None:
    conn.execute("UPDATE nodes SET seen_at = ? WHERE node = ? AND run = ?", (now, node, run))


def release(conn: Any, node: int, run: str) -> None:
    conn.execute("DELETE FROM nodes WHERE node = ? AND run = ?", (node, run))

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

`node_presence` holds who is connected to each node (chatd.services.node_presence): a row per
user (room 0) and per room a user is present in, with that node's count of connections. A node
that starts reads the rows of the live nodes; the changes after that come as node events. A
node's rows go when it claims its number again; those of a node gone for good are ignored (only
live nodes' rows are read).
"""

from __future__ import annotations

from typing import Any

CHANNEL = "chatd_events"
LIVE_CHANNEL = "chatd_live"  # effects of requests that wrote nothing, in the payload itself
ASK_CHANNEL = "chatd_ask"  # a node's request to another (a call it holds), and the answer
PAYLOAD_MAX = 7900  # bytes of a notification's payload chatd sends (PostgreSQL's limit is 8,000)
EVENT_RETENTION_MS = 10 * 60 * 1000
NODE_LEASE_MS = 30_000  # a node silent this long is taken for gone: its number is free
FILE_GC_LOCK = 0x63686174645F6763  # "chatd_gc": held by the node collecting files (chatd.services.file_gc)

SCHEMA = (
    "CREATE TABLE node_events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, node BIGINT NOT NULL, at BIGINT NOT NULL, body BYTEA NOT NULL)",
    "CREATE INDEX node_events_node ON node_events (node, id)",
    "CREATE TABLE nodes (node BIGINT PRIMARY KEY, started_at BIGINT NOT NULL, seen_at BIGINT NOT NULL, host TEXT NOT NULL, pid BIGINT NOT NULL, run TEXT NOT NULL)",
    "CREATE TABLE node_presence (node BIGINT NOT NULL, user_id BIGINT NOT NULL, room_id BIGINT NOT NULL, conns BIGINT NOT NULL, PRIMARY KEY (node, user_id, room_id))",
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


def notify_ask(conn: Any, payload: str) -> None:
    conn.execute("SELECT pg_notify(?, ?)", (ASK_CHANNEL, payload))


def events_after(conn: Any, after: dict[int, int], limit: int) -> list[tuple[int, int, bytes]]:
    """The events of these nodes newer than the id given for each, (id, node, body) in id order:
    so the events of one conversation, whichever nodes wrote them, come in the order of its seqs
    (the nodes take its seqs under its row's lock, and an event's id comes after them)."""
    where = " OR ".join("(node = ? AND id > ?)" for _ in after)
    args = [v for item in sorted(after.items()) for v in item]
    rows = conn.execute(f"SELECT id, node, body FROM node_events WHERE {where} ORDER BY id LIMIT ?", (*args, limit))
    return [(r[0], r[1], bytes(r[2])) for r in rows]


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
    conn.execute("DELETE FROM node_presence WHERE node = ?", (node,))  # its last run's
    return None


def alive(conn: Any, node: int, now: int, run: str) -> None:
    conn.execute("UPDATE nodes SET seen_at = ? WHERE node = ? AND run = ?", (now, node, run))


def release(conn: Any, node: int, run: str) -> None:
    if conn.execute("DELETE FROM nodes WHERE node = ? AND run = ?", (node, run)).rowcount:
        conn.execute("DELETE FROM node_presence WHERE node = ?", (node,))


def live_nodes(conn: Any, now: int) -> dict[int, str]:
    """The nodes alive now: {node: its run}."""
    return {r[0]: r[1] for r in conn.execute("SELECT node, run FROM nodes WHERE seen_at > ?", (now - NODE_LEASE_MS,))}


def publish_presence(conn: Any, node: int, rows: list[tuple[int, int, int]]) -> None:
    """This node's presence rows (user id, room id, connections) now: 0 connections deletes.
    (executemany: psycopg sends the statements without waiting for each answer.)"""
    kept = [(node, u, r, c) for u, r, c in rows if c]
    gone = [(node, u, r) for u, r, c in rows if not c]
    if kept:
        conn.executemany(
            "INSERT INTO node_presence (node, user_id, room_id, conns) VALUES (?, ?, ?, ?) ON CONFLICT (node, user_id, room_id) DO UPDATE SET conns = excluded.conns",
            kept,
        )
    if gone:
        conn.executemany("DELETE FROM node_presence WHERE node = ? AND user_id = ? AND room_id = ?", gone)


def live_presence(conn: Any, now: int) -> list[tuple[int, str, int, int, int]]:
    """The presence rows of the live nodes: (node, run, user id, room id, connections)."""
    return [
        (r[0], r[1], r[2], r[3], r[4])
        for r in conn.execute(
            "SELECT p.node, n.run, p.user_id, p.room_id, p.conns FROM node_presence p JOIN nodes n ON n.node = p.node WHERE n.seen_at > ?",
            (now - NODE_LEASE_MS,),
        )
    ]


def try_lock(conn: Any, key: int) -> bool:
    """Take a session's advisory lock if it is free (held until released or the connection closes)."""
    return bool(conn.execute("SELECT pg_try_advisory_lock(?)", (key,)).fetchone()[0])

"""Seq allocation and idempotent sends with several writers, and single-row commit latency
(python -m bench.pg_probe --only seq,commit).

seq: three writer processes (three nodes), each with its own connection, store messages for a
while, into one conversation or spread over 300. Each message is one statement,

    WITH c AS (UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $conv RETURNING last_seq)
    INSERT INTO messages (conv_id, seq, sender_id, client_msg_id, content) SELECT $conv, c.last_seq, ...
    ON CONFLICT (conv_id, sender_id, client_msg_id) DO NOTHING RETURNING id, seq

(the UPDATE takes the conversation's row lock, held to the commit, so seqs are handed out one
writer at a time per conversation). No row back means the (sender, client_msg_id) is stored
already: the seq just taken is given back (`last_seq - 1`: still under the row lock, it is the
last one handed out) and the stored message is read and returned, as a retry's answer. A
transaction holds one message, or 32 (a group commit), taken in conversation order so that
two writers never wait for each other's locks in opposite orders. One message in ten is a
retry: a client_msg_id sent before, by this writer or another (a client reconnected to another
node), or not yet (then the "original" is the retry). Afterwards the database is checked:
every conversation's seqs are exactly 1..last_seq, every (sender, client_msg_id) is stored once,
and every answer any writer gave for it names that one message. Two more runs add to each transaction one
`pg_notify` per new message (ids only, nobody listening: what queueing them costs the commit),
and a control run without the give-back must fail the check.

commit: one single-row INSERT per transaction, one after another, on PostgreSQL over loopback
(synchronous_commit on and off), and through chatd's own SQLite writer
(chatd.store.writer.Writer, each write submitted and awaited under trio) at durability normal
and full; and one fdatasync of the file system holding the cluster's data (bench.syncprobe).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from pathlib import Path
from typing import Any

from .stats import summary_ms

WRITERS = 3
SPREAD_CONVS = 300
SENDERS = 50
RETRY_SHARE = 0.1
BATCH = 32

SCHEMA = """
CREATE TABLE conversations (id bigint PRIMARY KEY, last_seq bigint NOT NULL DEFAULT 0, last_activity timestamptz);
CREATE TABLE messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conv_id bigint NOT NULL REFERENCES conversations(id),
    seq bigint NOT NULL,
    sender_id bigint NOT NULL,
    client_msg_id text NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conv_id, seq),
    UNIQUE (conv_id, sender_id, client_msg_id)
);
"""

SEND = """
WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, last_activity = now() WHERE id = %(conv)s RETURNING last_seq)
INSERT INTO messages (conv_id, seq, sender_id, client_msg_id, content)
SELECT %(conv)s, c.last_seq, %(sender)s, %(cmid)s, %(content)s FROM c
ON CONFLICT (conv_id, sender_id, client_msg_id) DO NOTHING
RETURNING id, seq
"""
GIVE_BACK = "UPDATE conversations SET last_seq = last_seq - 1 WHERE id = %(conv)s"
STORED = "SELECT id, seq FROM messages WHERE conv_id = %(conv)s AND sender_id = %(sender)s AND client_msg_id = %(cmid)s"


def _message(key: tuple[int, int], spread: bool) -> dict[str, Any]:
    """A message is named by (writer, n): its conversation and sender follow from the name, so
    that any writer can send it again."""
    w, n = key
    name = w * 1_000_003 + n
    return {
        "conv": 1 + name % SPREAD_CONVS if spread else 1,
        "sender": 1 + name % SENDERS,
        "cmid": f"c{w}-{n}",
        "content": f'{{"type":"text","text":"message {n} from writer {w}"}}',
    }


def send(conn: Any, msg: dict[str, Any], give_back: bool = True) -> tuple[int, int, bool]:
    """Store one message in the open transaction: (id, seq, whether it was stored before).
    give_back=False is the control: a retry then leaves a gap, which the check must find."""
    row = conn.execute(SEND, msg).fetchone()
    if row is not None:
        return row[0], row[1], False
    if give_back:
        conn.execute(GIVE_BACK, msg)
    row = conn.execute(STORED, msg).fetchone()
    return row[0], row[1], True


def _writer(dsn: str, w: int, spread: bool, batch: int, sync: str, duration: float, give_back: bool, notify: bool, pipe: Any) -> None:
    import psycopg
    from psycopg import errors

    rng = random.Random(w)
    answers: list[tuple[str, int, int, bool]] = []
    lat: list[float] = []
    retried_tx = 0
    n = 0
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET synchronous_commit = {sync}")
        conn.commit()
        pipe.send("ready")
        start_at = pipe.recv()
        time.sleep(max(0.0, start_at - time.perf_counter()))
        end = start_at + duration
        while time.perf_counter() < end:
            keys = []
            for _ in range(batch):
                if n and rng.random() < RETRY_SHARE:
                    keys.append((rng.randrange(WRITERS), rng.randrange(n)))
                else:
                    keys.append((w, n))
                    n += 1
            msgs = sorted((_message(k, spread) for k in keys), key=lambda m: m["conv"])  # lock order
            t0 = time.perf_counter()
            try:
                with conn.transaction():
                    done = [(m["cmid"], *send(conn, m, give_back)) for m in msgs]
                    if notify:  # the new messages' ids, to every node, on commit
                        ids = [f"{m['conv']}:{d[2]}" for m, d in zip(msgs, done) if not d[3]]
                        conn.execute("SELECT pg_notify('chatd_msgs', p) FROM unnest(%s::text[]) AS p", (ids,))
            except (errors.DeadlockDetected, errors.SerializationFailure):
                retried_tx += 1
                continue
            lat.append(time.perf_counter() - t0)
            answers += done
    pipe.send({"answers": answers, "lat": lat, "retried_tx": retried_tx})


def _check(conn: Any, answers: list[tuple[str, int, int, bool]]) -> dict[str, Any]:
    bad_convs = conn.execute(
        "SELECT count(*) FROM (SELECT c.id FROM conversations c LEFT JOIN messages m ON m.conv_id = c.id GROUP BY c.id, c.last_seq "
        "HAVING count(m.id) <> c.last_seq OR count(DISTINCT m.seq) <> count(m.id) OR COALESCE(max(m.seq), 0) <> c.last_seq) x"
    ).fetchone()[0]
    stored = {cmid: (mid, seq) for mid, seq, cmid in conn.execute("SELECT id, seq, client_msg_id FROM messages")}
    dup_rows = conn.execute("SELECT count(*) - count(DISTINCT client_msg_id) FROM messages").fetchone()[0]
    wrong = sum(1 for cmid, mid, seq, _ in answers if stored.get(cmid) != (mid, seq))
    answered = {a[0] for a in answers}
    return {
        "convs_with_gap_or_dup": bad_convs,
        "duplicate_messages": dup_rows,
        "answers_not_matching": wrong,
        "answered_not_stored": len(answered - stored.keys()),
        "stored_not_answered": len(stored.keys() - answered),
        "stored": len(stored),
        "retries_answered_existing": sum(1 for a in answers if a[3]),
    }


def _one(dsn: str, spread: bool, batch: int, sync: str, duration: float, give_back: bool = True, notify: bool = False) -> dict[str, Any]:
    import psycopg

    from .pg_probe import load

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE messages")
        conn.execute("UPDATE conversations SET last_seq = 0")
        conn.execute("VACUUM ANALYZE conversations")
    before = load()
    ctx = mp.get_context("spawn")
    procs = []
    for w in range(WRITERS):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_writer, args=(dsn, w, spread, batch, sync, duration, give_back, notify, child), daemon=True)
        proc.start()
        procs.append((proc, parent))
    for proc, parent in procs:
        if not parent.poll(60) or parent.recv() != "ready":
            raise RuntimeError("a writer did not start")
    start_at = time.perf_counter() + 0.2
    for _, parent in procs:
        parent.send(start_at)
    results = []
    for proc, parent in procs:
        if not parent.poll(duration + 120):
            raise RuntimeError("a writer did not finish")
        results.append(parent.recv())
        proc.join(10)
    answers = [a for r in results for a in r["answers"]]
    lat = [x for r in results for x in r["lat"]]
    with psycopg.connect(dsn) as conn:
        check = _check(conn, answers)
    exact = not any(check[k] for k in ("convs_with_gap_or_dup", "duplicate_messages", "answers_not_matching", "answered_not_stored", "stored_not_answered"))
    return {
        "load1_before": before,
        "target": ("spread" if spread else "one conv") + (" + NOTIFY" if notify else "") + ("" if give_back else " (control: no give-back)"),
        "batch": batch,
        "synchronous_commit": sync,
        "msgs_per_s": round(check["stored"] / duration),
        "sends_per_s": round(len(answers) / duration),
        "tx": summary_ms(lat),
        "retried_tx": sum(r["retried_tx"] for r in results),
        "exact": exact,
        "check": check,
    }


def run(dsn: str, *, duration: float) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO conversations (id) SELECT generate_series(1, %s)", (SPREAD_CONVS,))
    raw, rows = [], []
    for spread in (False, True):
        for sync in ("on", "off"):
            for batch in (1, BATCH):
                r = _one(dsn, spread, batch, sync, duration)
                raw.append(r)
                rows.append(_row(r))
    # The same sends with a NOTIFY of the new messages' ids in each transaction (nobody listening:
    # what queueing them costs the commit; delivering them is pg_probe_notify's part).
    for batch in (1, BATCH):
        r = _one(dsn, True, batch, "on", duration, notify=True)
        raw.append(r)
        rows.append(_row(r))
    # The control: without giving the seq back, every retry leaves a gap; the check must say so.
    r = _one(dsn, False, 1, "off", min(duration, 1.0), give_back=False)
    raw.append(r)
    rows.append(_row(r))
    return {
        "tables": [
            {
                "title": f"Seq allocation: {WRITERS} writer processes, each its own connection, {duration:g} s each; one send in {round(1 / RETRY_SHARE)} a retry",
                "columns": list(rows[0]),
                "rows": rows,
            }
        ],
        "notes": [
            "msgs/s: messages stored (each once); sends/s: every send, retries included; tx: BEGIN to COMMIT returned, as the writer saw it.",
            "exact: every conversation's seqs are 1..last_seq with no gap or repeat, every client_msg_id stored once, every answer names the stored message.",
            "deadlocks: transactions PostgreSQL aborted as deadlocked or unserialisable (retried by the writer).",
            "+ NOTIFY: each transaction also runs one pg_notify per new message (ids only), nobody listening: the cost of queueing them in the commit.",
            "the control row runs without giving a retry's seq back: its exact must be False (the check can fail).",
        ],
        "runs": raw,
    }


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "into": r["target"],
        "sync commit": r["synchronous_commit"],
        "msgs/tx": r["batch"],
        "msgs/s": r["msgs_per_s"],
        "sends/s": r["sends_per_s"],
        "tx p50 ms": r["tx"].get("p50"),
        "tx p99 ms": r["tx"].get("p99"),
        "retries found": r["check"]["retries_answered_existing"],
        "exact": r["exact"],
        "deadlocks": r["retried_tx"],
        "load1": r["load1_before"],
    }


def _pg_commits(dsn: str, n: int, sync: str) -> dict[str, Any]:
    import psycopg

    lat = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET synchronous_commit = {sync}")
        conn.execute("CREATE TABLE IF NOT EXISTS probe_rows (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v bigint NOT NULL)")
        for k in range(n + 50):
            t0 = time.perf_counter()
            conn.execute("INSERT INTO probe_rows (v) VALUES (%s)", (k,))
            if k >= 50:  # the first ones warm the connection up
                lat.append(time.perf_counter() - t0)
    return summary_ms(lat)


def _sqlite_commits(path: Path, n: int, durability: str) -> dict[str, Any]:
    import trio

    from chatd.store import schema
    from chatd.store.db import connect
    from chatd.store.writer import Writer

    conn = connect(path)
    schema.migrate(conn)
    conn.execute("CREATE TABLE probe_rows (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
    conn.close()

    def op(ctx: Any, k: int) -> None:
        ctx.conn.execute("INSERT INTO probe_rows (v) VALUES (?)", (k,))

    lat: list[float] = []

    async def main() -> None:
        writer = Writer(str(path), durability=durability)
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            for k in range(n + 50):
                t0 = time.perf_counter()
                await writer.submit(op, k)
                if k >= 50:
                    lat.append(time.perf_counter() - t0)
            writer.close()

    trio.run(main)
    return summary_ms(lat)


def run_commit(dsn: str, cluster_root: Path, *, n: int) -> dict[str, Any]:
    import tempfile

    from . import syncprobe
    from .pg_probe import load

    rows = []
    for sync in ("on", "off"):
        before = load()
        s = _pg_commits(dsn, n, sync)
        rows.append({"engine": "PostgreSQL 15, loopback TCP, autocommit INSERT", "setting": f"synchronous_commit={sync}", **_lat(s), "load1": before})
    for durability in ("normal", "full"):
        before = load()
        with tempfile.TemporaryDirectory(prefix="chatd-probe-", dir=cluster_root.parent) as tmp:
            s = _sqlite_commits(Path(tmp) / "chatd.db", n, durability)
        rows.append({"engine": "chatd SQLite writer (Writer.submit under trio)", "setting": f"durability={durability}", **_lat(s), "load1": before})
    before = load()
    sync = syncprobe.measure(cluster_root)
    rows.append(
        {
            "engine": f"fdatasync of 4 KiB ({sync['filesystem']}, the cluster's file system)",
            "setting": "-",
            "n": sync["writes"],
            "p50 ms": sync["fdatasync_p50_ms"],
            "p99 ms": sync["fdatasync_p99_ms"],
            "max ms": sync["fdatasync_max_ms"],
            "load1": before,
        }
    )
    return {
        "tables": [{"title": "Single-row write, one after another: latency of each commit as the caller sees it", "columns": ["engine", "setting", "n", "p50 ms", "p99 ms", "max ms", "load1"], "rows": rows}],
        "runs": rows,
    }


def _lat(s: dict[str, Any]) -> dict[str, Any]:
    return {"n": s["n"], "p50 ms": s.get("p50"), "p99 ms": s.get("p99"), "max ms": s.get("max")}

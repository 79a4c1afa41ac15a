"""How the writer runs a batch on PostgreSQL (chatd.store.writer; docs/scaling.md).

The rules are the writer's: one transaction per batch; an op that raises before changing a
row fails alone; anything else that fails makes the batch roll back and run again with a
savepoint per op, so that only the failing op fails. Two things differ on PostgreSQL.

**Round trips.** Each statement is a round trip to the database, and a send is about half a
dozen. So the batch first runs in pipeline mode (chatd.store.pg.PgConnection.pipeline): a
statement whose answer the op does not read (an INSERT, most UPDATEs, BEGIN, COMMIT) is sent
without waiting, and travels with the next statement whose answer is read. An error then
shows when a later answer is read, perhaps in another op, or at the commit: whoever it
surfaces in, the batch is rolled back and run again without pipelining, with savepoints,
where each error is its own op's.

**Other nodes' writers.** Several nodes' batches run at once and can take the same rows'
locks in opposite orders: PostgreSQL then aborts one with a deadlock (40P01), or a
serialization failure or a lock not available (40001, 55P03). Nothing is wrong with such a
batch: it is rolled back and run again whole, up to RETRIES times (counted in
`Writer.retries`), then with savepoints, where an op whose statement still meets one is run
again alone, and fails with `unavailable` if it keeps meeting them.

**The same key from two nodes.** Under PostgreSQL's READ COMMITTED an op that looked for a
row (a resend's client_msg_id) and found none may then meet it in a unique index, once
another node's writer has committed it. The batch is then run again (as for any failure),
and in the savepoint pass such an op once more: each time it looks again, and finds the row.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from typing import TYPE_CHECKING

from ..errors import ChatError

if TYPE_CHECKING:
    from .writer import Writer, _Op

log = logging.getLogger("chatd.writer")

# SQLSTATEs of a transaction that failed only because of the others running beside it: run it
# again and it may well pass. Deadlock detected, serialization failure, lock not available.
RETRYABLE = frozenset({"40P01", "40001", "55P03"})
RETRIES = 3  # whole-batch reruns after a deadlock or serialization failure, before savepoints
UNIQUE_VIOLATION = "23505"
RETRY_PAUSE_S = 0.005
OP_RETRIES = 3  # reruns of one op (to its savepoint) after one, in the savepoint pass

COMMITTED, RERUN, RETRY = "committed", "rerun", "retry"


def run_batch(writer: Writer, batch: list[_Op]) -> None:
    outcome = RETRY
    for attempt in range(RETRIES + 1):
        outcome = _pipelined(writer, batch)
        if outcome != RETRY:
            break
        if attempt < RETRIES:
            writer.retries += 1
            log.info("a write batch met another node's (%s): run again", writer.last_retry)
            # (on the writer's thread) a moment, jittered, so that the two do not meet again
            time.sleep(random.uniform(0, RETRY_PAUSE_S * (attempt + 1)))
    if outcome in (RERUN, RETRY):
        writer.reruns += 1
        _with_savepoints(writer, batch)


def _pipelined(writer: Writer, batch: list[_Op]) -> str:
    """The batch in one pipelined transaction: COMMITTED, RETRY (rolled back after a deadlock or
    a serialization failure) or RERUN (anything else failed, the commit included: the savepoint
    pass tells each op what)."""
    conn = writer._conn
    assert conn is not None
    changes = conn.total_changes
    ok = False
    commit = None
    try:
        with conn.pipeline():
            conn.execute("BEGIN")
            ok = _run_ops(writer, batch)
            if ok:
                _before_commit(writer, batch)
                commit = conn.execute("COMMIT")
        # A failed transaction's COMMIT rolls it back without an error: its tag says which.
        ok = ok and commit is not None and commit.status == "COMMIT"
    except sqlite3.Error:
        ok = False  # an answer read as the pipeline ended: an op's, the nodes' event's or the commit's
    if ok:
        if conn.total_changes != changes:
            writer.health.ok()
        return COMMITTED
    state = conn.error_state
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    if state in RETRYABLE:
        writer.last_retry = state
        return RETRY
    return RERUN


def _run_ops(writer: Writer, batch: list[_Op]) -> bool:
    """Every op of the batch, pipelined; False as soon as one fails after writing or a statement
    fails (the transaction is then refused every other statement)."""
    conn, ctx = writer._conn, writer._ctx
    assert conn is not None
    for op in batch:
        op.result, op.error = None, None
        mark = conn.changes_mark()
        try:
            op.result = op.fn(ctx, *op.args)
        except BaseException as exc:  # noqa: BLE001 - every failure stays with its op
            if conn.changed_since(mark) or conn.failed:
                return False
            op.error = writer._op_error(op, exc)
        else:
            if conn.failed:  # the op caught a statement's error: the transaction is lost
                return False
    return True


def _with_savepoints(writer: Writer, batch: list[_Op]) -> None:
    """The batch without pipelining, a savepoint per op: each failure is rolled back alone."""
    conn, ctx = writer._conn, writer._ctx
    assert conn is not None
    if not writer._begin(batch):
        return
    changes = conn.total_changes
    for op in batch:
        unique_again = True
        for attempt in range(OP_RETRIES + 1):
            op.result, op.error = None, None
            conn.execute("SAVEPOINT op")
            try:
                op.result = op.fn(ctx, *op.args)
            except BaseException as exc:  # noqa: BLE001 - every failure stays with its op
                state = conn.error_state
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                if state == UNIQUE_VIOLATION and unique_again:
                    # Another node committed the same key since the op looked (a resend's
                    # client_msg_id, a DM both users start): run it once more, it finds that row.
                    unique_again = False
                    continue
                if state in RETRYABLE:
                    if attempt < OP_RETRIES:
                        writer.retries += 1
                        continue
                    exc = ChatError("unavailable", "the database is busy with other writes; nothing was stored: try again")
                op.error = writer._op_error(op, exc)
            else:
                if conn.failed:  # the op caught a statement's error: undo what it did
                    state = conn.error_state
                    conn.execute("ROLLBACK TO op")
                    op.result, op.error = None, writer._op_error(op, sqlite3.DatabaseError(f"a statement failed ({state}) and the op went on"))
                conn.execute("RELEASE op")
            break
    _before_commit(writer, batch)
    try:
        committed = conn.execute("COMMIT").status == "COMMIT"
    except sqlite3.Error as exc:
        reason = str(exc)
        committed = False
    else:
        reason = "the transaction failed before its commit"
    if not committed:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        writer._commit_failed(batch, reason)
    elif conn.total_changes != changes:
        writer.health.ok()


def _before_commit(writer: Writer, batch: list[_Op]) -> None:
    if writer.before_commit is not None:
        assert writer._ctx is not None
        try:
            writer.before_commit(writer._conn, batch, writer._ctx.now)
        except Exception:  # noqa: BLE001 - the batch is written whatever happens to what others hear of it
            log.exception("before_commit failed")

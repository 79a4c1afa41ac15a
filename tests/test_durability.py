"""Crash durability: SIGKILL `chatd serve` while clients send as fast as they can.

An ack is a promise: the message was committed. The server is killed TRIALS times
on one data directory (CHATD_KILL_TRIALS, 3 in CI), each time after a random number
of acks, and restarted; each crash image passes SQLite's integrity check. Then every
message acked in any trial is there exactly once, sequence numbers per conversation
run 1..N without gaps, and resending any client_msg_id (acked or not) never makes a
second copy.
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionClosed, HandshakeError

from chatd.client import Client, connect

from . import helpers_proc as proc

PW = "durable password"
USERS = ("alice", "bob", "carol")
# (sender, peer): four connections, three conversations (alice-bob is written from both ends).
SENDERS = (("alice", "bob"), ("bob", "alice"), ("carol", "alice"), ("carol", "bob"))
TASKS_PER_CONNECTION = 2  # requests in flight per connection, each waiting for its own ack
TRIALS = int(os.environ.get("CHATD_KILL_TRIALS", "3"))
KILL_AFTER_ACKS = (50, 600)  # each trial kills after a number of acks drawn from this range
SEED = int(os.environ.get("CHATD_KILL_SEED", "0"))  # other kill points than CI's, by hand
MAX_SENDS = 20_000  # a bound per trial, should the kill never come
# No rate limit in the way of "as fast as they can".
ENV = {
    "CHATD_LIMITS_SEND_RATE_PER_S": "1000000",
    "CHATD_LIMITS_SEND_BURST": "1000000",
    "CHATD_LIMITS_USER_WRITE_RATE_PER_S": "1000000",
    "CHATD_LIMITS_USER_WRITE_BURST": "1000000",
}


class Record:
    """What the clients sent and what was acked, over every trial."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, str]] = {}  # client_msg_id -> (sender, peer)
        self.acked: dict[str, dict[str, Any]] = {}  # client_msg_id -> {id, conv_id, seq, client_msg_id, sender}
        self.trial = 0
        self.kill_at = 0  # kill once this many messages are acked in all
        self.killed = False

    def start_trial(self, trial: int, kill_after: int) -> None:
        self.trial, self.kill_at, self.killed = trial, len(self.acked) + kill_after, False


def text_of(cmid: str) -> str:
    return f"message {cmid}"


async def sender(client: Client, name: str, peer: str, peer_id: int, task: int, record: Record, srv: proc.Served) -> None:
    n = 0
    while n < MAX_SENDS:
        n += 1
        cmid = f"{record.trial}:{name}>{peer}:{task}:{n}"
        record.sent[cmid] = (name, peer)
        data = {"peer": peer_id, "content": {"type": "text", "text": text_of(cmid)}, "client_msg_id": cmid}
        try:
            frame = await client.call("chat_dm_send", data, timeout=10)
        except (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return
        assert frame.get("ok"), frame
        out = frame["data"]
        assert out["duplicate"] is False and out["message"]["client_msg_id"] == cmid, out
        record.acked[cmid] = {"id": out["id"], "conv_id": out["conv_id"], "seq": out["seq"], "client_msg_id": cmid, "sender": name}
        if len(record.acked) >= record.kill_at and not record.killed:
            record.killed = True
            srv.kill()  # mid-stream: the other requests in flight get no answer


async def send_until_killed(srv: proc.Served, ids: dict[str, int], record: Record) -> None:
    async def connection(name: str, peer: str) -> None:
        try:
            async with connect(srv.ws_url) as client:
                await client.login(name, PW)
                async with trio.open_nursery() as nursery:
                    for task in range(TASKS_PER_CONNECTION):
                        nursery.start_soon(sender, client, name, peer, ids[peer], task, record, srv)
        except* (ConnectionClosed, HandshakeError, trio.BrokenResourceError, OSError):
            # Closing a connection whose server is gone may fail; the record is what counts.
            assert record.killed

    async with trio.open_nursery() as nursery:
        for name, peer in SENDERS:
            nursery.start_soon(connection, name, peer)


async def history(client: Client, peer_id: int) -> list[dict[str, Any]]:
    """A whole DM, paged by seq (at most 100 a page), oldest first."""
    out: list[dict[str, Any]] = []
    after = 0
    for _ in range(TRIALS * MAX_SENDS // 100 + 10):
        page = await client.request("chat_dm_history", {"peer": peer_id, "after_seq": after, "limit": 100})
        out.extend(page["messages"])
        if not page["messages"] or not page["has_more"]:
            return out
        after = page["messages"][-1]["seq"]
    raise AssertionError("history did not end")


def check_conversation(messages: list[dict[str, Any]]) -> None:
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(1, len(seqs) + 1)), f"seqs are not 1..{len(seqs)}: gaps or repeats"
    cmids = Counter(m["client_msg_id"] for m in messages)
    assert max(cmids.values(), default=1) == 1, [c for c, k in cmids.items() if k > 1]


def check_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        dupes = conn.execute(
            "SELECT sender_id, client_msg_id, COUNT(*) FROM messages WHERE client_msg_id IS NOT NULL "
            "GROUP BY sender_id, client_msg_id HAVING COUNT(*) > 1"
        ).fetchall()
        assert dupes == []
        rows = conn.execute(
            "SELECT c.id, c.last_seq, COUNT(m.id), MIN(m.seq), MAX(m.seq) FROM conversations c "
            "LEFT JOIN messages m ON m.conv_id = c.id GROUP BY c.id"
        ).fetchall()
        for conv_id, last_seq, count, low, high in rows:
            if count == 0:  # (the announcements, made empty by a migration)
                assert last_seq == 0, f"conversation {conv_id}: no messages, last_seq {last_seq}"
                continue
            assert (low, high, last_seq) == (1, count, count), f"conversation {conv_id}: seqs {low}..{high}, {count} messages, last_seq {last_seq}"
    finally:
        conn.close()


# normal runs each batch on the trio thread and checkpoints on the writer thread; full runs
# each batch on the writer thread (chatd/store/writer.py): both keep every ack.
@pytest.mark.parametrize("durability", ["normal", "full"])
async def test_acked_messages_survive_sigkill_exactly_once(tmp_path, durability):
    data = tmp_path / "data"
    db_path = data / "chatd.sqlite3"
    rng = random.Random(f"{SEED}:{durability}")
    with trio.fail_after(60 + 30 * TRIALS):
        await proc.add_user(data, USERS[0], PW)
        async with trio.open_nursery() as nursery:
            for name in USERS[1:]:
                nursery.start_soon(proc.add_user, data, name, PW)

        # -- run, and crash: TRIALS times on the same database -------------------------------
        record = Record()
        env = proc.clean_env(**ENV, CHATD_STORAGE_DURABILITY=durability)
        for trial in range(TRIALS):
            record.start_trial(trial, rng.randint(*KILL_AFTER_ACKS))
            async with proc.serve(data, env=env) as srv:
                ids = {name: (await login_id(srv, name))["user"]["id"] for name in USERS}
                await send_until_killed(srv, ids, record)
                assert record.killed, "the server was never killed"
                code = await srv.wait()
                assert code < 0 or code == 137, f"expected death by SIGKILL, got exit {code}"
            assert len(record.acked) >= record.kill_at
            # The crash image itself is a sound database.
            check_database(db_path)
        unacked = [cmid for cmid in record.sent if cmid not in record.acked]
        assert unacked, "nothing was in flight at any kill"
        print(f"{durability}: {TRIALS} kills, {len(record.acked)} acked, {len(unacked)} in flight at the kills")

        # -- restart: every ack is kept, once ---------------------------------------------------
        async with proc.serve(data, env=env) as srv:
            clients: dict[str, Client] = {}
            async with connect(srv.ws_url) as a, connect(srv.ws_url) as b, connect(srv.ws_url) as c:
                for name, client in zip(USERS, (a, b, c)):
                    await client.login(name, PW)
                    clients[name] = client

                async def stored() -> dict[str, dict[str, Any]]:
                    """client_msg_id -> message, over every conversation, checking each one's seqs."""
                    out: dict[str, dict[str, Any]] = {}
                    for me, peer in (("alice", "bob"), ("carol", "alice"), ("carol", "bob")):
                        messages = await history(clients[me], ids[peer])
                        check_conversation(messages)
                        for m in messages:
                            assert m["client_msg_id"] in record.sent, f"a message nobody sent: {m}"
                            out[m["client_msg_id"]] = m
                    return out

                found = await stored()
                for cmid, ack in record.acked.items():
                    m = found.get(cmid)
                    assert m is not None, f"acked message lost: {ack}"
                    assert (m["id"], m["conv_id"], m["seq"]) == (ack["id"], ack["conv_id"], ack["seq"]), (m, ack)
                    assert m["content"] == {"type": "text", "text": text_of(cmid)}
                    assert m["sender_id"] == ids[ack["sender"]]

                # -- resend what was never acked: stored once, whether or not it had committed ----
                for cmid in unacked:
                    name, peer = record.sent[cmid]
                    out = await resend(clients[name], ids[peer], cmid)
                    if cmid in found:  # committed, but the ack never left
                        assert out["duplicate"] is True and out["id"] == found[cmid]["id"], out
                    else:
                        assert out["duplicate"] is False, out

                # -- resend every acked one: the original comes back ---------------------------------
                for cmid, ack in record.acked.items():
                    name, peer = record.sent[cmid]
                    out = await resend(clients[name], ids[peer], cmid)
                    assert out["duplicate"] is True, out
                    assert (out["id"], out["conv_id"], out["seq"]) == (ack["id"], ack["conv_id"], ack["seq"]), (out, ack)

                after = await stored()
                assert set(after) == set(record.sent), "after resending, every sent message is stored"
                for cmid, m in found.items():
                    assert after[cmid]["id"] == m["id"]

        check_database(db_path)


async def login_id(srv: proc.Served, name: str) -> dict[str, Any]:
    async with connect(srv.ws_url) as c:
        return await c.login(name, PW)


async def resend(client: Client, peer_id: int, cmid: str) -> dict[str, Any]:
    data = {"peer": peer_id, "content": {"type": "text", "text": text_of(cmid)}, "client_msg_id": cmid}
    out = await client.request("chat_dm_send", data, timeout=10)
    assert out["message"]["client_msg_id"] == cmid
    return out

"""One DM checked against a model: random operation sequences, the server compared over the wire.

alice and bob each have two connected devices (four clients). hypothesis generates a list of
operations; each example runs in its own `trio.run` with its own server and data directory:

* send, by either user from either device, with or without a `client_msg_id`, and sometimes a
  resend of a `client_msg_id` already used (it must come back as a duplicate, with no push);
* edit, of one's own message (a recalled one is `not_editable`) or of the other user's
  (`forbidden`);
* recall, of one's own message within the window (the other user's: `forbidden`; an already
  recalled message answers with it again);
* delete for me; react and unreact (a recalled message is `not_editable`);
* mark read, to a seq (never back, at most the newest) or to the end.

A plain-Python model keeps the messages (content, edit count, recalled flag, reactions), what
each user deleted for themselves and each user's read pointer. After every step the server is
compared with it: `chat_dm_history` for each user (seq order, contents, recalled ones with null
content, deleted-for-me left out), `chat_dm_conversations` (last_seq, last_read_seq, unread
leaving out what the user deleted, last_message the newest one the user can see),
`chat_message_edits` (empty for a recalled message, one entry per edit otherwise), and the
`chat_message` pushes each of the four clients got: exactly the events it should have heard,
once each, in order (new messages to the other user's devices and the acting user's other
device, never to the acting device, which gets the response); and the chat_dm_read_receipt
pushes each got: one for each forward move of the other user's read pointer, by a read mark
or by a send (which reads what came before it).

Bounded for CI (derandomized, 15 sequences of up to 25 steps). A longer run by hand:

    CHATD_MODEL_EXAMPLES=500 CHATD_MODEL_STEPS=60 pytest tests/test_conversation_model.py
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatd.client import ClientError, connect
from chatd.store import users as users_store
from tests.conftest import _HASH, PASSWORD, make_config, start_server

EXAMPLES = int(os.environ.get("CHATD_MODEL_EXAMPLES", "15"))
STEPS = int(os.environ.get("CHATD_MODEL_STEPS", "25"))
USERS = ("alice", "bob")
EMOJI = ("👍", "❤", "x")


# --- operations ---------------------------------------------------------------------------

who = st.tuples(st.sampled_from(USERS), st.integers(0, 1))
idx = st.integers(0, 1000)
ops = st.one_of(
    st.tuples(st.just("send"), who, st.sampled_from(["plain", "cmid", "resend"]), idx),
    st.tuples(st.just("send"), who, st.just("plain"), idx),  # sends weigh more
    st.tuples(st.just("edit"), who, idx),
    st.tuples(st.just("recall"), who, idx),
    st.tuples(st.just("delete"), who, st.lists(idx, min_size=1, max_size=3)),
    st.tuples(st.just("react"), who, idx, st.sampled_from(EMOJI), st.booleans()),
    st.tuples(st.just("read"), who, st.one_of(st.none(), st.integers(0, 40))),
)


# --- the model ----------------------------------------------------------------------------


@dataclass
class Msg:
    id: int
    seq: int
    sender: str
    text: str
    cmid: str | None
    edits: int = 0
    recalled: bool = False
    reactions: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Model:
    msgs: list[Msg] = field(default_factory=list)
    hidden: dict[str, set[int]] = field(default_factory=lambda: {u: set() for u in USERS})
    read: dict[str, int] = field(default_factory=lambda: {u: 0 for u in USERS})
    # The chat_message events each client should have received, in order.
    heard: dict[tuple[str, int], list[tuple[Any, ...]]] = field(default_factory=lambda: {(u, d): [] for u in USERS for d in (0, 1)})
    # The chat_dm_read_receipt seqs each client should have received, in order.
    receipts: dict[tuple[str, int], list[int]] = field(default_factory=lambda: {(u, d): [] for u in USERS for d in (0, 1)})
    cmids: dict[str, int] = field(default_factory=dict)  # client_msg_id -> index in msgs

    def pick(self, i: int) -> Msg | None:
        return self.msgs[i % len(self.msgs)] if self.msgs else None

    def tell(self, users: tuple[str, ...], origin: tuple[str, int], event: tuple[Any, ...]) -> None:
        for key in self.heard:
            if key[0] in users and key != origin:
                self.heard[key].append(event)

    def visible(self, user: str) -> list[Msg]:
        return [m for m in self.msgs if m.id not in self.hidden[user]]


def text(t: str) -> dict[str, str]:
    return {"type": "text", "text": t}


def other(user: str) -> str:
    return USERS[1 - USERS.index(user)]


# --- one sequence against one server ------------------------------------------------------


async def run_sequence(tmp: str, seq_ops: list[Any]) -> None:
    limits = {"send_burst": 10_000, "user_write_burst": 10_000, "frames_burst": 100_000}
    cfg = make_config(tmp, limits=limits)
    async with trio.open_nursery() as nursery:
        server = await start_server(nursery, cfg)
        ids: dict[str, int] = {}
        for name in USERS:
            ids[name] = await server.writer.submit(lambda ctx, n=name: users_store.create_user(ctx.conn, n, _HASH, is_admin=False))
        url = server.urls[1]
        async with (
            connect(url) as a0,
            connect(url) as a1,
            connect(url) as b0,
            connect(url) as b1,
        ):
            clients = {("alice", 0): a0, ("alice", 1): a1, ("bob", 0): b0, ("bob", 1): b1}
            async with trio.open_nursery() as logins:  # password checks are slow on purpose: in parallel
                for (name, dev), c in clients.items():
                    logins.start_soon(lambda c=c, n=name, d=dev: c.login(n, PASSWORD, device=f"{n}-{d}"))
            for c in clients.values():
                c.clear_pushes()
            model = Model()
            for step, op in enumerate(seq_ops):
                await apply(op, model, clients, ids, step)
                await check(model, clients, ids, settle=False)
            await trio.sleep(0.05)  # anything pushed twice has arrived by now
            await check(model, clients, ids, settle=True)
        server.stop()


async def apply(op: Any, m: Model, clients: dict[tuple[str, int], Any], ids: dict[str, int], step: int) -> None:
    kind, (user, dev) = op[0], op[1]
    c, peer, origin = clients[(user, dev)], ids[other(user)], (user, dev)
    both = USERS

    async def expect_error(code: str, cmd: str, data: dict[str, Any]) -> None:
        try:
            await c.request(cmd, data)
        except ClientError as e:
            assert e.error.get("code") == code, (cmd, data, e.error)
        else:
            raise AssertionError(f"{cmd} {data}: expected {code}")

    if kind == "send":
        mode, i = op[2], op[3]
        mine = [cm for cm, j in m.cmids.items() if m.msgs[j].sender == user]
        if mode == "resend" and mine:
            cmid = mine[i % len(mine)]
            orig = m.msgs[m.cmids[cmid]]
            out = await c.request("chat_dm_send", {"peer": peer, "content": text(f"resent {step}"), "client_msg_id": cmid})
            assert out["duplicate"] is True and out["id"] == orig.id and out["seq"] == orig.seq, out
            return
        cmid = f"{user}-{step}" if mode != "plain" else None
        t = f"{user} says {step}"
        data: dict[str, Any] = {"peer": peer, "content": text(t)}
        if cmid:
            data["client_msg_id"] = cmid
        out = await c.request("chat_dm_send", data)
        seq = len(m.msgs) + 1
        assert out["duplicate"] is False and out["seq"] == seq, (out, seq)
        assert out["message"]["content"] == text(t)
        m.msgs.append(Msg(out["id"], seq, user, t, cmid))
        if cmid:
            m.cmids[cmid] = len(m.msgs) - 1
        if seq - 1 > m.read[user]:  # sending reads what came before: the peer's devices get a receipt
            for d in (0, 1):
                m.receipts[(other(user), d)].append(seq - 1)
        m.read[user] = seq
        m.tell(both, origin, ("new", seq))
    elif kind == "edit":
        msg = m.pick(op[2])
        if msg is None:
            return
        t = f"{user} edits {step}"
        data = {"peer": peer, "msg_id": msg.id, "content": text(t)}
        if msg.sender != user:
            await expect_error("forbidden", "chat_dm_edit", data)
        elif msg.recalled:
            await expect_error("not_editable", "chat_dm_edit", data)
        else:
            out = await c.request("chat_dm_edit", data)
            assert out["message"]["content"] == text(t) and out["message"]["edited_at"] is not None
            msg.text, msg.edits = t, msg.edits + 1
            m.tell(both, origin, ("edit", msg.seq))
    elif kind == "recall":
        msg = m.pick(op[2])
        if msg is None:
            return
        data = {"peer": peer, "msg_id": msg.id}
        if msg.recalled or msg.sender == user:
            out = await c.request("chat_dm_recall", data)
            assert out["message"]["content"] is None and out["message"]["recalled_at"] is not None
            msg.recalled = True
            m.tell(both, origin, ("recall", msg.seq))
        else:
            await expect_error("forbidden", "chat_dm_recall", data)
    elif kind == "delete":
        if not m.msgs:
            return
        msg_ids = sorted({m.pick(i).id for i in op[2]})  # type: ignore[union-attr]
        out = await c.request("chat_dm_delete", {"peer": peer, "msg_ids": msg_ids})
        assert out["deleted"] == msg_ids, out
        m.hidden[user].update(msg_ids)
        m.tell((user,), origin, ("delete", tuple(msg_ids)))
    elif kind == "react":
        msg = m.pick(op[2])
        if msg is None:
            return
        emoji, remove = op[3], op[4]
        data = {"peer": peer, "msg_id": msg.id, "emoji": emoji, "remove": remove}
        if msg.recalled:
            await expect_error("not_editable", "chat_dm_react", data)
            return
        out = await c.request("chat_dm_react", data)
        who_reacted = msg.reactions.setdefault(emoji, set())
        (who_reacted.discard if remove else who_reacted.add)(user)
        if not who_reacted:
            del msg.reactions[emoji]
        assert reactions_of(out["message"], ids) == reactions_model(msg), (out["message"], msg)
        m.tell(both, origin, ("react", msg.seq))
    elif kind == "read":
        to = op[2]
        if not m.msgs:
            return
        data = {"peer": peer} if to is None else {"peer": peer, "seq": to}
        out = await c.request("chat_dm_mark_read", data)
        top = len(m.msgs)
        old = m.read[user]
        m.read[user] = max(old, top if to is None else min(to, top))
        if m.read[user] > old:  # the peer's devices get a receipt
            for d in (0, 1):
                m.receipts[(other(user), d)].append(m.read[user])
        assert out["last_read_seq"] == m.read[user], (out, m.read)


def reactions_model(msg: Msg) -> dict[str, list[str]]:
    return {e: sorted(us) for e, us in msg.reactions.items() if us}


def reactions_of(wire: dict[str, Any], ids: dict[str, int]) -> dict[str, list[str]]:
    names = {v: k for k, v in ids.items()}
    out = {}
    for r in wire["reactions"] or []:
        assert r["count"] == len(r["user_ids"]), r
        out[r["emoji"]] = sorted(names[u] for u in r["user_ids"])
    return out


def same_message(wire: dict[str, Any], msg: Msg, ids: dict[str, int]) -> None:
    assert wire["id"] == msg.id and wire["seq"] == msg.seq and wire["sender_id"] == ids[msg.sender], (wire, msg)
    if msg.recalled:
        assert wire["content"] is None and wire["recalled_at"] is not None, (wire, msg)
    else:
        assert wire["content"] == text(msg.text) and wire["recalled_at"] is None, (wire, msg)
        assert (wire["edited_at"] is not None) == (msg.edits > 0), (wire, msg)
    assert wire["client_msg_id"] == msg.cmid, (wire, msg)
    assert reactions_of(wire, ids) == reactions_model(msg), (wire, msg)


def events_of(client: Any) -> list[tuple[Any, ...]]:
    out = []
    for p in client.pending_pushes("chat_message"):
        d = p["data"]
        out.append(("delete", tuple(d["msg_ids"])) if d["event"] == "delete" else (d["event"], d["seq"]))
    return out


async def check(m: Model, clients: dict[tuple[str, int], Any], ids: dict[str, int], *, settle: bool) -> None:
    # Pushes: wait until each client has as many as it should, then compare them in order.
    with trio.fail_after(5):
        for key, c in clients.items():
            while len(c.pending_pushes("chat_message")) < len(m.heard[key]):
                await trio.sleep(0.002)
    for key, c in clients.items():
        assert events_of(c) == m.heard[key], (key, events_of(c), m.heard[key])
    with trio.fail_after(5):
        for key, c in clients.items():
            while len(c.pending_pushes("chat_dm_read_receipt")) < len(m.receipts[key]):
                await trio.sleep(0.002)
    for key, c in clients.items():
        got = [p["data"]["seq"] for p in c.pending_pushes("chat_dm_read_receipt")]
        assert got == m.receipts[key], (key, got, m.receipts[key])

    for user in USERS:
        c = clients[(user, 0)]
        peer = ids[other(user)]
        page = await c.request("chat_dm_history", {"peer": peer, "limit": 100})
        visible = m.visible(user)
        assert [w["seq"] for w in page["messages"]] == [v.seq for v in visible], (user, page["messages"], visible)
        for w, v in zip(page["messages"], visible):
            same_message(w, v, ids)
        assert page["last_seq"] == len(m.msgs)

        convs = (await c.request("chat_dm_conversations", {}))["conversations"]
        if not m.msgs:
            assert convs == [], convs
            continue
        assert len(convs) == 1, convs
        conv = convs[0]
        assert conv["peer"]["id"] == peer
        assert conv["last_seq"] == len(m.msgs), (conv, m)
        assert conv["last_read_seq"] == m.read[user], (user, conv, m.read)
        unread = [v for v in visible if v.seq > m.read[user]]
        assert conv["unread"] == len(unread), (user, conv, m.read, m.hidden)
        if visible:
            assert conv["last_message"] is not None, conv
            same_message(conv["last_message"], visible[-1], ids)
        else:
            assert conv["last_message"] is None, conv

    for msg in m.msgs:
        if not settle and not msg.recalled:
            continue
        reader = next((u for u in USERS if msg.id not in m.hidden[u]), None)
        if reader is None:
            continue
        out = await clients[(reader, 1)].request("chat_message_edits", {"msg_id": msg.id})
        if msg.recalled:
            assert out["edits"] == [] and out["total"] == 0, (msg, out)
        else:
            assert out["total"] == msg.edits, (msg, out)


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(ops, min_size=min(12, STEPS), max_size=STEPS))
def test_dm_against_model(seq_ops: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trio.run(run_sequence, tmp, seq_ops)

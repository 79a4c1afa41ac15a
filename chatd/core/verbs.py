"""The chat verbs, written once for every kind: send, history, search, conversations, mark_read,
mute_set and pin_set, typing, edit, recall and recall_batch, delete and react.

Each verb is `async def verb(call, kind) -> response data`. Reads go through the
readers; writes through one writer op (the op_* functions below, run in the
writer's transaction), which checks access with the kind's store, writes
through the store, and returns an Outcome: its result and the pushes it causes,
delivered after the commit in commit order. What differs per kind is read from
its declaration (chatd.core.kinds), never tested by name.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import ChatError
from ..policy import roles
from ..store import conversations as conv_store
from ..store import dm as dm_store
from ..store import messages
from ..store import social as social_store
from ..store.db import now_ms
from .effects import Notify, Outcome, Present, Push, ReadMoved, Users
from . import files as files_core
from . import social_gate
from .kinds import Kind
from .membership import names as membership_names
from .membership import system as system_notice
from .validate import check_rate, new_message

if TYPE_CHECKING:
    from ..handlers import Call


def _access(ctx: Any, kind: Kind, target: int, user_id: int, capability: str) -> conv_store.Access:
    acc = kind.store.access(ctx.conn, target, user_id, capability, ctx.now)
    assert acc is not None
    return acc  # type: ignore[no-any-return]


def _read_moved(kind: Kind, out: Outcome, acc: conv_store.Access, old: int, new: int) -> None:
    """Receipts for a read pointer that moved forward."""
    if new <= old:
        return
    if kind.read_receipts == "aggregated":
        out.effects.append(ReadMoved(acc.conv_id, old, new))
    elif kind.read_receipts == "pair" and acc.role != dm_store.AGENT:  # (an agent has no read pointer)
        to = acc.routed.across(acc.user_id) if acc.routed is not None else (acc.peer_id,)
        out.push("chat_dm_read_receipt", {"conv_id": acc.conv_id, "peer": acc.user_id, "seq": new}, Users(to), skip_origin=False)


def _own_view(ctx: Any, kind: Kind, out: Outcome, acc: conv_store.Access) -> None:
    """The user's own entry to their other devices."""
    kind.update(out, acc.conv_id, kind.store.views(ctx.conn, acc.conv_id, [acc.user_id]))


# --- send ---------------------------------------------------------------------------------


def _via(via: int | None) -> dict[str, int]:
    """The keyword that names the bot of a DM an agent answers (chat_dm_*'s `bot_id`), if any."""
    return {} if via is None else {"via": via}


def op_send(ctx: Any, kind: Kind, target: int, new: messages.NewMessage, via: int | None = None) -> Outcome:
    """Store a message. A resend of a stored client_msg_id returns the original (duplicate), even
    if the sender may no longer send; the same client_msg_id elsewhere is a conflict. `via`: an
    agent's send into the bot's DM it answers (chatd.store.dm_routing)."""
    conn, me = ctx.conn, new.sender_id
    if via is not None:
        found = kind.store.open_send(ctx, target, me, new.client_msg_id, via=via)
        if found.access is not None and kind.gate is not None:  # the agent speaks for the bot: the user's rules for the bot
            kind.gate(conn, via, target, found.conv_id)
    elif kind.gate is not None:  # the social rules, before the message or the DM is made
        found = kind.store.open_send(ctx, target, me, new.client_msg_id, lambda conv_id: kind.gate(conn, me, target, conv_id))  # type: ignore[misc]
    else:
        found = kind.store.open_send(ctx, target, me, new.client_msg_id)
    if found.existing_id is not None:
        existing = messages.load(conn, found.existing_id)
        if existing is None or existing["conv_id"] != found.conv_id:
            raise ChatError("conflict", "this client_msg_id was used for a message elsewhere", field="client_msg_id")
        return Outcome((existing, True))
    acc = found.access
    files_core.check_keys(conn, me, new.content)
    may_all = None
    if roles.MENTION_ALL in kind.by_access:  # forbidden, with what is missing and where, unless allowed
        if 0 in new.mentions:
            _access(ctx, kind, target, me, roles.MENTION_ALL)
        may_all = True
    elif roles.MENTION_ALL in kind.policy.needs:
        may_all = roles.allowed(kind.policy, roles.Actor(me, acc.role, acc.server_admin), roles.MENTION_ALL, ctx.now)
    conv_store.check_mentions(conn, acc, new.mentions, may_all)
    # A mention by someone the mentioned user blocked is kept in the message but notifies nobody.
    quiet = social_gate.quiet_mentions(conn, me, new.mentions, acc.conv_id) if new.mentions else frozenset()
    msg = messages.insert(ctx, acc.conv_id, new, quiet=quiet)
    out = Outcome((msg, False))
    theirs = kind.message(out, "new", msg, acc.peer_id, me, routed=acc.routed)
    if kind.notifies:  # offline devices (chatd.services.push), after the message's pushes
        pair = tuple(acc.routed.across(me)) if acc.routed is not None else (acc.peer_id,)  # a routed DM: who answers it
        to = pair if kind.fanout == "pair" else ()
        mentioned = tuple(u for u in new.mentions if u not in quiet) if new.mentions else ()
        out.effects.append(Notify("message", to, acc.conv_id, kind.name, msg["id"], msg["seq"], me, mentioned, new.content))
    if kind.read_receipts == "pair":  # the peer was written the message: the sender's other devices learn it
        theirs.if_reached = Push("chat_dm_delivery_receipt", {"conv_id": acc.conv_id, "peer": acc.peer_id, "seq": msg["seq"]}, Users((me,)))
    if found.created:  # a DM's first message starts both users' entries (with the peer's profile)
        kind.update(out, acc.conv_id, kind.store.views(conn, acc.conv_id, [me, acc.peer_id], known=msg))
    # Sending reads what came before it (not the message itself: that is no receipt).
    _read_moved(kind, out, acc, acc.last_read_seq, msg["seq"] - 1)
    return out


async def send(call: Call, kind: Kind) -> dict[str, Any]:
    d, ctx = call.data, call.ctx
    check_rate(call.session)
    new = new_message(ctx.cfg.limits, call.user_id, d.content, client_msg_id=d.client_msg_id, quote_id=d.quote_id, mentions=d.mentions)
    target = getattr(d, kind.id_field)
    msg, duplicate = await call.write(op_send, kind, target, new, getattr(d, "bot_id", None))
    out = {"id": msg["id"], "conv_id": msg["conv_id"], "seq": msg["seq"], "server_time": msg["created_at"], "duplicate": duplicate, "message": msg}
    if kind.read_receipts == "pair":
        # The push to the peer goes out right after this response: a peer online now is written it.
        out["delivered"] = not duplicate and ctx.hub.reachable(target)
    return out


# --- reading ------------------------------------------------------------------------------


def _history(conn: Any, kind: Kind, target: int, me: int, d: Any) -> dict[str, Any]:
    acc = kind.store.access(conn, target, me, kind.history_capability, missing_ok=True, **_via(getattr(d, "bot_id", None)))
    if acc is None:  # a DM with no message yet
        return {"conv_id": 0, "messages": [], "has_more": False, "last_seq": 0, "lastid": 0, "begin": 0, "end": 0, "num": 0, "peer_id": 0}
    out = conv_store.history(conn, acc.conv_id, me, conv_store.PageQuery.of(d))
    out["peer_id"] = acc.peer_id
    return out


async def history(call: Call, kind: Kind) -> dict[str, Any]:
    target, me = getattr(call.data, kind.id_field), call.user_id
    out = await call.ctx.readers.read(_history, kind, target, me, call.data)
    await call.ctx.services.streams.overlay(out["messages"])  # running streams' text so far
    peer = out.pop("peer_id")
    if kind.read_receipts == "pair":  # fetching the peer's messages delivers them (not an agent's fetch)
        theirs = [m["seq"] for m in out["messages"] if m["sender_id"] == peer and getattr(call.data, "bot_id", None) is None]
        if theirs:
            call.push("chat_dm_delivery_receipt", {"conv_id": out["conv_id"], "peer": me, "seq": max(theirs)}, Users((peer,)), skip_origin=False)
        return out
    return {kind.id_field: target, **out}


def _search(conn: Any, kind: Kind, target: int | None, me: int, d: Any) -> dict[str, Any]:
    conv_id = None
    if target is not None:
        conv_id = kind.store.access(conn, target, me, kind.history_capability).conv_id  # what reads its history finds in it
    out = conv_store.search_in(conn, me, kind.name, conv_id, d.query, d.before_id, d.limit)
    if kind.fanout == "pair":  # a DM result names the other user instead of the conversation
        peers = kind.store.peer_of(conn, me, sorted({r["conv_id"] for r in out["results"]}))
        remarks = social_store.remarks(conn, me, list(peers.values()))  # the searcher's own names for them
        out["results"] = [
            {"message": r["message"], "peer": (p := peers.get(r["conv_id"], me)), "peer_remark": remarks.get(p, ""), "snippet": r["snippet"]}
            for r in out["results"]
        ]
    else:
        for r in out["results"]:
            r[kind.id_field] = r["conv_id"]
    return out


async def search(call: Call, kind: Kind) -> dict[str, Any]:
    await call.ctx.writer.index_now()
    return await call.ctx.readers.read(_search, kind, getattr(call.data, kind.id_field), call.user_id, call.data)


async def conversations(call: Call, kind: Kind) -> dict[str, Any]:
    d, ctx = call.data, call.ctx
    convs = await ctx.readers.read(lambda conn: kind.store.conversations(conn, call.user_id, limit=d.limit, unread_only=d.unread_only))
    if kind.live is not None:
        for conv in convs:
            kind.live(ctx.services, ctx.hub, conv)
    return {"conversations": convs}


# --- per-user state -----------------------------------------------------------------------


def op_mark_read(ctx: Any, kind: Kind, target: int, user_id: int, seq: int | None) -> Outcome:
    """Move the read pointer forward (never back), to `seq` or the newest message."""
    acc = _access(ctx, kind, target, user_id, roles.READ)
    old, new = conv_store.move_read(ctx.conn, acc, seq)
    out = Outcome(kind.response(acc.conv_id, last_read_seq=new))
    if new != old:
        _own_view(ctx, kind, out, acc)
        _read_moved(kind, out, acc, old, new)
        if kind.notifies:  # the user's offline devices drop this conversation's notifications
            out.effects.append(Notify("read", (user_id,), acc.conv_id, kind.name, seq=new))
    return out


async def mark_read(call: Call, kind: Kind) -> dict[str, Any]:
    return await call.write(op_mark_read, kind, getattr(call.data, kind.id_field), call.user_id, call.data.seq)  # type: ignore[no-any-return]


def op_set_flag(ctx: Any, kind: Kind, target: int, user_id: int, flag: str, value: bool) -> Outcome:
    """pinned or muted (notifications), for this user only."""
    acc = _access(ctx, kind, target, user_id, roles.READ)
    conv_store.set_flag(ctx.conn, acc, flag, value)
    out = Outcome(kind.response(acc.conv_id, **{flag: value}))
    _own_view(ctx, kind, out, acc)
    return out


async def pin_set(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    return await call.write(op_set_flag, kind, getattr(d, kind.id_field), call.user_id, "pinned", d.pinned)  # type: ignore[no-any-return]


async def mute_set(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    return await call.write(op_set_flag, kind, getattr(d, kind.id_field), call.user_id, "muted", d.muted)  # type: ignore[no-any-return]


async def _live_audience(call: Call, kind: Kind, acc: conv_store.Access) -> Any:
    """Who hears what is not stored (typing, control messages): the conversation's connections
    now; None for a DM peer who blocked the user (who is not told)."""
    ctx = call.ctx
    if kind.fanout == "pair":
        if acc.routed is not None:  # a bot's DM an agent answers: its user, the agent, an observing bot
            return Users(tuple({uid for uid, _ in acc.routed.hearing()} | {acc.user_id}))
        if not await ctx.readers.read(social_gate.hears_typing, acc.peer_id, acc.user_id):
            return None
        return Users((acc.peer_id, acc.user_id))
    if kind.fanout == "present":
        return Present(acc.conv_id)
    if kind.fanout == "viewers":  # read now: from the commit that takes VIEW away, nothing more
        return Users(await ctx.readers.read(kind.store.viewers, acc.conv_id, tuple(await ctx.services.members.get(acc.conv_id))))
    return Users(tuple(await ctx.services.members.get(acc.conv_id)))


async def typing(call: Call, kind: Kind) -> dict[str, Any]:
    ctx, me = call.ctx, call.user_id
    via = getattr(call.data, "bot_id", None)
    acc = await ctx.readers.read(lambda conn: kind.store.access(conn, getattr(call.data, kind.id_field), me, roles.SEND, **_via(via)))
    if not call.session.typing_allowed(acc.conv_id, ctx.cfg.limits.typing_interval_ms / 1000):
        return {"sent": False}
    payload = {"kind": kind.name, "conv_id": acc.conv_id, "user_id": me, "typing": call.data.typing}
    to = await _live_audience(call, kind, acc)
    if to is not None:
        call.push(kind.typing_cmd, payload, to, skip_user=me)
    return {"sent": True}


_CONTROL_IDS = itertools.count(time.time_ns() // 1000)  # unique, and increasing across restarts


async def control(call: Call, kind: Kind) -> dict[str, Any]:
    """A control message: to the conversation's connections now (the sender's other devices
    too), in order with its other pushes, with an id but no seq; never stored, never counted
    in a badge. Counted against the send rate."""
    ctx, me, d = call.ctx, call.user_id, call.data
    check_rate(call.session)
    size = len(msgspec.json.encode(d.data))
    if size > ctx.cfg.limits.max_control_bytes:
        raise ChatError("too_large", f"data is over {ctx.cfg.limits.max_control_bytes} bytes", field="data")
    acc = await ctx.readers.read(kind.store.access, getattr(d, kind.id_field), me, roles.SEND)
    control_id = next(_CONTROL_IDS)
    now = now_ms()
    payload = {"kind": kind.name, "conv_id": acc.conv_id, "user_id": me, "id": control_id, "name": d.name, "data": d.data, "server_time": now}
    to = await _live_audience(call, kind, acc)
    if to is not None:
        call.push(kind.control_cmd, payload, to)
    return {"id": control_id, "conv_id": acc.conv_id, "server_time": now}


# --- message changes ----------------------------------------------------------------------


def op_edit(ctx: Any, kind: Kind, target: int, user_id: int, msg_id: int, new: messages.NewMessage, max_edits: int, max_history_bytes: int) -> Outcome:
    acc = _access(ctx, kind, target, user_id, roles.READ)
    if kind.change_gate is not None:
        kind.change_gate(ctx.conn, user_id, acc.peer_id)
    files_core.check_keys(ctx.conn, user_id, new.content)
    msg = messages.edit(ctx, acc.conv_id, user_id, msg_id, new, max_edits=max_edits, max_history_bytes=max_history_bytes)
    out = Outcome({"message": msg})
    kind.message(out, "edit", msg, acc.peer_id, user_id, routed=acc.routed)
    return out


async def edit(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    limits = call.ctx.cfg.limits
    new = new_message(limits, call.user_id, d.content)
    return await call.write(  # type: ignore[no-any-return]
        op_edit, kind, getattr(d, kind.id_field), call.user_id, d.msg_id, new, limits.max_edits_per_message, limits.max_edit_history_bytes
    )


def _may_recall_any(ctx: Any, kind: Kind, target: int, acc: conv_store.Access, server_admin: bool) -> bool | ChatError:
    """Whether the user may recall others' messages here: server admins; else the kind's policy,
    or its store's access check where the kind's own permissions decide (a channel's
    manage_messages: then its refusal, naming what is missing and where, instead of False)."""
    if server_admin:
        return True
    if roles.RECALL_ANY in kind.by_access:
        try:
            kind.store.access(ctx.conn, target, acc.user_id, roles.RECALL_ANY, ctx.now)
        except ChatError as e:
            if e.code == "forbidden":
                return e
            raise
        return True
    return roles.allowed(kind.policy, roles.Actor(acc.user_id, acc.role, acc.server_admin), roles.RECALL_ANY, ctx.now)


def _recall(ctx: Any, kind: Kind, out: Outcome, acc: conv_store.Access, msg_ids: list[int], may: bool | ChatError, window_ms: int) -> list[dict[str, Any]]:
    """Recall these messages in order, each pushed; the users whose mention one was get their
    entry (their badge changes). A message that may not be recalled fails the whole op."""
    mentioned: set[int] = set()
    recalled = []
    for msg_id in msg_ids:
        if isinstance(may, ChatError) and messages.sender_of(ctx.conn, acc.conv_id, msg_id) not in (None, acc.user_id):
            raise may
        mentioned.update(messages.mentions_of(ctx.conn, acc.conv_id, msg_id))
        msg = messages.recall(ctx, acc.conv_id, acc.user_id, msg_id, is_admin=may is True, window_ms=window_ms)
        kind.message(out, "recall", msg, acc.peer_id, acc.user_id, routed=acc.routed)
        recalled.append(msg)
    users = sorted(u for u in mentioned if u != 0)
    if users:
        kind.update(out, acc.conv_id, kind.store.views(ctx.conn, acc.conv_id, users))
    return recalled


def op_recall(ctx: Any, kind: Kind, target: int, user_id: int, msg_id: int, server_admin: bool, window_ms: int) -> Outcome:
    """The sender within the window; those who may recall any message, any time."""
    acc = _access(ctx, kind, target, user_id, roles.READ)
    out = Outcome()
    (msg,) = _recall(ctx, kind, out, acc, [msg_id], _may_recall_any(ctx, kind, target, acc, server_admin), window_ms)
    out.result = {"message": msg}
    return out


async def recall(call: Call, kind: Kind) -> dict[str, Any]:
    ctx, user = call.ctx, call.session.user
    window_ms = ctx.cfg.messages.recall_window_s * 1000
    server_admin = bool(user and user["is_admin"])
    return await call.write(op_recall, kind, getattr(call.data, kind.id_field), call.user_id, call.data.msg_id, server_admin, window_ms)  # type: ignore[no-any-return]


def op_recall_batch(ctx: Any, kind: Kind, target: int, user_id: int, msg_ids: list[int], server_admin: bool, window_ms: int) -> Outcome:
    """Recall several messages of one conversation in one transaction: all of them, or none (the
    first that may not be recalled fails the op, and nothing of it is written). Recalling
    others' messages leaves a system message saying who recalled how many."""
    acc = _access(ctx, kind, target, user_id, roles.READ)
    out = Outcome()
    before = {m: messages.sender_of(ctx.conn, acc.conv_id, m) for m in msg_ids}
    recalled = _recall(ctx, kind, out, acc, msg_ids, _may_recall_any(ctx, kind, target, acc, server_admin), window_ms)
    others = [m["id"] for m in recalled if before[m["id"]] not in (None, user_id)]
    if others and kind.fanout != "pair":
        (actor,) = membership_names(ctx, user_id)
        text = f"{actor} recalled {len(others)} message{'s' if len(others) > 1 else ''}"
        system_notice(ctx, kind, out, acc.conv_id, user_id, "messages_recalled", text, {"by": user_id, "msg_ids": others})
    out.result = {"messages": recalled}
    return out


async def recall_batch(call: Call, kind: Kind) -> dict[str, Any]:
    ctx, user, d = call.ctx, call.session.user, call.data
    ids = list(dict.fromkeys(d.msg_ids))
    most = ctx.cfg.messages.recall_batch_max
    if len(ids) > most:
        raise ChatError("too_large", f"at most {most} messages in one batch recall", field="msg_ids")
    window_ms = ctx.cfg.messages.recall_window_s * 1000
    server_admin = bool(user and user["is_admin"])
    return await call.write(op_recall_batch, kind, getattr(d, kind.id_field), call.user_id, ids, server_admin, window_ms)  # type: ignore[no-any-return]


def op_react(ctx: Any, kind: Kind, target: int, user_id: int, msg_id: int, emoji: str, remove: bool) -> Outcome:
    acc = _access(ctx, kind, target, user_id, roles.READ)
    if kind.change_gate is not None:
        kind.change_gate(ctx.conn, user_id, acc.peer_id)
    msg = messages.react(ctx, acc.conv_id, user_id, msg_id, emoji, remove)
    out = Outcome({"message": msg})
    kind.message(out, "react", msg, acc.peer_id, user_id, routed=acc.routed)
    return out


async def react(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    return await call.write(op_react, kind, getattr(d, kind.id_field), call.user_id, d.msg_id, d.emoji, d.remove)  # type: ignore[no-any-return]


def op_delete(ctx: Any, kind: Kind, target: int, user_id: int, msg_ids: list[int]) -> Outcome:
    """Delete for this user only: their other devices get chat_message delete and their entry."""
    acc = _access(ctx, kind, target, user_id, roles.READ)
    ids = messages.hide(ctx, acc.conv_id, user_id, msg_ids)
    out = Outcome({"deleted": ids})
    payload: dict[str, Any] = {"event": "delete", "kind": kind.name, "conv_id": acc.conv_id, "seq": conv_store.last_seq(ctx.conn, acc.conv_id)}
    if kind.fanout == "pair":
        payload["peer"] = acc.peer_id
    payload["msg_ids"] = ids
    out.push(kind.message_cmd, payload, Users((user_id,)))
    _own_view(ctx, kind, out, acc)
    return out


async def delete(call: Call, kind: Kind) -> dict[str, Any]:
    d = call.data
    return await call.write(op_delete, kind, getattr(d, kind.id_field), call.user_id, d.msg_ids)  # type: ignore[no-any-return]

"""Direct messages: every chat_dm_* request and their pushes."""

from __future__ import annotations

from typing import Any

from ..store import dm as dm_store
from . import Call, handler
from .common import check_rate, new_message


def _push_views(call: Call, views: dict[int, dict[str, Any]]) -> None:
    """chat_dm_conversation_update to each user's devices (not the requesting one)."""
    hub = call.server.hub
    for uid, view in views.items():
        view["peer_online"] = hub.online(view["peer"]["id"]) if view.get("peer") else False
        hub.push_users([uid], "chat_dm_conversation_update", {"conversation": view}, exclude=call.session)


def _push_message(call: Call, event: str, peer_id: int, msg: dict[str, Any]) -> set[int]:
    """chat_message to the peer's devices and the user's other devices. Returns peers reached."""
    hub, me = call.server.hub, call.user_id
    base = {"event": event, "kind": "dm", "conv_id": msg["conv_id"], "seq": msg["seq"], "message": msg}
    hub.push_users([me], "chat_message", {**base, "peer": peer_id}, exclude=call.session)
    return hub.push_users([peer_id], "chat_message", {**base, "peer": me})


@handler("chat_dm_send")
async def send(call: Call) -> dict[str, Any]:
    d, server = call.data, call.server
    check_rate(call.session)
    new = new_message(server.cfg.limits, call.user_id, d.content, client_msg_id=d.client_msg_id, quote_id=d.quote_id, mentions=d.mentions)
    msg, duplicate, views = await server.writer.submit(dm_store.op_send, d.peer, new)
    # The pushes below run right after the response, in the same tick: a peer online now is
    # written the message then, so the response itself can say it was delivered.
    delivered = not duplicate and server.hub.reachable(d.peer)
    if not duplicate:
        peer_id, me = d.peer, call.user_id

        def fanout() -> None:
            reached = _push_message(call, "new", peer_id, msg)
            _push_views(call, views)  # only when this message started the conversation
            if reached:
                receipt = {"conv_id": msg["conv_id"], "peer": peer_id, "seq": msg["seq"]}
                server.hub.push_users([me], "chat_dm_delivery_receipt", receipt, exclude=call.session)

        call.after(fanout)
    return {
        "id": msg["id"],
        "conv_id": msg["conv_id"],
        "seq": msg["seq"],
        "server_time": msg["created_at"],
        "duplicate": duplicate,
        "delivered": delivered,
        "message": msg,
    }


@handler("chat_dm_history")
async def history(call: Call) -> dict[str, Any]:
    d, me = call.data, call.user_id
    out = await call.server.readers.read(dm_store.history, me, d)
    theirs = [m["seq"] for m in out["messages"] if m["sender_id"] == d.peer]
    if theirs:
        receipt = {"conv_id": out["conv_id"], "peer": me, "seq": max(theirs)}
        call.after(lambda: call.server.hub.push_users([d.peer], "chat_dm_delivery_receipt", receipt))
    return out


@handler("chat_dm_conversations")
async def conversations(call: Call) -> dict[str, Any]:
    convs = await call.server.readers.read(dm_store.conversations_for, call.user_id, call.data.limit, call.data.unread_only)
    hub = call.server.hub
    for conv in convs:
        conv["peer_online"] = hub.online(conv["peer"]["id"])
    return {"conversations": convs}


@handler("chat_dm_mark_read")
async def mark_read(call: Call) -> dict[str, Any]:
    d, me = call.data, call.user_id
    conv_id, seq, changed, views = await call.server.writer.submit(dm_store.op_mark_read, me, d.peer, d.seq)
    if changed:

        def fanout() -> None:
            call.server.hub.push_users([d.peer], "chat_dm_read_receipt", {"conv_id": conv_id, "peer": me, "seq": seq})
            _push_views(call, views)

        call.after(fanout)
    return {"conv_id": conv_id, "last_read_seq": seq}


@handler("chat_dm_pin_set")
async def pin_set(call: Call) -> dict[str, Any]:
    d = call.data
    conv_id, views = await call.server.writer.submit(dm_store.op_pin, call.user_id, d.peer, d.pinned)
    call.after(lambda: _push_views(call, views))
    return {"conv_id": conv_id, "pinned": d.pinned}


@handler("chat_dm_typing")
async def typing(call: Call) -> dict[str, Any]:
    d, me, server = call.data, call.user_id, call.server
    conv_id = await server.readers.read(dm_store.require_conv, me, d.peer)
    if not call.session.typing_allowed(conv_id, server.cfg.limits.typing_interval_ms / 1000):
        return {"sent": False}
    payload = {"kind": "dm", "conv_id": conv_id, "user_id": me, "typing": d.typing}
    call.after(lambda: server.hub.push_users([d.peer], "chat_typing", payload))
    return {"sent": True}


@handler("chat_dm_edit")
async def edit(call: Call) -> dict[str, Any]:
    d, server = call.data, call.server
    new = new_message(server.cfg.limits, call.user_id, d.content)
    msg, views = await server.writer.submit(dm_store.op_edit, call.user_id, d.peer, d.msg_id, new)
    call.after(lambda: (_push_message(call, "edit", d.peer, msg), _push_views(call, views)))
    return {"message": msg}


@handler("chat_dm_recall")
async def recall(call: Call) -> dict[str, Any]:
    d, server, user = call.data, call.server, call.session.user
    window_ms = server.cfg.messages.recall_window_s * 1000
    msg, views = await server.writer.submit(dm_store.op_recall, call.user_id, d.peer, d.msg_id, bool(user and user["is_admin"]), window_ms)
    call.after(lambda: (_push_message(call, "recall", d.peer, msg), _push_views(call, views)))
    return {"message": msg}


@handler("chat_dm_react")
async def react(call: Call) -> dict[str, Any]:
    d = call.data
    msg = await call.server.writer.submit(dm_store.op_react, call.user_id, d.peer, d.msg_id, d.emoji, d.remove)
    call.after(lambda: _push_message(call, "react", d.peer, msg))
    return {"message": msg}


@handler("chat_dm_delete")
async def delete(call: Call) -> dict[str, Any]:
    d, me = call.data, call.user_id
    conv_id, ids, views = await call.server.writer.submit(dm_store.op_delete, me, d.peer, d.msg_ids)
    seq = views[me]["last_seq"] if me in views else 0

    def fanout() -> None:
        payload = {"event": "delete", "kind": "dm", "conv_id": conv_id, "seq": seq, "peer": d.peer, "msg_ids": ids}
        call.server.hub.push_users([me], "chat_message", payload, exclude=call.session)
        _push_views(call, views)

    call.after(fanout)
    return {"deleted": ids}


@handler("chat_dm_search")
async def dm_search(call: Call) -> dict[str, Any]:
    await call.server.writer.index_now()
    return await call.server.readers.read(dm_store.search_dms, call.user_id, call.data)

"""Chat commands of conversations with members (groups and rooms), written once.

A kind (ConvKind) says what differs: its name on the wire, the request field
that names the conversation, its one membership check (a store function, run
in readers and writer ops), what it adds to a conversation entry, its
conversation-update push, who hears a message, and what happens when a read
pointer moves. Everything else (validating and storing a send, history, search,
edit, recall, react, delete for me, typing, read, pin and mute, and the shape of
the chat_message push) lives here, and the kind's handlers are one line each.
These are not handlers: handlers call them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .handlers.common import check_rate, new_message
from .store import chat as store

if TYPE_CHECKING:
    from .handlers import Call
    from .server import Server
    from .session import Session


async def member_recipients(server: Server, conv_id: int) -> Iterable[int]:
    """Everyone in the conversation, from the member cache."""
    return await server.members.get(conv_id)


@dataclass(frozen=True)
class ConvKind:
    name: str  # conversations.kind and the `kind` of chat_message / chat_typing
    id_field: str  # the request and push field naming the conversation, e.g. group_id
    access: store.AccessFn  # the one membership check (a store function)
    update_cmd: str  # the conversation-update push
    extra: store.ExtraFn | None = None  # what the kind adds to a conversation entry
    recipients: Callable[[Server, int], Awaitable[Iterable[int]]] = member_recipients
    on_read: Callable[[Server, int, int, int], None] | None = None  # (server, conv_id, old seq, new seq)
    # Per-connection fanout: when set, message events and typing go to these connections
    # (e.g. those present in a room) instead of every device of every recipient.
    sessions: Callable[[Server, int], list[Session]] | None = None


# --- pushes -----------------------------------------------------------------------------


def message_push(kind: ConvKind, event: str, msg: dict[str, Any]) -> dict[str, Any]:
    """The chat_message push for a message event (new, edit, recall, react)."""
    return {"event": event, "kind": kind.name, "conv_id": msg["conv_id"], "seq": msg["seq"], "message": msg}


async def push_message(call: Call, kind: ConvKind, event: str, msg: dict[str, Any]) -> None:
    """After the response: chat_message to every device of every recipient but the asking one (encoded once)."""
    server = call.server
    payload = message_push(kind, event, msg)
    if kind.sessions is not None:
        sessions_of = kind.sessions
        me = call.session
        call.after(lambda: server.hub.push_sessions([s for s in sessions_of(server, msg["conv_id"]) if s is not me], "chat_message", payload))
        return
    targets = await kind.recipients(server, msg["conv_id"])
    call.after(lambda: server.hub.push_users(targets, "chat_message", payload, exclude=call.session))


def update_payload(kind: ConvKind, conv_id: int, view: dict[str, Any] | None) -> dict[str, Any]:
    """The conversation-update push: the user's entry, or removed when they are no longer a member."""
    return {kind.id_field: conv_id, "removed": view is None, "conversation": view}


def push_views(call: Call, kind: ConvKind, conv_id: int, views: dict[int, dict[str, Any] | None], *, exclude_self: bool = True) -> None:
    """Each user's own conversation entry to that user's devices (None: removed)."""
    hub = call.server.hub
    exclude = call.session if exclude_self else None
    for uid, view in views.items():
        hub.push_users([uid], kind.update_cmd, update_payload(kind, conv_id, view), exclude=exclude)


def read_moved(call: Call, kind: ConvKind, conv_id: int, old: int, new: int) -> None:
    if kind.on_read is not None and new > old:
        kind.on_read(call.server, conv_id, old, new)


# --- commands ---------------------------------------------------------------------------


async def send(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    d, server = call.data, call.server
    check_rate(call.session)
    new = new_message(server.cfg.limits, call.user_id, d.content, client_msg_id=d.client_msg_id, quote_id=d.quote_id, mentions=d.mentions)
    msg, duplicate, old_read = await server.writer.submit(store.op_send, kind.access, conv_id, new)
    if not duplicate:
        await push_message(call, kind, "new", msg)
        # Sending reads what came before it (not the message itself: that is no receipt).
        read_moved(call, kind, conv_id, old_read, msg["seq"] - 1)
    return {"id": msg["id"], "conv_id": conv_id, "seq": msg["seq"], "server_time": msg["created_at"], "duplicate": duplicate, "message": msg}


async def history(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    out = await call.server.readers.read(store.history, kind.access, conv_id, call.user_id, call.data)
    return {kind.id_field: conv_id, **out}


async def search(call: Call, kind: ConvKind, conv_id: int | None) -> dict[str, Any]:
    await call.server.writer.index_now()
    out = await call.server.readers.read(store.search_in, kind.access, call.user_id, kind.name, conv_id, call.data)
    for r in out["results"]:
        r[kind.id_field] = r["conv_id"]
    return out


async def conversations(call: Call, kind: ConvKind) -> dict[str, Any]:
    d = call.data
    convs = await call.server.readers.read(
        lambda conn: store.conversations(conn, call.user_id, kind.name, limit=d.limit, unread_only=d.unread_only, extra=kind.extra)
    )
    return {"conversations": convs}


async def mark_read(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    old, new, view = await call.server.writer.submit(store.op_mark_read, kind.access, conv_id, call.user_id, call.data.seq, kind.extra)
    if view is not None:
        call.after(lambda: push_views(call, kind, conv_id, {call.user_id: view}))
        read_moved(call, kind, conv_id, old, new)
    return {kind.id_field: conv_id, "conv_id": conv_id, "last_read_seq": new}


async def set_flag(call: Call, kind: ConvKind, conv_id: int, flag: str, value: bool) -> dict[str, Any]:
    """pinned or muted (notifications), for this user only."""
    view = await call.server.writer.submit(store.op_set_flag, kind.access, conv_id, call.user_id, flag, value, kind.extra)
    call.after(lambda: push_views(call, kind, conv_id, {call.user_id: view}))
    return {kind.id_field: conv_id, "conv_id": conv_id, flag: value}


async def typing(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    server, me = call.server, call.user_id
    await server.readers.read(store.check, kind.access, conv_id, me, "send")
    if not call.session.typing_allowed(conv_id, server.cfg.limits.typing_interval_ms / 1000):
        return {"sent": False}
    payload = {"kind": kind.name, "conv_id": conv_id, "user_id": me, "typing": call.data.typing}
    if kind.sessions is not None:
        sessions_of = kind.sessions
        call.after(lambda: server.hub.push_sessions([s for s in sessions_of(server, conv_id) if s.user_id != me], "chat_typing", payload))
        return {"sent": True}
    targets = [u for u in await kind.recipients(server, conv_id) if u != me]
    call.after(lambda: server.hub.push_users(targets, "chat_typing", payload))
    return {"sent": True}


async def edit(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    d, server = call.data, call.server
    new = new_message(server.cfg.limits, call.user_id, d.content)
    msg = await server.writer.submit(store.op_edit, kind.access, conv_id, call.user_id, d.msg_id, new)
    await push_message(call, kind, "edit", msg)
    return {"message": msg}


async def recall(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    server, user = call.server, call.session.user
    window_ms = server.cfg.messages.recall_window_s * 1000
    server_admin = bool(user and user["is_admin"])
    msg = await server.writer.submit(store.op_recall, kind.access, conv_id, call.user_id, call.data.msg_id, server_admin, window_ms)
    await push_message(call, kind, "recall", msg)
    return {"message": msg}


async def react(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    d = call.data
    msg = await call.server.writer.submit(store.op_react, kind.access, conv_id, call.user_id, d.msg_id, d.emoji, d.remove)
    await push_message(call, kind, "react", msg)
    return {"message": msg}


async def delete(call: Call, kind: ConvKind, conv_id: int) -> dict[str, Any]:
    """Delete for this user: the user's other devices get chat_message delete and their entry."""
    me = call.user_id
    ids, last_seq, view = await call.server.writer.submit(store.op_hide, kind.access, conv_id, me, call.data.msg_ids, kind.extra)

    def fanout() -> None:
        payload = {"event": "delete", "kind": kind.name, "conv_id": conv_id, "seq": last_seq, "msg_ids": ids}
        call.server.hub.push_users([me], "chat_message", payload, exclude=call.session)
        if view is not None:
            push_views(call, kind, conv_id, {me: view})

    call.after(fanout)
    return {"deleted": ids}

"""What the room handlers share: presence (which connections are in which room now), the
room kind for the chat layer, and applying a management op's outcome.
Not a handler module: it registers no commands.

Membership (stored) and presence (in memory) are two things. A member is present on a
connection once that connection has sent room_join (or created the room); the user is
present while at least one of their connections is. Message events and typing in a room
go to the connections present in it, so a member who is not in the room on any
connection catches up by seq with chat_room_history. A connection leaves when it sends
room_exit, when its user stops being a member (exit on another connection, kick, room
deleted), and when it ends (a hub session end hook).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import chat
from ..store import room as room_store

if TYPE_CHECKING:
    from ..hub import Hub
    from ..server import Server
    from ..session import Session
    from . import Call


class RoomPresence:
    """room id -> user id -> that user's connections in the room. No I/O."""

    def __init__(self, hub: Hub):
        self._rooms: dict[int, dict[int, list[Session]]] = {}
        # Bumped by every removal from a room, so a join that overlapped one checks membership
        # again. Never dropped (one int per room that ever lost a member), so it never goes back.
        self._epochs: dict[int, int] = {}
        hub.session_end_hooks.append(self._session_ended)

    def enter(self, session: Session, room_id: int) -> bool:
        """This connection is in the room now; False if it already was."""
        if session.rooms is None:
            session.rooms = set()
        if room_id in session.rooms:
            return False
        session.rooms.add(room_id)
        self._rooms.setdefault(room_id, {}).setdefault(session.user_id, []).append(session)
        return True

    def leave(self, session: Session, room_id: int) -> None:
        if session.rooms is None or room_id not in session.rooms:
            return
        session.rooms.discard(room_id)
        users = self._rooms.get(room_id)
        if users is None:
            return
        mine = users.get(session.user_id)
        if mine is not None and session in mine:
            mine.remove(session)
            if not mine:
                del users[session.user_id]
        if not users:
            del self._rooms[room_id]

    def leave_user(self, room_id: int, user_id: int) -> None:
        """Every connection of the user leaves the room."""
        for session in list(self._rooms.get(room_id, {}).get(user_id, ())):
            self.leave(session, room_id)

    def clear(self, room_id: int) -> None:
        for sessions in list(self._rooms.get(room_id, {}).values()):
            for session in list(sessions):
                self.leave(session, room_id)

    def bump(self, room_id: int) -> None:
        self._epochs[room_id] = self._epochs.get(room_id, 0) + 1

    def epoch(self, room_id: int) -> int:
        return self._epochs.get(room_id, 0)

    def sessions(self, room_id: int) -> list[Session]:
        """The connections in the room now (a new list: fanout may change presence)."""
        return [s for sessions in self._rooms.get(room_id, {}).values() for s in sessions]

    def users(self, room_id: int) -> dict[int, int]:
        """The users present in the room: {user id: how many of their connections are in it}."""
        return {u: len(s) for u, s in self._rooms.get(room_id, {}).items()}

    def count(self, room_id: int) -> int:
        """How many users are present in the room."""
        return len(self._rooms.get(room_id, ()))

    def is_in(self, session: Session, room_id: int) -> bool:
        return session.rooms is not None and room_id in session.rooms

    def _session_ended(self, session: Session) -> None:
        for room_id in list(session.rooms or ()):
            self.leave(session, room_id)
        session.rooms = None


def presence_of(server: Server) -> RoomPresence:
    return server.room_presence  # type: ignore[no-any-return]


def _sessions(server: Server, room_id: int) -> list[Session]:
    return presence_of(server).sessions(room_id)


ROOM = chat.ConvKind(
    name="room",
    id_field="room_id",
    access=room_store.require_member,
    update_cmd="chat_room_conversation_update",
    extra=room_store.extra,
    sessions=_sessions,
)


def with_presence(server: Server, room: dict[str, Any]) -> dict[str, Any]:
    room["present_count"] = presence_of(server).count(room["room_id"])
    return room


async def submit_removal(call: Call, room_id: int, op: Callable[..., Any], *args: Any) -> room_store.Outcome:
    """Run an op that may remove members. The room's epoch moves first, so a join of the
    same user that overlaps it checks membership again before it enters; the removed
    users' connections leave once the op has committed (apply)."""
    presence_of(call.server).bump(room_id)
    return await call.server.writer.submit(op, *args)  # type: ignore[no-any-return]


def apply(call: Call, out: room_store.Outcome) -> None:
    """After a management op committed: the removed users' connections leave the room; then
    (after the response) its system messages go to the connections in the room and to the
    removed users (so they learn why), and each changed user's entry to that user's devices."""
    server, rid = call.server, out.room_id
    presence = presence_of(server)
    for uid in out.removed:
        presence.leave_user(rid, uid)

    def fanout() -> None:
        hub = server.hub
        if out.system:
            targets = presence.sessions(rid)
            removed = set(out.removed)
            targets += [s for uid in removed for s in hub.sessions_of(uid)]
            for msg in out.system:
                hub.push_sessions(targets, "chat_message", chat.message_push(ROOM, "new", msg))
        chat.push_views(call, ROOM, rid, out.views)

    call.after(fanout)

"""Room presence: which connections are in which room now. In memory; no I/O.

Membership (stored) and presence are two things. A member is present on a
connection once that connection has sent room_join (or created the room); the
user is present while at least one of their connections is. Message events and
typing in a room go to the connections present in it, so a member who is not in
the room on any connection catches up by seq with chat_room_history. A
connection leaves when it sends room_exit, when its user stops being a member
(exit on another connection, kick, room disbanded: effects applied in commit
order by the delivery pipeline), and when it ends (the session-end hook).

With several nodes each node keeps its own connections here, and `remote` holds the users
present on the other nodes (chatd.services.node_presence): who is present, and how many, counts
them all; a room's pushes go, on each node, to that node's connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..net.session import Session


class RoomPresence:
    def __init__(self) -> None:
        self._rooms: dict[int, dict[int, list[Session]]] = {}  # room id -> user id -> connections in it
        self._of: dict[Session, set[int]] = {}  # connection -> ids of the rooms it is in
        self.remote: dict[int, dict[int, int]] = {}  # room id -> user id -> connections on other nodes
        self.changed: Callable[[int, int], None] | None = None  # (room id, user id): this node's count moved

    def enter(self, session: Session, room_id: int) -> bool:
        """This connection is in the room now; False if it already was."""
        mine = self._of.setdefault(session, set())
        if room_id in mine:
            return False
        mine.add(room_id)
        self._rooms.setdefault(room_id, {}).setdefault(session.user_id, []).append(session)
        if self.changed is not None:
            self.changed(room_id, session.user_id)
        return True

    def leave(self, session: Session, room_id: int) -> None:
        mine = self._of.get(session)
        if mine is None or room_id not in mine:
            return
        mine.discard(room_id)
        if not mine:
            del self._of[session]
        users = self._rooms.get(room_id)
        if users is None:
            return
        conns = users.get(session.user_id)
        if conns is not None and session in conns:
            conns.remove(session)
            if not conns:
                del users[session.user_id]
            if self.changed is not None:
                self.changed(room_id, session.user_id)
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

    def sessions(self, room_id: int) -> list[Session]:
        """The connections in the room now (a new list: fanout may change presence)."""
        return [s for sessions in self._rooms.get(room_id, {}).values() for s in sessions]

    def users(self, room_id: int) -> dict[int, int]:
        """The users present in the room: {user id: how many of their connections are in it}."""
        out = {u: len(s) for u, s in self._rooms.get(room_id, {}).items()}
        for user_id, conns in self.remote.get(room_id, {}).items():
            out[user_id] = out.get(user_id, 0) + conns
        return out

    def count(self, room_id: int) -> int:
        """How many users are present in the room."""
        here = self._rooms.get(room_id, {})
        remote = self.remote.get(room_id)
        if not remote:
            return len(here)
        return len(here) + sum(1 for user_id in remote if user_id not in here)

    def here(self, room_id: int, user_id: int) -> int:
        """How many of the user's connections to this node are in the room."""
        return len(self._rooms.get(room_id, {}).get(user_id, ()))

    def is_in(self, session: Session, room_id: int) -> bool:
        return room_id in self._of.get(session, ())

    def session_ended(self, session: Session) -> None:
        for room_id in list(self._of.get(session, ())):
            self.leave(session, room_id)

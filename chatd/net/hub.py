"""Who is connected, and fanout: encode a push once, write the same bytes to every socket."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import trio

from ..errors import CLOSE_AUTH, CLOSE_HEARTBEAT
from ..protocol.envelope import encode, push_body
from .session import Session
from .connection import BINARY, TEXT, Cork, ws_frame

log = logging.getLogger("chatd.hub")
_OPCODE = (TEXT, BINARY)


class Hub:
    def __init__(self, heartbeat_timeout_s: float, login_timeout_s: float):
        self.by_user: dict[int, list[Session]] = {}
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.login_timeout_s = login_timeout_s
        self.pending: set[Session] = set()  # connected, not logged in yet
        # Called with each session that ends (after it left by_user): per-connection state
        # kept elsewhere (e.g. who is in which room) is dropped here. Must not block.
        self.session_end_hooks: list[Callable[[Session], None]] = []
        # Held while a committed batch's submitters answer and its pushes go out: each
        # connection then gets what the batch wrote to it with one send() (chatd.core.delivery).
        self.cork = Cork()
        self.deliveries = 0  # pushes written to connections (/metrics)
        # Several nodes (chatd.services.node_presence): the users connected to other nodes, with
        # how many nodes; and what to tell when a user's first connection here comes or the last
        # one goes (called with the user's id).
        self.elsewhere: dict[int, int] = {}
        self.presence_changed: Callable[[int], None] | None = None

    # -- registry of sessions -------------------------------------------------------

    def add(self, session: Session) -> bool:
        """Register a logged-in session; True if it is the user's first."""
        self.pending.discard(session)
        sessions = self.by_user.setdefault(session.user_id, [])
        sessions.append(session)
        if len(sessions) > 1:
            return False
        if self.presence_changed is not None:
            self.presence_changed(session.user_id)
        return True

    def remove(self, session: Session) -> bool:
        """Forget a session; True if it was the user's last."""
        self.pending.discard(session)
        if session.user is None:
            return False
        sessions = self.by_user.get(session.user_id)
        if not sessions or session not in sessions:
            return False
        sessions.remove(session)
        for hook in self.session_end_hooks:
            try:
                hook(session)
            except Exception:  # noqa: BLE001 - one hook's bug must not keep a session registered
                log.exception("session end hook failed")
        if not sessions:
            del self.by_user[session.user_id]
            if self.presence_changed is not None:
                self.presence_changed(session.user_id)
            return True
        return False

    def online(self, user_id: int) -> bool:
        """The user has a logged-in connection, here or (several nodes) to another node."""
        return user_id in self.by_user or user_id in self.elsewhere

    def reachable(self, user_id: int) -> bool:
        """A push to the user would be written now: to a connection here that is not closing,
        or (several nodes) by another node the user is connected to."""
        return user_id in self.elsewhere or any(not s.conn.closing for s in self.by_user.get(user_id, ()))

    def sessions_of(self, user_id: int) -> list[Session]:
        return self.by_user.get(user_id, [])

    def sessions_of_users(self, user_ids: Iterable[int]) -> list[Session]:
        """Every connection of these users (a new list)."""
        by_user = self.by_user
        return [s for uid in user_ids for s in by_user.get(uid, ())]

    def is_registered(self, session: Session) -> bool:
        """The session is logged in and has not ended."""
        return session.user is not None and session in self.by_user.get(session.user_id, ())

    def logged_in_sessions(self) -> list[Session]:
        return [s for sessions in self.by_user.values() for s in sessions]

    def all_sessions(self) -> list[Session]:
        return [s for sessions in self.by_user.values() for s in sessions] + list(self.pending)

    # -- writing ----------------------------------------------------------------------

    @staticmethod
    def frame(body: Any, codec: int) -> bytes:
        return ws_frame(encode(body, codec), _OPCODE[codec])

    def reply(self, session: Session, body: Any, codec: int | None = None) -> None:
        session.conn.send_frame(self.frame(body, session.codec if codec is None else codec))

    def push_sessions(self, sessions: Iterable[Session], cmd: str, data: Any, exclude: Session | None = None) -> int:
        """Send one push to the given sessions (but `exclude`); encoded at most once per codec.
        Returns sockets written."""
        frames: list[bytes | None] = [None, None]
        body = push_body(cmd, data)
        n = 0
        for session in sessions:
            conn = session.conn
            if conn.closing or session is exclude:
                continue
            frame = frames[session.codec]
            if frame is None:
                frame = frames[session.codec] = self.frame(body, session.codec)
            conn.send_frame(frame)
            n += 1
        self.deliveries += n
        return n

    def push_users(self, user_ids: Iterable[int], cmd: str, data: Any) -> set[int]:
        """Push to every session of the given users. Returns the users reached."""
        reached: set[int] = set()
        targets: list[Session] = []
        for uid in user_ids:
            for session in self.by_user.get(uid, ()):
                if not session.conn.closing:
                    targets.append(session)
                    reached.add(uid)
        if targets:
            self.push_sessions(targets, cmd, data)
        return reached

    # -- liveness ---------------------------------------------------------------------

    async def sweep(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Close sessions that sent no frame within heartbeat_timeout_s, or did not log in in time."""
        task_status.started()
        period = max(0.05, min(1.0, self.heartbeat_timeout_s / 4, self.login_timeout_s / 4))
        while True:
            await trio.sleep(period)
            now = time.monotonic()
            for session in self.all_sessions():
                if session.conn.closing:
                    continue
                if session.user is None:
                    if session.connected_at < now - self.login_timeout_s:
                        session.conn.close(CLOSE_AUTH, "login timeout")
                elif session.last_frame < now - self.heartbeat_timeout_s:
                    log.info("session %s missed its heartbeats", session.id)
                    session.conn.close(CLOSE_HEARTBEAT, "heartbeat timeout")

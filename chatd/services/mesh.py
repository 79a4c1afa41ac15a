"""Group calls (mesh): who is in the call of which conversation, per device. In memory; no I/O.

Each device in a group's or a community channel's call sends its offers to every other device
(a mesh: media goes between them, never through chatd); chatd keeps the participant list,
relays each signal to the one device it names, and tells the conversation's members who joined
and left. A device leaves with rtc_multi_leave, when its connection ends (the session-end
hook), or when its user stops being a member of the conversation (kicked, left). At most `calls.mesh_max_participants` devices per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.effects import Audience, Connections, Members, Push, Viewers
from ..errors import ChatError

if TYPE_CHECKING:
    from ..net.session import Session


class Mesh:
    def __init__(self, max_participants: int):
        self.max_participants = max_participants
        self.apply: Callable[[list[Any]], None] = lambda effects: None  # the delivery pipeline's (chatd.server)
        self._calls: dict[int, dict[str, Session]] = {}  # conversation -> device id -> connection, in join order
        self._audience: dict[int, Audience] = {}
        self._of: dict[Session, set[int]] = {}

    @staticmethod
    def participant(session: Session) -> dict[str, Any]:
        return {"user_id": session.user_id, "device": session.id}

    def participants(self, conv_id: int) -> list[dict[str, Any]]:
        return [self.participant(s) for s in self._calls.get(conv_id, {}).values()]

    def join(self, conv_id: int, channel: bool, session: Session) -> tuple[list[dict[str, Any]], list[Any]]:
        """This device joins; returns the others already in the call, and the push to the members."""
        devices = self._calls.setdefault(conv_id, {})
        if session.id in devices:
            return [self.participant(s) for s in devices.values() if s is not session], []
        if len(devices) >= self.max_participants:
            raise ChatError("conflict", f"the call is full ({self.max_participants} devices: calls.mesh_max_participants)")
        others = [self.participant(s) for s in devices.values()]
        devices[session.id] = session
        self._audience[conv_id] = Viewers(conv_id) if channel else Members(conv_id)
        self._of.setdefault(session, set()).add(conv_id)
        return others, [self._update(conv_id, "joined", session)]

    def leave(self, conv_id: int, session: Session) -> list[Any]:
        devices = self._calls.get(conv_id)
        if devices is None or devices.get(session.id) is not session:
            return []
        del devices[session.id]
        mine = self._of.get(session)
        if mine is not None:
            mine.discard(conv_id)
            if not mine:
                del self._of[session]
        effects = [self._update(conv_id, "left", session)]
        if not devices:
            del self._calls[conv_id]
            del self._audience[conv_id]
        return effects

    def _update(self, conv_id: int, event: str, session: Session) -> Push:
        data = {"conv_id": conv_id, "event": event, "participant": self.participant(session), "participants": self.participants(conv_id)}
        return Push("rtc_multi_update", data, self._audience[conv_id], skip_origin=False)

    def signal(self, conv_id: int, session: Session, to_device: str, body: dict[str, Any]) -> Push:
        devices = self._calls.get(conv_id, {})
        if devices.get(session.id) is not session:
            raise ChatError("forbidden", "join the call (rtc_multi_join) before signaling in it", field="conv_id")
        target = devices.get(to_device)
        if target is None:
            raise ChatError("not_found", "no such device in this call", field="to_device")
        data = {"call_id": 0, "conv_id": conv_id, "from_user": session.user_id, "from_device": session.id, **body}
        return Push("rtc_signal", data, Connections((target,)), skip_origin=False)

    def leave_users(self, conv_id: int, user_ids: Any) -> None:
        """These users are no longer members of the conversation: their devices leave its call."""
        devices = self._calls.get(conv_id)
        if not devices:
            return
        gone = set(user_ids)
        effects: list[Any] = []
        for session in [s for s in devices.values() if s.user_id in gone]:
            effects += self.leave(conv_id, session)
        if effects:
            self.apply(effects)

    def session_ended(self, session: Session) -> None:
        effects: list[Any] = []
        for conv_id in list(self._of.get(session, ())):
            effects += self.leave(conv_id, session)
        if effects:
            self.apply(effects)

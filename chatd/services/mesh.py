"""Group calls (mesh): who is in the call of which conversation, per device. In memory; no I/O.

Each device in a group's or a community channel's call sends its offers to every other device
(a mesh: media goes between them, never through chatd); chatd keeps the participant list,
relays each signal to the one device it names, and tells the conversation's members who joined
and left. A device leaves with rtc_multi_leave, when its connection ends (the session-end
hook), or when its user stops being a member of the conversation (kicked, left). At most `calls.mesh_max_participants` devices per call.

Several nodes (docs/scaling.md): each node holds its own devices; a join or leave also tells
the other nodes (MeshDevice), which count those devices in the call's participants and relay a
signal to one of them by its user and session id (Device: its node writes it). The devices of a
node that is gone are dropped from the others' lists without a push.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.effects import Audience, Connections, Device, Members, MeshDevice, Push, Viewers
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
        self.node = 0
        self._remote: dict[int, dict[str, tuple[int, int]]] = {}  # conversation -> device -> (user id, node), other nodes'
        self._order: dict[int, dict[str, int]] = {}  # conversation -> device -> user id, every node's, in join order

    @staticmethod
    def participant(session: Session) -> dict[str, Any]:
        return {"user_id": session.user_id, "device": session.id}

    def participants(self, conv_id: int) -> list[dict[str, Any]]:
        return [{"user_id": user_id, "device": device} for device, user_id in self._order.get(conv_id, {}).items()]

    def _joined(self, conv_id: int, device: str, user_id: int) -> None:
        self._order.setdefault(conv_id, {})[device] = user_id

    def _gone(self, conv_id: int, device: str) -> None:
        order = self._order.get(conv_id)
        if order is not None:
            order.pop(device, None)
            if not order:
                del self._order[conv_id]

    def join(self, conv_id: int, channel: bool, session: Session) -> tuple[list[dict[str, Any]], list[Any]]:
        """This device joins; returns the others already in the call, and the push to the members."""
        devices = self._calls.setdefault(conv_id, {})
        if session.id in devices:
            return [p for p in self.participants(conv_id) if p["device"] != session.id], []
        others = self.participants(conv_id)
        if len(others) >= self.max_participants:
            if not devices:
                del self._calls[conv_id]
            raise ChatError("conflict", f"the call is full ({self.max_participants} devices: calls.mesh_max_participants)")
        devices[session.id] = session
        self._joined(conv_id, session.id, session.user_id)
        self._audience[conv_id] = Viewers(conv_id) if channel else Members(conv_id)
        self._of.setdefault(session, set()).add(conv_id)
        return others, [MeshDevice(self.node, conv_id, session.id, session.user_id, True), self._update(conv_id, "joined", session)]

    def leave(self, conv_id: int, session: Session) -> list[Any]:
        devices = self._calls.get(conv_id)
        if devices is None or devices.get(session.id) is not session:
            return []
        del devices[session.id]
        self._gone(conv_id, session.id)
        mine = self._of.get(session)
        if mine is not None:
            mine.discard(conv_id)
            if not mine:
                del self._of[session]
        effects: list[Any] = [MeshDevice(self.node, conv_id, session.id, session.user_id, False), self._update(conv_id, "left", session)]
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
        to: Audience
        if target is not None:
            to = Connections((target,))
        elif to_device in self._remote.get(conv_id, {}):
            to = Device(self._remote[conv_id][to_device][0], to_device)  # connected to another node
        else:
            raise ChatError("not_found", "no such device in this call", field="to_device")
        data = {"call_id": 0, "conv_id": conv_id, "from_user": session.user_id, "from_device": session.id, **body}
        return Push("rtc_signal", data, to, skip_origin=False)

    # -- several nodes ----------------------------------------------------------------------------

    def elsewhere(self, change: MeshDevice) -> None:
        """Another node's device joined or left a call (this node's own changes: nothing to do)."""
        if change.node == self.node:
            return
        devices = self._remote.setdefault(change.conv_id, {})
        if change.joined:
            devices[change.device] = (change.user_id, change.node)
            self._joined(change.conv_id, change.device, change.user_id)
        else:
            devices.pop(change.device, None)
            self._gone(change.conv_id, change.device)
        if not devices:
            del self._remote[change.conv_id]

    def keep_nodes(self, live: Any) -> None:
        """Drop the devices of the nodes not in `live` (gone: their connections are)."""
        for conv_id in list(self._remote):
            devices = self._remote[conv_id]
            for device in [d for d, (_, node) in devices.items() if node not in live]:
                del devices[device]
                self._gone(conv_id, device)
            if not devices:
                del self._remote[conv_id]

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

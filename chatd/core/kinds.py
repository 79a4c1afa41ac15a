"""Conversation kinds, as declarations.

A kind says everything that differs between a DM, a group and a room: its name,
the wire prefix of its chat verbs and which verbs it has, the request field that
names a conversation, its role policy, its store module (the one access check,
entries and views), who hears its messages, its conversation-update push and
its read receipts. The verbs themselves (chatd.core.verbs) are written once;
`handlers/conversations.py` registers each verb of each kind from one table.
Adding a kind is a declaration here plus its tables and its store module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..policy import roles
from ..store import broadcast as broadcast_store
from ..store import channel as channel_store
from ..store import dm as dm_store
from ..store import group as group_store
from ..store import room as room_store
from . import social_gate
from .effects import Everyone, Live, Members, Outcome, Present, Push, Users, Viewers

if TYPE_CHECKING:
    from ..net.hub import Hub
    from ..services import Services

# The chat verbs; a kind has all or some of them (wire name: prefix + verb).
VERBS = ("send", "history", "search", "conversations", "mark_read", "mute_set", "pin_set", "typing", "control", "edit", "recall", "recall_batch", "delete", "react")


@dataclass(frozen=True)
class Kind:
    name: str  # conversations.kind, and the `kind` field of chat_message and chat_typing
    prefix: str  # wire prefix of its verbs, e.g. chat_group_
    id_field: str  # the request field naming a conversation: group_id, room_id, or peer (a user id)
    policy: roles.Policy
    store: ModuleType  # access(), open_send() (a DM's starts the DM), views(), conversations()
    update_cmd: str  # the conversation-update push
    # who hears messages: "members", "present" (connections in a room), "pair" (a DM's two
    # users), "viewers" (the members who can see a community channel) or "everyone" (every
    # logged-in connection: the server's announcements)
    fanout: str
    verbs: tuple[str, ...] = VERBS
    notifies: bool = False  # new messages reach members' offline devices (chatd.services.push)
    message_cmd: str = "chat_message"  # the push of message events
    typing_cmd: str = "chat_typing"  # the push of typing
    control_cmd: str = "chat_control"  # the push of control messages
    history_capability: str = roles.READ  # what reading the history asks the store's access check for
    echo_id: bool = True  # responses carry id_field as well as conv_id (a DM's carry conv_id only)
    read_receipts: str = ""  # "aggregated" (chat_group_read_receipt), "pair" (chat_dm_read_receipt and delivery receipts)
    live: Callable[[Services, Hub, dict[str, Any]], None] | None = None  # fills an entry's in-memory fields
    # Membership (kinds with members and roles; chatd.core.membership):
    records_joins: bool = False  # joins and leaves are system messages in the history
    owner_must_transfer: bool = False  # the owner leaves only after handing over (or as the last member)
    bans: bool = False  # a kick bars rejoining for a while; member mutes outlast leaving (store.sanction)
    leave_cmd: str = ""  # the request that leaves, named in errors
    # Capabilities asked of the store's access check instead of the role policy (a community
    # channel's permissions decide mentioning everyone, roles.MENTION_ALL, and recalling others'
    # messages, roles.RECALL_ANY).
    by_access: frozenset[str] = frozenset()
    # The social gate (chatd.core.social_gate) of a kind whose conversations reach one user: `gate`
    # (conn, sender, target, conv_id or None) runs in every send before the message or the
    # conversation is made; `change_gate` (conn, actor, target) in edits and reactions.
    gate: Callable[..., None] | None = None
    change_gate: Callable[..., None] | None = None

    def wire(self, verb: str) -> str:
        return self.prefix + verb

    # -- pushes ----------------------------------------------------------------------------

    def message(
        self, out: Outcome, event: str, msg: dict[str, Any], peer_id: int = 0, me: int = 0, also: tuple[int, ...] = (), skip_origin: bool = True,
        routed: Any = None,
    ) -> Push:
        """chat_message for a message event (new, edit, recall, react) to whoever hears the
        kind's messages (and `also` these users), but the asking connection unless told
        otherwise (a system message is in no response). Returns the push to the other side.
        `routed`: a bot's DM handed over to an agent (chatd.store.dm_routing.Routed), heard by
        its user, the agent, and the bot only if it observes."""
        payload = {"event": event, "kind": self.name, "conv_id": msg["conv_id"], "seq": msg["seq"], "message": msg}
        conv_id = msg["conv_id"]
        if self.fanout == "pair":  # each side is told who the other is
            if routed is not None:
                pushes = {uid: out.push("chat_message", {**payload, "peer": peer}, Users((uid,))) for uid, peer in routed.hearing()}
                return pushes[routed.user_id] if me != routed.user_id else pushes[routed.agent_id]
            out.push("chat_message", {**payload, "peer": peer_id}, Users((me,)))
            return out.push("chat_message", {**payload, "peer": me}, Users((peer_id,)))
        return out.push(self.message_cmd, payload, self.audience(conv_id, also=also), skip_origin=skip_origin)

    def audience(self, conv_id: int, pair: tuple[int, int] = (0, 0), also: tuple[int, ...] = ()) -> Any:
        """Who hears this kind's messages in a conversation (a DM: its `pair` of users)."""
        if self.fanout == "pair":
            return Users(pair)
        if self.fanout == "viewers":
            return Viewers(conv_id)
        if self.fanout == "everyone":
            return Everyone()
        return Present(conv_id, also) if self.fanout == "present" else Members(conv_id, also)

    def update(self, out: Outcome, conv_id: int, views: dict[int, dict[str, Any] | None]) -> None:
        """Each user's own conversation entry (None: no longer a member) to that user's devices."""
        for uid, view in views.items():
            out.push(self.update_cmd, Live(self._update_payload, (conv_id, view)), Users((uid,)))

    def _update_payload(self, services: Services, hub: Hub, conv_id: int, view: dict[str, Any] | None) -> dict[str, Any]:
        if view is not None and self.live is not None:
            self.live(services, hub, view)
        if not self.echo_id:
            return {"conversation": view}
        return {self.id_field: conv_id, "removed": view is None, "conversation": view}

    def response(self, conv_id: int, **fields: Any) -> dict[str, Any]:
        """A response naming the conversation as the kind does."""
        return {self.id_field: conv_id, "conv_id": conv_id, **fields} if self.echo_id else {"conv_id": conv_id, **fields}


def _peer_online(services: Services, hub: Hub, entry: dict[str, Any]) -> None:
    entry["peer_online"] = hub.online(entry["peer"]["id"]) if entry.get("peer") else False


def _present_count(services: Services, hub: Hub, entry: dict[str, Any]) -> None:
    entry["present_count"] = services.room_presence.count(entry["conv_id"])


DM = Kind(
    name="dm",
    prefix="chat_dm_",
    id_field="peer",
    policy=roles.DM,
    store=dm_store,
    update_cmd="chat_dm_conversation_update",
    fanout="pair",
    notifies=True,
    verbs=tuple(v for v in VERBS if v != "mute_set"),
    echo_id=False,
    read_receipts="pair",
    live=_peer_online,
    gate=social_gate.dm_gate,
    change_gate=social_gate.dm_change_gate,
)
GROUP = Kind(
    name="group",
    prefix="chat_group_",
    id_field="group_id",
    policy=roles.GROUP,
    store=group_store,
    update_cmd="chat_group_conversation_update",
    fanout="members",
    notifies=True,
    read_receipts="aggregated",
    records_joins=True,
    owner_must_transfer=True,
    leave_cmd="chat_group_leave",
)
ROOM = Kind(
    name="room",
    prefix="chat_room_",
    id_field="room_id",
    policy=roles.ROOM,
    store=room_store,
    update_cmd="chat_room_conversation_update",
    fanout="present",
    live=_present_count,
    bans=True,
    leave_cmd="room_exit",
)
# A community channel: who may do what, mentioning everyone included, is the community's
# permission model (chatd.store.channel asks it); this policy is not asked beyond read and send.
CHANNEL = Kind(
    name="channel",
    prefix="community_",
    id_field="channel_id",
    policy=roles.Policy("channel", "channel", {roles.READ: "member", roles.SEND: "member"}, False, "you are not in this community", "channel_id"),
    store=channel_store,
    update_cmd="community.conversation_update",
    fanout="viewers",
    verbs=("send", "history", "search", "conversations", "mark_read", "mute_set", "pin_set", "typing", "control", "edit", "recall", "recall_batch", "delete", "react"),
    message_cmd="community.message",
    typing_cmd="community.typing",
    control_cmd="community.control",
    history_capability=channel_store.READ_HISTORY,
    by_access=frozenset({roles.MENTION_ALL, roles.RECALL_ANY}),
)
# The server's announcements: everyone reads, server admins write (chatd.store.broadcast).
BROADCAST = Kind(
    name="broadcast",
    prefix="chat_broadcast_",
    id_field="broadcast_id",
    policy=roles.BROADCAST,
    store=broadcast_store,
    update_cmd="",
    fanout="everyone",
    verbs=("send", "history", "recall"),
)
KINDS = (DM, GROUP, ROOM, CHANNEL, BROADCAST)
MEMBER_KINDS = (GROUP, ROOM)  # kinds with roles and membership commands (chatd.core.membership)

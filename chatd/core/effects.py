"""What a writer op returns: its result, and the effects it causes once committed.

An op never pushes anything itself. It returns an Outcome; after the batch
commits, the pipeline (chatd.core.pipeline) acks every submitter, then applies
the effects of every op in commit order: membership changes first (so the
member cache and room presence follow the database), then pushes. So no push
of a conversation can overtake an earlier one, and a member added in the same
batch as a message gets that message exactly when it was committed after the
join.

This module imports neither trio nor sqlite3: effects are plain data (named tuples,
cheap to make: a message makes a few of them).
"""

from __future__ import annotations

from typing import Any, NamedTuple


# --- audiences: who a push goes to ---------------------------------------------------------


class Users(NamedTuple):
    """Every connection of these users."""

    ids: tuple[int, ...] | list[int] | set[int] | frozenset[int]


class Members(NamedTuple):
    """Every connection of every member of a conversation (from the member cache), and of `also`
    (users just removed, who learn why)."""

    conv_id: int
    also: tuple[int, ...] = ()


class Present(NamedTuple):
    """The connections present in a room now, and every connection of `also`."""

    room_id: int
    also: tuple[int, ...] = ()


class Viewers(NamedTuple):
    """Every connection of every member of a community channel who can see it, as the
    community's permissions stand at the push's commit (chatd.store.community_cache)."""

    conv_id: int


class Connections(NamedTuple):
    """These connections, those of them still connected (a call's devices)."""

    sessions: tuple[Any, ...]


class Everyone(NamedTuple):
    """Every logged-in connection (the server's announcements)."""


class Device(NamedTuple):
    """The user's connection whose session id is `device`, whichever node it is connected to (a
    call's device)."""

    user_id: int
    device: str


Audience = Users | Members | Present | Viewers | Connections | Everyone | Device


class Live(NamedTuple):
    """A payload with fields only memory knows at delivery time (who is online, who is in a
    room): fn(services, hub, *args) makes it then."""

    fn: Any
    args: tuple[Any, ...] = ()


class Push:
    """A push to an audience. `skip_origin`: not to the connection that made the request (it has
    the response). `skip_user`: to none of this user's connections. `if_reached`: pushed too, to
    its own audience, when this one was written to at least one connection."""

    __slots__ = ("cmd", "data", "to", "skip_origin", "skip_user", "if_reached")

    def __init__(self, cmd: str, data: Any, to: Audience, skip_origin: bool = True, skip_user: int = 0, if_reached: Push | None = None):
        self.cmd = cmd
        self.data = data
        self.to = to
        self.skip_origin = skip_origin
        self.skip_user = skip_user
        self.if_reached = if_reached

    def __repr__(self) -> str:
        return f"Push({self.cmd!r}, to={self.to!r})"


# --- membership and state that lives in memory -----------------------------------------------


class Joined(NamedTuple):
    """Users became members of a conversation (the member cache follows)."""

    conv_id: int
    user_ids: tuple[int, ...]


class Left(NamedTuple):
    """Users stopped being members (the member cache follows; their connections leave the room)."""

    conv_id: int
    user_ids: tuple[int, ...]


class Entered(NamedTuple):
    """The requesting connection is now present in a room."""

    room_id: int


class Emptied(NamedTuple):
    """Every connection leaves the room (it was disbanded)."""

    room_id: int


class ReadMoved(NamedTuple):
    """A member's read pointer moved forward from `old` to `new`, in a kind whose read receipts
    are aggregated (groups): the receipts service sends them."""

    conv_id: int
    old: int
    new: int


class Notify(NamedTuple):
    """Something users' offline devices may be told (chatd.services.push), once committed:
    `event` message (a new message; `to` empty: every member of `conv_id` but the sender),
    call (a call rings until `until`), friend_request, or read (the user read `conv_id` up to
    `seq`: their notifications of it are cleared). `ref_id` is the message's or the call's id."""

    event: str
    to: tuple[int, ...] = ()
    conv_id: int = 0
    kind: str = ""
    ref_id: int = 0
    seq: int = 0
    sender_id: int = 0
    mentions: tuple[int, ...] = ()
    content: Any = None  # the message's content (a Struct): its preview only for users who want previews
    until: int = 0



class HandedOver(NamedTuple):
    """A bot's DM was handed over to an agent (chatd.core.dm_routing): the bot's streams running
    in it end (reason handover), the agent hearing their end."""

    conv_id: int
    agent_id: int


class Deactivated(NamedTuple):
    """These accounts were disabled: every one of their connections is closed (4003, with the
    reason), right after the commit and before the submitter is answered."""

    user_ids: tuple[int, ...]
    reason: str = "account disabled"


class PresenceOf(NamedTuple):
    """Several nodes (chatd.services.node_presence): who is connected to node `node` (in its run
    `run`), as rows (user id, room id, connections): room 0 for the user's connections to the
    node, a room's id for those of them present in that room; 0 connections: none any more. Its
    own node applies nothing; the others learn from it who is online and in which rooms."""

    node: int
    run: str
    rows: tuple[tuple[int, int, int], ...]


class MeshDevice(NamedTuple):
    """Several nodes (chatd.services.mesh): a device connected to node `node` joined (or left)
    the group call of a conversation. Its own node applies nothing; the others count it in."""

    node: int
    conv_id: int
    device: str
    user_id: int
    joined: bool


Effect = Push | Joined | Left | Entered | Emptied | ReadMoved | HandedOver | Deactivated | Notify | PresenceOf | MeshDevice


class Outcome:
    """An op's result (what the handler answers) and its effects, in the order they happen."""

    __slots__ = ("result", "effects")

    def __init__(self, result: Any = None, effects: list[Effect] | None = None):
        self.result = result
        self.effects: list[Effect] = [] if effects is None else effects

    def push(self, cmd: str, data: Any, to: Audience, **kw: Any) -> Push:
        p = Push(cmd, data, to, **kw)
        self.effects.append(p)
        return p

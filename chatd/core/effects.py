"""What a writer op returns: its result, and the effects it causes once committed.

An op never pushes anything itself. It returns an Outcome; after the batch
commits, the pipeline (chatd.core.pipeline) acks every submitter, then applies
the effects of every op in commit order: membership changes first (so the
member cache and room presence follow the database), then pushes. So no push
of a conversation can overtake an earlier one, and a member added in the same
batch as a message gets that message exactly when it was committed after the
join.

This module imports neither trio nor sqlite3: effects are plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# --- audiences: who a push goes to ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Users:
    """Every connection of these users."""

    ids: tuple[int, ...] | list[int] | set[int] | frozenset[int]


@dataclass(frozen=True, slots=True)
class Members:
    """Every connection of every member of a conversation (from the member cache), and of `also`
    (users just removed, who learn why)."""

    conv_id: int
    also: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Present:
    """The connections present in a room now, and every connection of `also`."""

    room_id: int
    also: tuple[int, ...] = ()


Audience = Users | Members | Present


@dataclass(frozen=True, slots=True)
class Live:
    """A payload with fields only memory knows at delivery time (who is online, who is in a
    room): fn(services, hub, *args) makes it then."""

    fn: Any
    args: tuple[Any, ...] = ()


@dataclass(slots=True)
class Push:
    """A push to an audience. `skip_origin`: not to the connection that made the request (it has
    the response). `skip_user`: to none of this user's connections. `if_reached`: pushed too, to
    its own audience, when this one was written to at least one connection."""

    cmd: str
    data: Any
    to: Audience
    skip_origin: bool = True
    skip_user: int = 0
    if_reached: Push | None = None


# --- membership and state that lives in memory -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Joined:
    """Users became members of a conversation (the member cache follows)."""

    conv_id: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Left:
    """Users stopped being members (the member cache follows; their connections leave the room)."""

    conv_id: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Entered:
    """The requesting connection is now present in a room."""

    room_id: int


@dataclass(frozen=True, slots=True)
class Emptied:
    """Every connection leaves the room (it was disbanded)."""

    room_id: int


@dataclass(frozen=True, slots=True)
class ReadMoved:
    """A member's read pointer moved forward from `old` to `new`, in a kind whose read receipts
    are aggregated (groups): the receipts service sends them."""

    conv_id: int
    old: int
    new: int


Effect = Push | Joined | Left | Entered | Emptied | ReadMoved


@dataclass(slots=True)
class Outcome:
    """An op's result (what the handler answers) and its effects, in the order they happen."""

    result: Any = None
    effects: list[Effect] = field(default_factory=list)

    def push(self, cmd: str, data: Any, to: Audience, **kw: Any) -> Push:
        p = Push(cmd, data, to, **kw)
        self.effects.append(p)
        return p

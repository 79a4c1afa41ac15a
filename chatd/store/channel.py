"""Community channels: the channel kind's access check, entries and views.

A channel is a conversation of kind 'channel'; every member of its community has a row in
`members` (read pointer, mentions, pin and notification mute, as in every kind). Whether a
member may see, read or send is the permission model's answer on the community's cached
snapshot (chatd.store.community_cache): a channel the member cannot see answers not_found,
as one that does not exist.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..policy import roles
from ..policy.community_perms import Capability, require
from . import conversations as chat
from .community_cache import CACHE, viewers
from .conversations import Access
from .db import now_ms

KIND = "channel"
# The capability names the chat verbs ask for (chatd.core.verbs) and the bits they need here.
READ_HISTORY = "read_history"
_NEEDS = {
    roles.READ: Capability.VIEW_CHANNEL,
    roles.SEND: Capability.SEND,
    READ_HISTORY: Capability.READ_HISTORY,
    roles.MENTION_ALL: Capability.MENTION_EVERYONE,
    roles.RECALL_ANY: Capability.MANAGE_MESSAGES,
}

__all__ = ["access", "open_send", "views", "conversations", "viewers", "READ_HISTORY"]


def _not_found(channel_id: int) -> ChatError:
    return ChatError("not_found", f"no channel with id {channel_id}", field="channel_id")


def access(
    conn: sqlite3.Connection, channel_id: int, user_id: int, capability: str = roles.READ, now: int | None = None, missing_ok: bool = False
) -> Access:
    """The one check of every channel verb: a member of the channel's community who can see it,
    holding what `capability` needs there; forbidden names what is missing and where."""
    row = conn.execute(
        "SELECT ch.community_id, m.last_read_seq FROM community_channels ch JOIN members m ON m.conv_id = ch.conv_id AND m.user_id = ? "
        "WHERE ch.conv_id = ?",
        (user_id, channel_id),
    ).fetchone()
    if row is None:
        raise _not_found(channel_id)
    snap = CACHE.get(conn, row[0])
    if snap is None or channel_id not in snap.channels:
        raise _not_found(channel_id)
    decision = snap.decision(user_id, channel_id, now_ms() if now is None else now)
    if not decision.bits & Capability.VIEW_CHANNEL:
        raise _not_found(channel_id)
    require(decision, _NEEDS[capability])
    return Access(channel_id, user_id, "member", 0, row[1])


def open_send(ctx: Any, channel_id: int, sender_id: int, client_msg_id: str | None) -> chat.SendTarget:
    return chat.open_member_send(ctx, access, channel_id, sender_id, client_msg_id)


def extra(conn: sqlite3.Connection, conv_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What a channel adds to a conversation entry: its ids, category and position."""
    if not conv_ids:
        return {}
    marks = ",".join("?" * len(conv_ids))
    return {
        r[0]: {"channel_id": r[0], "community_id": r[1], "category_id": r[2], "position": r[3]}
        for r in conn.execute(f"SELECT conv_id, community_id, category_id, position FROM community_channels WHERE conv_id IN ({marks})", conv_ids)
    }


def views(conn: sqlite3.Connection, channel_id: int, user_ids: list[int], known: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    return chat.views(conn, channel_id, user_ids, extra, known)


MAX_ENTRIES = 10000  # the channels a listing looks at (every community of the user together)


def conversations(conn: sqlite3.Connection, user_id: int, *, limit: int = 50, unread_only: bool = False) -> list[dict[str, Any]]:
    """The channels the user can see, with their badges, in list order."""
    return _visible(conn, user_id, chat.conversations(conn, user_id, KIND, limit=MAX_ENTRIES, unread_only=unread_only, extra=extra))[:limit]


def listed(conn: sqlite3.Connection, user_id: int, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The user's entries for these rows of chat.member_rows, but channels they cannot see."""
    return _visible(conn, user_id, chat.entries(conn, rows, extra))


def _visible(conn: sqlite3.Connection, user_id: int, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    snaps: dict[int, Any] = {}
    out = []
    for e in entries:
        cid = e["community_id"]
        if cid not in snaps:
            snaps[cid] = CACHE.get(conn, cid)
        snap = snaps[cid]
        if snap is not None and e["conv_id"] in snap.channels and snap.can_view(user_id, e["conv_id"]):
            out.append(e)
    return out

"""A community's channels and categories in SQL: their rows as the wire carries them, and
moves that keep positions dense (0..n-1 among a channel's siblings in its category, or among
the categories of the community). Who may do it is the op's question; every write here
bumps the community's version.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from .community import bump

_CH = "SELECT ch.conv_id, ch.community_id, ch.category_id, c.name, ch.topic, ch.position, ch.synced FROM community_channels ch JOIN conversations c ON c.id = ch.conv_id"


def _channel_view(r: tuple[Any, ...]) -> dict[str, Any]:
    return {"channel_id": r[0], "community_id": r[1], "category_id": r[2], "name": r[3], "topic": r[4], "position": r[5], "synced": bool(r[6])}


def channel(conn: sqlite3.Connection, community_id: int, channel_id: int) -> dict[str, Any]:
    """A channel of this community; not_found (field channel_id) otherwise."""
    r = conn.execute(f"{_CH} WHERE ch.conv_id = ? AND ch.community_id = ?", (channel_id, community_id)).fetchone()
    if r is None:
        raise ChatError("not_found", f"no channel with id {channel_id} in this community", field="channel_id")
    return _channel_view(r)


def channels(conn: sqlite3.Connection, community_id: int) -> list[dict[str, Any]]:
    return [_channel_view(r) for r in conn.execute(f"{_CH} WHERE ch.community_id = ? ORDER BY ch.position, ch.conv_id", (community_id,))]


def categories(conn: sqlite3.Connection, community_id: int) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, name, position FROM community_categories WHERE community_id = ? ORDER BY position, id", (community_id,))
    return [{"category_id": r[0], "name": r[1], "position": r[2]} for r in rows]


def _siblings(conn: sqlite3.Connection, community_id: int, category_id: int | None, but: int = 0) -> int:
    (n,) = conn.execute(
        "SELECT COUNT(*) FROM community_channels WHERE community_id = ? AND category_id IS ? AND conv_id != ?", (community_id, category_id, but)
    ).fetchone()
    return int(n)


def _in_range(position: int | None, n: int) -> int:
    """`position` among n others (0..n; None: the end)."""
    if position is None:
        return n
    if not 0 <= position <= n:
        raise ChatError("bad_request", f"position must be from 0 to {n}", field="position")
    return position


def channel_slot(conn: sqlite3.Connection, community_id: int, category_id: int | None, position: int | None, but: int = 0) -> int:
    """Where a channel goes among its new siblings (checked), before make_room_for_channel."""
    return _in_range(position, _siblings(conn, community_id, category_id, but))


def make_room_for_channel(conn: sqlite3.Connection, community_id: int, category_id: int | None, position: int) -> None:
    conn.execute(
        "UPDATE community_channels SET position = position + 1 WHERE community_id = ? AND category_id IS ? AND position >= ?", (community_id, category_id, position)
    )


def _close_channel_gap(conn: sqlite3.Connection, community_id: int, category_id: int | None, position: int) -> None:
    conn.execute(
        "UPDATE community_channels SET position = position - 1 WHERE community_id = ? AND category_id IS ? AND position > ?", (community_id, category_id, position)
    )


def update_channel(conn: sqlite3.Connection, before: dict[str, Any], name: str | None, topic: str | None, category_id: int | None,
                   position: int | None, synced: bool | None) -> None:
    """Rename, set the topic, move (to another category and/or position) or resync a channel.
    synced true drops the channel's own overwrites: it follows its category again."""
    cid, ch = before["community_id"], before["channel_id"]
    if name is not None:
        conn.execute("UPDATE conversations SET name = ? WHERE id = ?", (name, ch))
    if topic is not None:
        conn.execute("UPDATE community_channels SET topic = ? WHERE conv_id = ?", (topic, ch))
    target = before["category_id"] if category_id is None else category_id
    if target != before["category_id"] or (position is not None and position != before["position"]):
        slot = channel_slot(conn, cid, target, position, but=ch)
        _close_channel_gap(conn, cid, before["category_id"], before["position"])
        conn.execute("UPDATE community_channels SET position = -1 WHERE conv_id = ?", (ch,))
        make_room_for_channel(conn, cid, target, slot)
        conn.execute("UPDATE community_channels SET category_id = ?, position = ? WHERE conv_id = ?", (target, slot, ch))
    if synced is True:
        if target is None:
            raise ChatError("bad_request", "a channel without a category has nothing to follow", field="synced")
        conn.execute("DELETE FROM community_overwrites WHERE place = 'channel' AND place_id = ?", (ch,))
        conn.execute("UPDATE community_channels SET synced = 1 WHERE conv_id = ?", (ch,))
    elif synced is False:
        conn.execute("UPDATE community_channels SET synced = 0 WHERE conv_id = ?", (ch,))
    bump(conn, cid)


def delete_channel(conn: sqlite3.Connection, before: dict[str, Any]) -> None:
    """The channel, its conversation (messages, member rows) and its overwrites."""
    ch = before["channel_id"]
    conn.execute("DELETE FROM community_overwrites WHERE place = 'channel' AND place_id = ?", (ch,))
    conn.execute("DELETE FROM conversations WHERE id = ?", (ch,))
    _close_channel_gap(conn, before["community_id"], before["category_id"], before["position"])
    bump(conn, before["community_id"])


# --- categories ---------------------------------------------------------------------------


def _categories_count(conn: sqlite3.Connection, community_id: int, but: int = 0) -> int:
    (n,) = conn.execute("SELECT COUNT(*) FROM community_categories WHERE community_id = ? AND id != ?", (community_id, but)).fetchone()
    return int(n)


def category_slot(conn: sqlite3.Connection, community_id: int, position: int | None, but: int = 0) -> int:
    return _in_range(position, _categories_count(conn, community_id, but))


def make_room_for_category(conn: sqlite3.Connection, community_id: int, position: int) -> None:
    conn.execute("UPDATE community_categories SET position = position + 1 WHERE community_id = ? AND position >= ?", (community_id, position))


def update_category(conn: sqlite3.Connection, community_id: int, before: dict[str, Any], name: str | None, position: int | None) -> None:
    cat = before["category_id"]
    if name is not None:
        conn.execute("UPDATE community_categories SET name = ? WHERE id = ?", (name, cat))
    if position is not None and position != before["position"]:
        slot = category_slot(conn, community_id, position, but=cat)
        conn.execute("UPDATE community_categories SET position = position - 1 WHERE community_id = ? AND position > ?", (community_id, before["position"]))
        conn.execute("UPDATE community_categories SET position = -1 WHERE id = ?", (cat,))
        make_room_for_category(conn, community_id, slot)
        conn.execute("UPDATE community_categories SET position = ? WHERE id = ?", (slot, cat))
    bump(conn, community_id)


def delete_category(conn: sqlite3.Connection, community_id: int, before: dict[str, Any]) -> None:
    """The category and its overwrites. Only an empty one (conflict otherwise): its channels'
    permissions depend on it, so they are moved or deleted first, each by its own decision."""
    cat = before["category_id"]
    if _siblings(conn, community_id, cat):
        raise ChatError("conflict", "the category still has channels: move or delete them first", field="category_id")
    conn.execute("DELETE FROM community_overwrites WHERE place = 'category' AND place_id = ?", (cat,))
    conn.execute("DELETE FROM community_categories WHERE id = ?", (cat,))
    conn.execute("UPDATE community_categories SET position = position - 1 WHERE community_id = ? AND position > ?", (community_id, before["position"]))
    bump(conn, community_id)


def tree(conn: sqlite3.Connection, community_id: int, user_id: int) -> dict[str, Any]:
    """The channels a member can see, in their categories (by position), and those without one;
    a category shows when the member sees it or a channel in it. not_found for non-members."""
    from .community import require_member
    from .community_cache import CACHE

    require_member(conn, community_id, user_id)
    snap = CACHE.get(conn, community_id)
    if snap is None:
        raise ChatError("not_found", f"no community with id {community_id}", field="community_id")
    seen = [ch for ch in channels(conn, community_id) if ch["channel_id"] in snap.channels and snap.can_view(user_id, ch["channel_id"])]
    cats = []
    for cat in categories(conn, community_id):
        inside = [ch for ch in seen if ch["category_id"] == cat["category_id"]]
        if inside or snap.can_view_category(user_id, cat["category_id"]):
            cats.append({**cat, "channels": inside})
    return {"community_id": community_id, "categories": cats, "channels": [ch for ch in seen if ch["category_id"] is None]}

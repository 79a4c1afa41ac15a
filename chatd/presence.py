"""Presence: tell a user's DM peers when the first device connects and the last one leaves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .store import dm as dm_store
from .store import users as users_store
from .store.db import now_ms

if TYPE_CHECKING:
    from .server import Server


async def announce(server: Server, user_id: int, online: bool) -> None:
    peers = await server.readers.read(dm_store.peers, user_id)
    server.hub.push_users(
        [p for p in peers if server.hub.online(p)],
        "chat_presence_update",
        {"user_id": user_id, "online": online, "last_seen": now_ms()},
    )
    if not online:
        await server.writer.submit(users_store.op_touch_last_seen, user_id)

"""User presence: tell a user's DM peers and friends when the first device connects and the last one
leaves (not those who blocked the user: chatd.store.social.presence_audience).

With several nodes a user is online while connected to any node (chatd.services.node_presence):
the node where the first connection comes, or the last one goes, tells its own connections, and
each other node tells its own when it learns of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..store import social as social_store
from ..store import users as users_store
from ..store.db import now_ms

if TYPE_CHECKING:
    from ..net.hub import Hub
    from ..store.readers import Readers
    from ..store.writer import Writer


class UserPresence:
    def __init__(self, readers: Readers, writer: Writer, hub: Hub):
        self.readers = readers
        self.writer = writer
        self.hub = hub

    async def announce(self, user_id: int, online: bool) -> None:
        """The user's first connection to this node came, or the last one went: told unless the
        user stays connected to another node."""
        if user_id in self.hub.elsewhere:
            return
        await self.tell(user_id, online)
        if not online:
            await self.writer.submit(users_store.op_touch_last_seen, user_id)

    async def tell(self, user_id: int, online: bool) -> None:
        """Push the user's presence to the peers connected to this node."""
        hub = self.hub
        peers = await self.readers.read(social_store.presence_audience, user_id)
        hub.push_users([p for p in peers if p in hub.by_user], "chat_presence_update", {"user_id": user_id, "online": online, "last_seen": now_ms()})

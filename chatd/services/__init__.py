"""The services: feature state that lives in memory, built in one place.

Each has at most a task to start in the root nursery and a hook for a session
that ends. Handlers and the delivery pipeline reach them through
`server.services`; none of them imports a handler.

| service          | what it keeps                                    | task             | session end  |
|------------------|--------------------------------------------------|------------------|--------------|
| members          | who is in which conversation (fanout)            |                  |              |
| room_presence    | which connections are in which room now          |                  | leaves rooms |
| group_receipts   | groups whose read pointers moved                 | flushes receipts |              |
| user_presence    | (nothing) tells DM peers and friends who came    |                  |              |
|                  | and went (not those who blocked the user)       |                  |              |
| disabled_watch   | (nothing) closes sessions of disabled accounts   | polls            |              |
| communities      | each community's permission snapshot, per        |                  |              |
|                  | version (chatd.store.community_cache: the store's |                  |              |
|                  | access checks share it, so it lives there)       |                  |              |
| login_guard      | failed logins per address and account; hashing  |                  |              |
|                  | slots and each address's line for them           |                  |              |
| calls            | 1:1 calls that ring or are live (docs/calls.md)  | one per call:    | the call's   |
|                  |                                                  | its deadlines,   | device is    |
|                  |                                                  | then its record  | gone (grace) |
| mesh             | who is in each group call, per device            |                  | leaves them  |
| streams          | the text of every running streamed message       | one per stream:  | a bot's last |
|                  | (docs/bots.md)                                   | pushes, flushes, | connection:  |
|                  |                                                  | idle timeout     | its streams  |
|                  |                                                  |                  | end          |
| push             | the VAPID key, who has push devices, which      | plans and sends  |              |
|                  | notifications a read clears (docs/push.md)       | notifications    |              |
| directory_sync   | the last LDAP sync's result (docs/directory.md)  | syncs every      |              |
|                  |                                                  | interval         |              |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from ..store import community_cache
from ..store import conversations as conv_store
from .accounts import DisabledWatch
from .calls import Calls
from .directory_sync import DirectorySync
from .group_receipts import GroupReceipts
from .login_guard import LoginGuard
from .members import MemberCache
from .mesh import Mesh
from .push import PushService
from .streams import Streams
from .room_presence import RoomPresence
from .user_presence import UserPresence

if TYPE_CHECKING:
    from ..config import Config
    from ..net.hub import Hub
    from ..store.readers import Readers
    from ..store.writer import Writer


class Services:
    def __init__(self, hub: Hub, readers: Readers, writer: Writer, cfg: Config):
        self.members = MemberCache(readers, conv_store.member_ids)
        self.room_presence = RoomPresence()
        self.group_receipts = GroupReceipts(readers, hub)
        self.user_presence = UserPresence(readers, writer, hub)
        self.disabled_watch = DisabledWatch(writer, hub)
        self.login_guard = LoginGuard(cfg.auth)
        self.communities = community_cache.CACHE
        self.calls = Calls(cfg.calls, hub, writer)
        self.mesh = Mesh(cfg.calls.mesh_max_participants)
        self.streams = Streams(cfg.bots, hub, writer, cfg.limits.max_text_chars)
        self.streams.readers = readers
        self.push = PushService(cfg.push, hub, readers, writer, self.members)
        self.directory_sync = DirectorySync(cfg.directory, writer)
        hub.session_end_hooks += [self.room_presence.session_ended, self.calls.session_ended, self.mesh.session_ended, self.streams.session_ended]

    def across_nodes(self, node: int, asks: Any, share: Callable[[list[Any]], None]) -> None:
        """This server is node `node` of several (docs/scaling.md): calls and streams other nodes
        hold are asked of them (`asks`: chatd.services.node_asks), and this node answers for its
        own; a stream's deltas and a group call's devices are told to the others."""
        self.calls.across(node, asks.ask, asks.ask_all)
        asks.answerers["call"] = self.calls.answer
        self.streams.node, self.streams.ask, self.streams.share = node, asks.ask, share
        asks.answerers["stream"] = self.streams.answer
        self.mesh.node = node

    async def start(self, nursery: trio.Nursery) -> None:
        """Start every service's task in `nursery` (the serving nursery)."""
        await nursery.start(self.group_receipts.run)
        await nursery.start(self.disabled_watch.run)
        await nursery.start(self.calls.run)
        await nursery.start(self.streams.run)
        await nursery.start(self.push.run)
        await nursery.start(self.directory_sync.run)

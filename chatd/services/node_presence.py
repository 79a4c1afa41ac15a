"""Presence across the nodes of one chatd on PostgreSQL (docs/scaling.md): who is connected to
the other nodes, and who of them is present in which room.

Each node says who is connected to it: when a user's first connection comes or last one goes
(chatd.net.hub), and when the count of a user's connections present in a room moves
(chatd.services.room_presence), the user (and room) is marked; a task writes the marked rows'
counts as they stand then, coalesced, into `node_presence` with one writer op, whose effect
(PresenceOf) goes to the other nodes as a node event, in commit order.

Each other node keeps, per node and run, the rows it heard of. A user connected to another node
is online (Hub.elsewhere: DM peers and friends see it, the push service counts the user as live,
chat_dm_send says delivered) and counts among a room's present users. A node that starts reads
the live nodes' rows, then follows their events. The rows of a node that stopped saying it is
alive (chatd.services.cluster's heartbeat), or that started again under a new run, are dropped.
When a user's presence across every node flips, each node tells its own connections
(UserPresence.tell).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from ..core.effects import Outcome, PresenceOf
from ..store import cluster as store
from ..store.db import now_ms

if TYPE_CHECKING:
    from ..net.hub import Hub
    from ..store.readers import Readers
    from ..store.writer import Writer
    from .room_presence import RoomPresence

log = logging.getLogger("chatd.cluster")

RETRY_S = 1.0  # after a failed write of this node's rows, the pause before the next try

Row = tuple[int, int, int]  # user id, room id (0: connected to the node), connections


def _op_publish(ctx: Any, node: int, run: str, rows: list[Row]) -> Outcome:
    store.publish_presence(ctx.conn, node, rows)
    return Outcome(None, [PresenceOf(node, run, tuple(rows))])


class NodePresence:
    def __init__(self, node: int, run: str, hub: Hub, rooms: RoomPresence, readers: Readers, writer: Writer, tell: Callable[[int, bool], Awaitable[None]]):
        self.node = node
        self.run = run
        self.hub = hub
        self.rooms = rooms
        self.readers = readers
        self.writer = writer
        self.tell = tell  # UserPresence.tell: this node's connections learn of a flip
        self._users: set[int] = set()  # marked: whose connections to this node came or went
        self._rooms: set[tuple[int, int]] = set()  # marked: (room id, user id)
        self._wake = trio.Event()
        self._nodes: dict[int, tuple[str, dict[tuple[int, int], int]]] = {}  # node -> (run, {(user, room): conns})
        self.published = 0  # rows written (/metrics-free: tests read it)
        hub.presence_changed = self.user_changed
        rooms.changed = self.room_changed

    # -- this node's presence ------------------------------------------------------------------

    def user_changed(self, user_id: int) -> None:
        self._users.add(user_id)
        self._wake.set()

    def room_changed(self, room_id: int, user_id: int) -> None:
        self._rooms.add((room_id, user_id))
        self._wake.set()

    async def publish(self) -> None:
        """The task writing this node's marked rows (they coalesce while a write is on)."""
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            users, self._users = self._users, set()
            rooms, self._rooms = self._rooms, set()
            by_user = self.hub.by_user
            rows = [(u, 0, 1 if u in by_user else 0) for u in users]
            rows += [(u, r, self.rooms.here(r, u)) for r, u in rooms]
            try:
                await self.writer.submit(_op_publish, self.node, self.run, rows)
            except Exception:  # noqa: BLE001 - marked again: the next write takes them as they stand then
                log.warning("node %d could not write who is connected to it; trying again", self.node)
                self._users |= users
                self._rooms |= rooms
                self._wake.set()
                await trio.sleep(RETRY_S)
                continue
            self.published += len(rows)

    # -- the other nodes' ----------------------------------------------------------------------

    async def load(self) -> None:
        """At start: the live nodes' rows (their events after this come through the cluster)."""
        rows = await self.readers.read(store.live_presence, now_ms())
        by_node: dict[tuple[int, str], list[Row]] = {}
        for node, run, user_id, room_id, conns in rows:
            if node != self.node:
                by_node.setdefault((node, run), []).append((user_id, room_id, conns))
        for (node, run), node_rows in by_node.items():
            await self.apply(PresenceOf(node, run, tuple(node_rows)))

    async def apply(self, effect: PresenceOf) -> None:
        """Another node's rows."""
        if effect.node == self.node:
            return
        known = self._nodes.get(effect.node)
        if known is not None and known[0] != effect.run:
            await self.forget(effect.node)  # it started again: its last run's connections are gone
            known = None
        if known is None:
            known = self._nodes[effect.node] = (effect.run, {})
        flips: dict[int, bool] = {}
        for user_id, room_id, conns in effect.rows:
            self._set(known[1], user_id, room_id, conns, flips)
        await self._tell(flips)

    async def forget(self, node: int) -> None:
        """A node gone (or started again): its users are not connected to it any more."""
        known = self._nodes.pop(node, None)
        if known is None:
            return
        log.info("node %d is gone: %d presence rows dropped", node, len(known[1]))
        flips: dict[int, bool] = {}
        for user_id, room_id in list(known[1]):
            self._set(known[1], user_id, room_id, 0, flips)
        await self._tell(flips)

    async def keep_live(self, live: dict[int, str]) -> None:
        """Drop the rows of the nodes not in `live` ({node: run}), or in it under another run."""
        for node in [n for n, (run, _) in self._nodes.items() if live.get(n) != run]:
            await self.forget(node)

    def _set(self, state: dict[tuple[int, int], int], user_id: int, room_id: int, conns: int, flips: dict[int, bool]) -> None:
        key = (user_id, room_id)
        old = state.get(key, 0)
        if old == conns:
            return
        if conns:
            state[key] = conns
        else:
            del state[key]
        if room_id == 0:
            elsewhere = self.hub.elsewhere
            before = self.hub.online(user_id)
            count = elsewhere.get(user_id, 0) + (1 if conns else -1)
            if count > 0:
                elsewhere[user_id] = count
            else:
                elsewhere.pop(user_id, None)
            after = self.hub.online(user_id)
            if after != before:
                flips[user_id] = after
            return
        remote = self.rooms.remote.setdefault(room_id, {})
        total = remote.get(user_id, 0) + conns - old
        if total > 0:
            remote[user_id] = total
        else:
            remote.pop(user_id, None)
            if not remote:
                del self.rooms.remote[room_id]

    async def _tell(self, flips: dict[int, bool]) -> None:
        for user_id, online in flips.items():
            try:
                await self.tell(user_id, online)
            except Exception:  # noqa: BLE001 - one user's announcement; the others go on
                log.exception("telling user %d's presence failed", user_id)

"""The nodes of one chatd on PostgreSQL (docs/scaling.md): this node's part.

- At start it takes its number (`storage.node`) in the `nodes` table, refusing one that a live
  node holds, and says it is alive every HEARTBEAT_S; it prunes its own old events.
- Its writer adds each batch's shared effects (chatd.core.cluster_wire) to `node_events`, in
  the batch's transaction, with a NOTIFY (`before_commit`, on the writer's thread).
- Effects of requests that write nothing (typing, delivery receipts) ride a notification of
  their own (LIVE_CHANNEL), sent after this node applied them, and are applied by the others
  as they arrive: short-lived, they are not kept, and a node that was not listening misses them.
- Who is connected to which node, and present in which room: chatd.services.node_presence.
- A request about a call another node holds is asked of that node: chatd.services.node_asks.
- It listens (chatd.store.pg_listen) and, when it hears of an event, reads every other node's
  events it has not applied yet, in id order (which is each node's commit order, and a conversation's seq
  order whichever nodes wrote it), and applies them to its own connections and memory through
  the delivery pipeline, as if its own writer had committed them. A lost
  notification, or a listening connection lost for a while, costs a wait, not an event: the next
  read takes everything newer than what was applied.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import socket
from typing import TYPE_CHECKING, Any

import trio

from ..core import cluster_wire
from ..core.effects import Members, Outcome, PresenceOf, Push, Users, Viewers
from ..store import cluster as store
from ..store.community_cache import viewers
from ..store.db import MAX_NODES, now_ms
from ..store.files import StartupError
from ..store.pg_listen import Listener
from .node_asks import NodeAsks
from .node_presence import NodePresence

if TYPE_CHECKING:
    from ..core.delivery import Delivery
    from ..store.readers import Readers
    from ..store.writer import Writer
    from .members import MemberCache

log = logging.getLogger("chatd.cluster")

HEARTBEAT_S = 10.0
READ_BATCH = 200
LIVE_QUEUE = 1000


class Cluster:
    def __init__(self, dsn: str, node: int, readers: Readers, writer: Writer, delivery: Delivery, members: MemberCache):
        self.dsn = dsn
        self.node = node
        self.readers = readers
        self.writer = writer
        self.delivery = delivery
        self.members = members
        self._applied: dict[int, int] = {}  # node -> the id of its last event applied here
        self._heard: set[int] = set()  # nodes with events not read yet
        self._writers: set[int] = set()  # the other nodes known to write events: those a catch-up reads
        self._wake = trio.Event()
        self.listener = Listener(dsn, [store.CHANNEL, store.LIVE_CHANNEL, store.ASK_CHANNEL], self._notified, self._gap)
        self._live_in, self._live_out = trio.open_memory_channel[str](LIVE_QUEUE)  # payloads to NOTIFY
        self._heard_live: list[list[Any]] = []  # other nodes' live effects, to apply
        self.applied_events = 0
        self.run_id = secrets.token_hex(8)  # this run of the server, in `nodes`
        self.shared_batches = 0
        sv = delivery.services
        self.presence = NodePresence(node, self.run_id, delivery.hub, sv.room_presence, readers, writer, sv.user_presence.tell)
        self.asks = NodeAsks(node, readers)

    # -- the writer's hook (on the writer's thread, inside the batch's transaction) -----------

    def before_commit(self, conn: Any, batch: list[Any], now: int) -> None:
        effects = [e for op in batch if op.error is None and type(op.result) is Outcome for e in op.result.effects]
        items = cluster_wire.shared(effects) if effects else []
        if not items:
            return
        try:
            body = cluster_wire.encode(items)
        except (TypeError, ValueError, OverflowError):
            log.exception("a batch's effects cannot be passed to the other nodes: they will not see them")
            return
        conn.execute("SAVEPOINT node_event")
        try:
            store.add_event(conn, self.node, now, body)
        except Exception:  # noqa: BLE001 - the batch commits whatever happens to its event
            conn.execute("ROLLBACK TO node_event")
            log.exception("the batch's event for the other nodes could not be written")
        conn.execute("RELEASE node_event")
        self.shared_batches += 1

    # -- the task ------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        host, pid = socket.gethostname(), os.getpid()
        holder = await self.writer.submit(lambda ctx: store.claim(ctx.conn, self.node, ctx.now, host, pid, self.run_id))
        if holder is not None:
            raise StartupError(f"storage.node {self.node} is taken by a running node ({holder[0]}, pid {holder[1]}): give each node its own number")
        self._applied = await self.readers.read(store.latest_events)
        self._writers = (set(self._applied) | set(await self.readers.read(store.live_nodes, now_ms()))) - {self.node}
        await self.presence.load()  # (after: the events newer than what it read follow)
        try:
            async with trio.open_nursery() as nursery:
                self.asks.nursery = nursery
                nursery.start_soon(self.listener.run)
                nursery.start_soon(self.presence.publish)
                nursery.start_soon(self._heartbeat)
                nursery.start_soon(self._send_live)
                with trio.fail_after(30):
                    await self.listener.listening.wait()
                task_status.started()
                while True:
                    await self._wake.wait()
                    self._wake = trio.Event()
                    live, self._heard_live = self._heard_live, []
                    for effects in live:
                        await self._apply(effects)  # (never raises)
                    heard, self._heard = self._heard, set()
                    if heard:
                        try:
                            await self._catch_up(heard)
                        except Exception:  # noqa: BLE001 - the next notification reads them again
                            log.exception("reading the other nodes' events failed")
                            self._heard |= heard
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):  # a writer that stopped answers nothing
                try:
                    await self.writer.submit(lambda ctx: store.release(ctx.conn, self.node, self.run_id))
                except Exception:  # noqa: BLE001 - the writer may be closed already: the lease runs out
                    pass

    def _notified(self, channel: str, payload: str) -> None:
        if channel == store.ASK_CHANNEL:
            self.asks.heard(payload)
            return
        node, _, rest = payload.partition(":")
        if not node.isdigit() or int(node) == self.node:
            return
        if channel == store.LIVE_CHANNEL:
            try:
                self._heard_live.append(cluster_wire.decode(base64.b64decode(rest)))
            except Exception:  # noqa: BLE001 - one bad payload is dropped, the listener goes on
                log.exception("a live notification from node %s could not be read", node)
                return
        else:
            self._heard.add(int(node))
            self._writers.add(int(node))
        self._wake.set()

    # -- effects of requests that wrote nothing (typing, receipts): NOTIFY with the effects ---

    def share(self, effects: list[Any]) -> None:
        """Delivery.apply's effects, to the other nodes: small and short-lived, they ride the
        notification itself (at most PAYLOAD_MAX bytes, chatd.store.cluster); never waits (a full queue drops them)."""
        items = cluster_wire.shared(effects)
        if not items:
            return
        payload = f"{self.node}:" + base64.b64encode(cluster_wire.encode(items)).decode()
        if len(payload) > store.PAYLOAD_MAX:
            log.warning("effects too large for a notification (%d bytes) stay on this node: %r", len(payload), effects)
            return
        try:
            self._live_in.send_nowait(payload)
        except trio.WouldBlock:
            log.warning("the other nodes' queue is full: effects dropped")

    async def _send_live(self) -> None:
        async for payload in self._live_out:
            try:
                await self.readers.read(store.notify_live, payload)
            except Exception:  # noqa: BLE001 - typing is short-lived: the next one goes
                log.exception("telling the other nodes failed")

    def _gap(self) -> None:
        """The listener was away: every node may have events this one did not hear of."""
        self._heard.update(n for n in range(MAX_NODES) if n != self.node)
        self._wake.set()

    async def _catch_up(self, heard: set[int]) -> None:
        """The events not applied yet of every other node known to write them, all of them in
        one order (store.events_after). Not only those of the nodes heard from: a notification
        may come after a later one of another node, whose event was committed after it."""
        while True:
            after = {node: self._applied.get(node, 0) for node in sorted(self._writers | heard)}
            events = await self.readers.read(store.events_after, after, READ_BATCH)
            for event_id, node, body in events:
                try:
                    effects = cluster_wire.decode(body)
                except Exception:  # noqa: BLE001 - one unreadable event is skipped, not read forever
                    log.exception("node %d's event %d cannot be read: skipped", node, event_id)
                    effects = []
                await self._apply(effects)
                self._applied[node] = event_id
                self.applied_events += 1
            if len(events) < READ_BATCH:
                return

    async def _apply(self, effects: list[Any]) -> None:
        """Another node's effects, here (Delivery.apply keeps one effect's bug to itself). What
        the delivery would read on the writer's connection (member lists, a channel's viewers) is
        read first through the readers: the writer's connection is its thread's, mid-batch."""
        ready: list[Any] = []
        for effect in effects:
            try:
                if type(effect) is PresenceOf:
                    await self.presence.apply(effect)
                    continue
                if type(effect) is Push and type(effect.to) is Members:
                    await self.members.get(effect.to.conv_id)
                elif type(effect) is Push and type(effect.to) is Viewers:
                    effect = await self._to_viewers(effect)
            except Exception:  # noqa: BLE001 - one push's audience; the others go on
                log.exception("resolving %r from another node failed", effect)
                continue
            ready.append(effect)
        self.delivery.apply(ready, None, share=False)

    async def _to_viewers(self, push: Push) -> Push:
        """A push to a channel's viewers, as a push to those of them connected here who may see
        it as the community's permissions stand now."""
        members = await self.members.get(push.to.conv_id)
        online = self.delivery.hub.by_user
        here = [uid for uid in members if uid in online]
        seen = await self.readers.read(viewers, push.to.conv_id, here) if here else []
        return Push(push.cmd, push.data, Users(tuple(seen)), skip_origin=False, skip_user=push.skip_user, if_reached=push.if_reached)

    async def _heartbeat(self) -> None:
        while True:
            await trio.sleep(HEARTBEAT_S)
            now = now_ms()
            try:
                await self.writer.submit(lambda ctx: store.alive(ctx.conn, self.node, ctx.now, self.run_id))
                await self.writer.submit(lambda ctx: store.prune(ctx.conn, self.node, now - store.EVENT_RETENTION_MS))
                live = await self.readers.read(store.live_nodes, now)
                self._writers |= set(live) - {self.node}
                await self.presence.keep_live(live)
                self.delivery.services.mesh.keep_nodes(live)
            except Exception:  # noqa: BLE001 - the writer logs why; the next beat tries again
                log.warning("node %d could not say it is alive", self.node)

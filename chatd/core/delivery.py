"""Delivery: after a batch commits, ack its submitters, then write every op's pushes in commit order.

The writer hands each committed batch to `Delivery.on_commit` at once: op by op
in commit order, it applies each effect that changes memory (member cache,
room presence, read receipts) and works out the connections each push goes to,
so a push reaches exactly who was a member when its op committed. Once the
batch is durable (at once with durability normal, after the sync of the WAL
with full: chatd.store.walsync) the writer calls `after_commit`, which wakes
every submitter (their handlers answer: the acks) and writes the pushes in the
same order, each encoded once:

- a batch of one request leaves its pushes to the server, which writes them
  right after that request's response (`flush`); the next batch flushes them
  first if it commits before, so the order holds;
- a batch of several waits two scheduler rounds for all of them to answer,
  under the hub's cork, then writes the pushes and releases the cork, so a
  connection gets everything the batch wrote to it with one send().

The writer delivers batches in the order they committed (with full, a batch
waiting for its sync may be followed by later commits, but never overtaken by
their deliveries), so every push of a conversation leaves in seq order.

An audience of all members is read from the member cache; a conversation the
cache does not hold is loaded from the writer's own connection, which is idle
between batches: a delivery never waits for a reader thread. With normal the
load comes after the acks, so an ack never waits for it. With full it comes in
on_commit, while the disk syncs: the next batch may commit before this one is
delivered, and the list must be the one of this batch's commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import trio

from ..errors import CLOSE_ACCOUNT
from ..store.community_cache import viewers
from ..store.conversations import member_ids
from .effects import Connections, Device, Emptied, Entered, Everyone, Deactivated, HandedOver, Joined, Left, Live, Members, MeshDevice, Notify, Outcome, Present, PresenceOf, Push, ReadMoved, Users, Viewers

if TYPE_CHECKING:
    from ..net.hub import Hub
    from ..net.session import Session
    from ..services import Services

log = logging.getLogger("chatd.delivery")


class Delivery:
    def __init__(self, hub: Hub, services: Services, read_now: Callable[..., Any], *, load_at_commit: bool = False):
        self.hub = hub
        self.services = services
        self._read_now = read_now  # fn(conn, *args) on the writer's connection (Writer.read_now)
        self._load_at_commit = load_at_commit  # durability full: see the module's docstring
        self._handoff: list[tuple[Push, list[Session] | None, Session | None]] | None = None
        self.shared: Callable[[list[Any]], None] | None = None  # several nodes: chatd.services.cluster.Cluster.share

    # -- the writer's hooks ------------------------------------------------------------------

    def on_commit(self, batch: list[Any]) -> list[tuple[Push, list[Session] | None, Session | None]]:
        """Right after the commit: apply the batch's membership changes and work out who each
        push goes to, op by op in commit order. `batch` holds the writer's ops: `.result`,
        `.error`, `.origin`, `.task` and `.done()`."""
        planned: list[tuple[Push, list[Session] | None, Session | None]] = []
        load = self._load_at_commit
        for op in batch:
            result = op.result
            if op.error is None and type(result) is Outcome and result.effects:
                for effect in result.effects:
                    try:
                        if type(effect) is Push:
                            planned.append((effect, self.sessions(effect.to, load=load), op.origin))
                        elif type(effect) is Notify:  # handed over once durable, in commit order
                            planned.append((effect, [], op.origin))  # type: ignore[arg-type]
                        else:
                            self._change(effect, op.origin)
                    except Exception:  # noqa: BLE001 - the write is committed; one effect's bug must not stop the others
                        log.exception("applying %r failed", effect)
        return planned

    async def after_commit(self, batch: list[Any], planned: list[tuple[Push, list[Session] | None, Session | None]]) -> None:
        """Once the batch is durable (or several batches synced together: their ops and plans
        concatenated): wake the submitters (their handlers answer: the acks); then write the
        pushes on_commit planned (none if the batch never became durable)."""
        self.flush()  # the previous batch's, if its submitter has not answered yet: order is kept
        submitters = 0
        lone: Any = None
        for op in batch:
            if op.task is not None:
                submitters += 1
                lone = op
        if submitters == 1 and planned and lone.origin is not None and all(sessions is not None for _, sessions, _ in planned):
            # A lone request: its handler answers, then the server writes these (flush), so the
            # ack goes first without this task waiting for it. A later batch flushes them first.
            # (Not when a member list must be loaded: only this task may use the writer's connection.)
            self._handoff = planned
            for op in batch:
                op.done()
            return
        # With several submitters, hold the cork while they answer and the pushes go out, so each
        # connection gets what the batch wrote to it with one send().
        cork = self.hub.cork
        hold = submitters > 1
        if hold:
            cork.held = True
        try:
            for op in batch:
                op.done()
            if planned:
                # The submitters run in the next scheduler round, before or after this task (trio
                # picks the order): after a second checkpoint every one of them has answered.
                await trio.lowlevel.cancel_shielded_checkpoint()
                await trio.lowlevel.cancel_shielded_checkpoint()
            self._write_all(planned)
        finally:
            if hold:
                cork.release()

    def flush(self) -> None:
        """Write the pushes a lone request's batch left for after its response (the server calls
        this once it has answered a request; the next batch, and shutdown, call it too)."""
        planned, self._handoff = self._handoff, None
        if planned:
            self._write_all(planned)

    def _write_all(self, planned: list[tuple[Push, list[Session] | None, Session | None]]) -> None:
        for push, sessions, origin in planned:
            try:
                if type(push) is Notify:
                    self.services.push.offer(push)  # never waits: a bounded queue (chatd.services.push)
                    continue
                self._write(push, self.sessions(push.to) if sessions is None else sessions, origin)
            except Exception:  # noqa: BLE001 - the write is committed; one push's bug must not stop the others
                log.exception("delivering %r failed", push)

    # -- effects -----------------------------------------------------------------------------

    def apply(self, effects: Iterable[Any], origin: Session | None, *, share: bool = True) -> None:
        """Apply effects now, in order (a request that wrote nothing: typing, a receipt). With
        several nodes, `shared(effects)` tells the others too (chatd.services.cluster), unless
        they came from another node."""
        if share and self.shared is not None:
            effects = list(effects)
            try:
                self.shared(effects)
            except Exception:  # noqa: BLE001 - this node's own delivery goes on
                log.exception("telling the other nodes of %r failed", effects)
        for effect in effects:
            try:
                if type(effect) is Push:
                    self._write(effect, self.sessions(effect.to), origin)  # type: ignore[arg-type]
                else:
                    self._change(effect, origin)
            except Exception:  # noqa: BLE001 - one effect's bug must not stop the others
                log.exception("delivering %r failed", effect)

    def _write(self, p: Push, sessions: list[Session], origin: Session | None) -> int:
        """Write one push to these connections (but origin or skip_user where the push says so)."""
        if p.skip_user:
            sessions = [s for s in sessions if s.user["id"] != p.skip_user]
        data = p.data.fn(self.services, self.hub, *p.data.args) if type(p.data) is Live else p.data
        written = self.hub.push_sessions(sessions, p.cmd, data, exclude=origin if p.skip_origin else None)
        if p.if_reached is not None and written:
            # (several nodes: to the audience's connections to the other nodes too)
            self.apply([p.if_reached], origin)
        return written

    def _load_now(self, conv_id: int) -> list[int]:
        """A conversation's member ids, from the writer's connection (idle between batches)."""
        return self._read_now(member_ids, conv_id)  # type: ignore[no-any-return]

    def sessions(self, to: Any, load: bool = True) -> list[Session] | None:
        """The connections of an audience now. A conversation the member cache does not hold is
        loaded only with `load` (else None: after the acks, so an ack never waits for a load)."""
        hub = self.hub
        if type(to) is Members:
            ids: Iterable[int] | None = self.services.members.peek(to.conv_id) if not load else self.services.members.get_now(to.conv_id, self._load_now)
            if ids is None:
                return None
            if to.also:
                ids = set(ids) | set(to.also)
            return hub.sessions_of_users(ids)
        if type(to) is Users:
            return hub.sessions_of_users(to.ids)
        if type(to) is Viewers:
            # Always worked out right after the commit (whatever `load`), on the writer's
            # connection: exactly the permissions of this commit decide, so from the commit that
            # takes a member's VIEW_CHANNEL away they get nothing more of the channel.
            # Only the members connected now are asked about: a community of 10,000 with 1,000
            # online costs 1,000 permission lookups a message, not 10,000.
            ids = self.services.members.get_now(to.conv_id, self._load_now)
            online = hub.by_user
            ids = [uid for uid in online if uid in ids] if len(online) < len(ids) else [uid for uid in ids if uid in online]
            return hub.sessions_of_users(self._read_now(viewers, to.conv_id, ids))
        if type(to) is Everyone:
            return hub.logged_in_sessions()
        if type(to) is Connections:
            return [s for s in to.sessions if hub.is_registered(s)]
        if type(to) is Device:
            return [s for s in hub.sessions_of(to.user_id) if s.id == to.device]
        if type(to) is Present:
            out = self.services.room_presence.sessions(to.room_id)
            if to.also:
                seen = set(out)
                out += [s for s in hub.sessions_of_users(to.also) if s not in seen]
            return out
        raise TypeError(f"unknown audience {to!r}")

    def _change(self, effect: Any, origin: Session | None) -> None:
        sv = self.services
        kind = type(effect)
        if kind is Joined:
            sv.members.add(effect.conv_id, effect.user_ids)
        elif kind is Left:
            sv.members.remove(effect.conv_id, effect.user_ids)
            for uid in effect.user_ids:
                sv.room_presence.leave_user(effect.conv_id, uid)
            sv.mesh.leave_users(effect.conv_id, effect.user_ids)  # and its group call
        elif kind is Entered:
            if origin is not None and self.hub.is_registered(origin):  # not a connection that ended meanwhile
                sv.room_presence.enter(origin, effect.room_id)
        elif kind is Emptied:
            sv.room_presence.clear(effect.room_id)
        elif kind is ReadMoved:  # made only by kinds whose read receipts are aggregated (groups)
            sv.group_receipts.mark(effect.conv_id, effect.old, effect.new)
        elif kind is HandedOver:
            sv.streams.handed_over(effect.conv_id, effect.agent_id)
        elif kind is Deactivated:
            for uid in effect.user_ids:
                for session in list(self.hub.sessions_of(uid)):
                    session.conn.close(CLOSE_ACCOUNT, effect.reason)
        elif kind is Notify:  # a request that wrote nothing (a call): after its response
            sv.push.offer(effect)
        elif kind is PresenceOf:  # this node's own: for the other nodes (chatd.services.node_presence)
            pass
        elif kind is MeshDevice:  # another node's device in a group call (this node's own: nothing)
            sv.mesh.elsewhere(effect)
        else:
            raise TypeError(f"unknown effect {effect!r}")

"""Streamed messages (docs/bots.md): the text of every running stream, in memory.

A bot begins a stream with its first text (the message is stored at once, `state: streaming`),
appends deltas, and ends it. The authoritative text is here: each delta is applied by its
offset (a resend changes nothing, a gap is refused), pushed as `chat.stream.delta` at most once
per `bots.stream_push_interval_ms` per stream (deltas in between are merged into one push, so
a fast bot costs its readers one frame per interval and the bytes of its text; a reader whose
socket is full gets what it missed as one delta once it takes data again), and written to
the message row once per `bots.stream_flush_interval_ms`. A reader that opens the conversation
mid-stream gets the text so far (`overlay`), then the deltas after it.

Each stream is one task in the service's nursery: it pushes what waits, flushes, and ends the
stream as `timeout` when the bot is silent for `bots.stream_idle_timeout_s`; the bot's last
connection ending ends its streams as `disconnected`.

Several nodes (docs/scaling.md): a stream lives on the node the bot began it on (the node its
message id names). Each delta push also goes to the other nodes, which write it to their own
readers of the conversation (all of them: a full socket there is not skipped); a reader's
chat_stream_cancel on another node, and the text so far of a message read there, are asked of
the stream's node.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ..core import stream_ops
from ..core.kinds import DM
from ..core.effects import Connections, Push, Users
from ..errors import ChatError
from ..policy import roles
from ..store.db import IdGen

if TYPE_CHECKING:
    from ..config import BotsConfig
    from ..net.hub import Hub
    from ..net.session import Session
    from ..store.writer import Writer

log = logging.getLogger("chatd.streams")


@dataclass
class Stream:
    stream_id: int
    kind: Any  # chatd.core.kinds.Kind
    conv_id: int
    bot_id: int
    audience: Any  # where its pushes go (the kind's audience of its messages)
    text: str
    seq: int = 0  # the bot's last delta number applied
    pushed: int = 0  # characters already pushed
    flushed: int = 0  # characters already in the message row
    last_append: float = 0.0  # trio time
    wake: trio.Event = field(default_factory=trio.Event)
    ending: tuple[str, str | None] | None = None  # ("done" | "error", reason), set by end()
    ended: trio.Event = field(default_factory=trio.Event)
    result: dict[str, Any] | None = None
    # Readers whose socket was full when a delta went out: the length of the text each has.
    # They get the rest as one delta once their socket takes data again (or the end's message).
    behind: dict[Session, int] = field(default_factory=dict)


class Streams:
    def __init__(self, cfg: BotsConfig, hub: Hub, writer: Writer, max_chars: int):
        self.cfg = cfg
        self.hub = hub
        self.writer = writer
        self.max_chars = max_chars
        self.apply: Callable[[list[Any]], None] = lambda effects: None  # the delivery pipeline's (chatd.server)
        self.sessions: Callable[[Any], list[Session]] = lambda audience: []  # an audience's connections now (chatd.server)
        self.share: Callable[[list[Any]], None] | None = None  # several nodes: pushes to the other nodes only (chatd.server)
        self.readers: Any = None  # (chatd.services: a cancel asked by another node checks the reader's access)
        self.node = 0
        self.ask: Callable[[int, str, Any], Awaitable[Any]] | None = None  # several nodes: chatd.services.node_asks
        self.streams: dict[int, Stream] = {}
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    def started(self, kind: Any, msg: dict[str, Any], audience: Any) -> None:
        """A stream's message was stored (chatd.core.stream_ops.op_begin): keep its text."""
        text = msg["content"]["text"]
        stream = Stream(msg["id"], kind, msg["conv_id"], msg["sender_id"], audience, text, pushed=len(text), flushed=len(text))
        stream.last_append = trio.current_time()
        self.streams[stream.stream_id] = stream
        assert self._nursery is not None, "the streams service is not running"
        self._nursery.start_soon(self._run_stream, stream)

    def _own(self, stream_id: int, user_id: int) -> Stream:
        stream = self.running(stream_id)
        if stream.bot_id != user_id:
            raise ChatError("forbidden", "only the stream's sender may change it", field="stream_id")
        return stream

    def append(self, stream_id: int, user_id: int, seq: int, offset: int, text: str) -> tuple[int, bool]:
        """Apply a delta by its offset: (the text's length now, whether it added anything)."""
        stream = self._own(stream_id, user_id)
        if stream.ending is not None:
            raise ChatError("conflict", "the stream is ending", field="stream_id")
        have = len(stream.text)
        if offset > have:
            raise ChatError("conflict", f"offset {offset} leaves a gap: the stream has {have} characters", field="offset")
        end = offset + len(text)
        if end <= have:  # already applied (a resend): it must say what was applied
            if stream.text[offset:end] != text:
                raise ChatError("conflict", f"the text at offset {offset} differs from what the stream has", field="text")
            return have, False
        if stream.text[offset:] != text[: have - offset]:
            raise ChatError("conflict", f"the text at offset {offset} differs from what the stream has", field="text")
        if end > self.max_chars:
            raise ChatError("too_large", f"a message holds at most {self.max_chars} characters", field="text")
        stream.text += text[have - offset :]
        stream.seq = max(stream.seq, seq)
        stream.last_append = trio.current_time()
        stream.wake.set()
        return len(stream.text), True

    async def end(self, stream_id: int, user_id: int, error: str | None, length: int | None) -> dict[str, Any]:
        """End the stream (its task stores the text and pushes the end); returns the message."""
        stream = self._own(stream_id, user_id)
        if length is not None and length != len(stream.text):
            raise ChatError("conflict", f"the stream has {len(stream.text)} characters, not {length}", field="length")
        if stream.ending is None:
            stream.ending = ("error", error) if error else ("done", None)
            stream.wake.set()
        await stream.ended.wait()
        if stream.result is None:
            raise ChatError("unavailable", "the stream's end could not be stored")
        return stream.result

    def running(self, stream_id: int) -> Stream:
        stream = self.streams.get(stream_id)
        if stream is None:
            raise ChatError("not_found", "no running stream with this id (it may have ended)", field="stream_id")
        return stream

    async def cancel(self, stream_id: int, by: int) -> tuple[dict[str, Any], Push]:
        """A reader asks the bot to stop, if the reader can read the conversation: the answer, and
        the push to the bot's connections."""
        stream = self.running(stream_id)
        if stream.kind is DM:
            if by not in stream.audience.ids:
                raise ChatError("not_found", "no running stream with this id (it may have ended)", field="stream_id")
        else:
            await self.readers.read(stream.kind.store.access, stream.conv_id, by, roles.READ)
        data = {"stream_id": stream.stream_id, "kind": stream.kind.name, "conv_id": stream.conv_id, "by": by}
        push = Push("chat.stream.cancel", data, Users((stream.bot_id,)), skip_origin=False)
        return {"stream_id": stream.stream_id, "forwarded": self.hub.online(stream.bot_id)}, push

    def held_by(self, stream_id: int) -> int | None:
        """The other node running this stream, or None if it is this node's (or none's)."""
        if self.ask is None or stream_id in self.streams:
            return None
        node = IdGen.node_of(stream_id)
        return None if node == self.node else node

    async def answer(self, request: dict[str, Any]) -> dict[Any, Any]:
        """Another node asks of this node's streams: the text so far of those still running, or
        (a reader there) to cancel one."""
        if request["what"] == "text":
            return {sid: self.streams[sid].text for sid in request["stream_ids"] if sid in self.streams}
        out, push = await self.cancel(request["stream_id"], request["user_id"])
        self.apply([push])
        return out

    async def overlay(self, messages: list[dict[str, Any]]) -> None:
        """Messages read from the database, with the text of their running stream so far (a
        stream another node runs: asked of it; if it does not answer, the row's text stands)."""
        away: dict[int, list[dict[str, Any]]] = {}
        for m in messages:
            if m.get("state") != "streaming" or m["content"] is None:
                continue
            stream = self.streams.get(m["id"])
            if stream is not None:
                m["content"] = {"type": "text", "text": stream.text}
            elif (node := self.held_by(m["id"])) is not None:
                away.setdefault(node, []).append(m)
        for node, waiting in away.items():
            assert self.ask is not None
            try:
                texts = await self.ask(node, "stream", {"what": "text", "stream_ids": [m["id"] for m in waiting]})
            except ChatError:
                continue
            for m in waiting:
                if m["id"] in texts:
                    m["content"] = {"type": "text", "text": texts[m["id"]]}

    def session_ended(self, session: Session) -> None:
        """The bot's last connection is gone: its streams end as disconnected."""
        if session.user is None or self.hub.sessions_of(session.user_id):  # (it has left the list already)
            return
        for stream in self.streams.values():
            if stream.bot_id == session.user_id and stream.ending is None:
                stream.ending = ("error", "disconnected")
                stream.wake.set()

    def handed_over(self, conv_id: int, agent_id: int) -> None:
        """The DM was handed over to an agent (at its commit): the bot's streams in it end as
        `handover`, their text so far kept; the agent hears their end too."""
        for stream in self.streams.values():
            if stream.conv_id == conv_id and stream.ending is None:
                stream.ending = ("error", "handover")
                stream.audience = Users(tuple({*stream.audience.ids, agent_id}))
                stream.wake.set()

    # -- each stream's task ---------------------------------------------------------------------

    def _delta_data(self, stream: Stream, offset: int) -> dict[str, Any]:
        return {
            "stream_id": stream.stream_id, "kind": stream.kind.name, "conv_id": stream.conv_id,
            "seq": stream.seq, "offset": offset, "text": stream.text[offset:],
        }

    def _push_delta(self, stream: Stream) -> None:
        """Push what the stream gained since its last push: one frame, encoded once, to every
        reader keeping up. A reader whose socket is full (its connection has a backlog) is
        skipped and remembered with the length it has; once its socket takes data again it gets
        everything it missed as one delta. So a slow reader costs the stream one number, never a
        queue of deltas, and is not disconnected for it (the end's message carries the whole text)."""
        behind = stream.behind
        on_time: list[Session] = []
        pushes: list[Push] = []
        sessions = self.sessions(stream.audience)
        for session in sessions:
            if session.conn.backlog:
                behind.setdefault(session, stream.pushed)
            elif session in behind:
                has = behind.pop(session)
                if has < len(stream.text):
                    pushes.append(Push("chat.stream.delta", self._delta_data(stream, has), Connections((session,)), skip_origin=False))
            else:
                on_time.append(session)
        if stream.pushed < len(stream.text):
            data = self._delta_data(stream, stream.pushed)
            if on_time:
                pushes.append(Push("chat.stream.delta", data, Connections(tuple(on_time)), skip_origin=False))
            if self.share is not None:
                self.share([Push("chat.stream.delta", data, stream.audience, skip_origin=False)])
        stream.pushed = len(stream.text)
        self.apply(pushes)
        if len(behind) > len(sessions):  # readers gone meanwhile: forget them
            for session in set(behind) - set(sessions):
                del behind[session]

    async def _run_stream(self, stream: Stream) -> None:
        cfg = self.cfg
        push_s, flush_s, idle_s = cfg.stream_push_interval_ms / 1000, cfg.stream_flush_interval_ms / 1000, cfg.stream_idle_timeout_s
        last_flush = trio.current_time()
        try:
            while stream.ending is None:
                with trio.move_on_at(stream.last_append + idle_s):
                    await stream.wake.wait()
                if not stream.wake.is_set():
                    stream.ending = ("error", "timeout")
                    break
                stream.wake = trio.Event()
                self._push_delta(stream)
                if trio.current_time() - last_flush >= flush_s and stream.flushed < len(stream.text):
                    await self.writer.submit(stream_ops.op_flush, stream.stream_id, stream.conv_id, stream.text)
                    stream.flushed, last_flush = len(stream.text), trio.current_time()
                await trio.sleep(push_s)  # deltas that come meanwhile go out merged, in one push
            self._push_delta(stream)
            _, reason = stream.ending
            done = await self.writer.submit(stream_ops.op_end, stream.kind, stream.stream_id, stream.conv_id, stream.text, reason, stream.audience)
            stream.result = done.result
        except Exception:  # noqa: BLE001 - one stream's failure must not end the others
            log.exception("stream %s failed", stream.stream_id)
        finally:
            self.streams.pop(stream.stream_id, None)
            stream.ended.set()

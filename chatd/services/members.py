"""Who is in which conversation, in memory, so a fanout does not read every member row.

Loaded on demand through the readers, then kept current by the results of the
membership ops, applied as each commits (the writer's on_commit, before any
later message's fanout can run), and for a removal also before the op is
submitted, so that no message committed after a removal is pushed to the
removed user and every message committed after a join is pushed to the new
member. A load that overlaps a change is thrown away and read again.
Bounded: the least recently used conversations are forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import trio


class _Load:
    __slots__ = ("done", "stale")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.stale = False


class MemberCache:
    def __init__(self, readers: Any, load: Callable[..., list[int]], max_convs: int = 10000):
        self._readers = readers
        self._load_fn = load  # load(conn, conv_id) -> member ids
        self._max = max_convs
        self._ids: OrderedDict[int, set[int]] = OrderedDict()
        self._loading: dict[int, _Load] = {}
        self.loads = 0

    async def get(self, conv_id: int) -> set[int]:
        """The member ids of a conversation. The set is the cache's own: read it, do not keep or change it."""
        while True:
            ids = self._ids.get(conv_id)
            if ids is not None:
                self._ids.move_to_end(conv_id)
                return ids
            pending = self._loading.get(conv_id)
            if pending is not None:
                await pending.done.wait()
                continue
            pending = self._loading[conv_id] = _Load()
            try:
                self.loads += 1
                rows = await self._readers.read(self._load_fn, conv_id)
            finally:
                del self._loading[conv_id]
                pending.done.set()
            if pending.stale:
                continue  # a membership change landed while we read: read again
            ids = set(rows)
            self._ids[conv_id] = ids
            if len(self._ids) > self._max:
                self._ids.popitem(last=False)
            return ids

    def peek(self, conv_id: int) -> set[int] | None:
        """The member ids if cached (same contract as get()), else None; never loads."""
        ids = self._ids.get(conv_id)
        if ids is not None:
            self._ids.move_to_end(conv_id)
        return ids

    def get_now(self, conv_id: int, load: Callable[[int], list[int]]) -> set[int]:
        """The member ids now, loading them with `load(conv_id)` (a synchronous read, e.g. on the
        writer's connection between batches) when they are not cached. Same contract as get()."""
        ids = self._ids.get(conv_id)
        if ids is not None:
            self._ids.move_to_end(conv_id)
            return ids
        self._touch(conv_id)  # a load in flight may predate what we read now: it reads again
        self.loads += 1
        ids = self._ids[conv_id] = set(load(conv_id))
        if len(self._ids) > self._max:
            self._ids.popitem(last=False)
        return ids

    def _touch(self, conv_id: int) -> set[int] | None:
        pending = self._loading.get(conv_id)
        if pending is not None:
            pending.stale = True
        return self._ids.get(conv_id)

    def add(self, conv_id: int, user_ids: Iterable[int]) -> None:
        ids = self._touch(conv_id)
        if ids is not None:
            ids.update(user_ids)

    def remove(self, conv_id: int, user_ids: Iterable[int]) -> None:
        ids = self._touch(conv_id)
        if ids is not None:
            ids.difference_update(user_ids)

    def forget(self, conv_id: int) -> None:
        """Drop what is known of a conversation (e.g. after a removal that did not happen)."""
        self._touch(conv_id)
        self._ids.pop(conv_id, None)

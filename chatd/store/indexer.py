"""When the writer indexes what it stored: the search index's schedule.

Adding a message to FTS5 in the transaction that stores it would make every
commit flush FTS5's pending terms into a new segment, which costs more than the
rest of a one-message commit. So messages are indexed a little after they are
stored: at most INDEX_DELAY_S after a message is committed, the writer appends
`search.op_index_pending` to the batch it commits then, so one FTS5 flush covers
every message of that time. `search_state.indexed_upto` is committed with the
entries it covers: after a crash the rest is indexed at start, and an orderly
stop indexes what is left before closing. This module keeps the schedule; the
writer asks it what to run and tells it what committed. No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import search

INDEX_DELAY_S = 0.05  # a stored message waits at most this long for the search index...
INDEX_BATCH = 2000  # ...which takes at most this many messages per transaction
INDEX_RETRY_S = 5.0  # after an indexing op failed
ALL = 1 << 62  # an index op's limit that takes everything (at shutdown)

IndexOp = tuple[Callable[..., tuple[int, bool]], tuple[Any, ...]]


class SearchIndexer:
    def __init__(self) -> None:
        self.indexed_upto = 0  # every message up to this id is in the search index (committed)
        self.due_at: float | None = None  # when to index the messages waiting (trio time), None: none wait

    def opened(self, indexed_upto: int) -> None:
        self.indexed_upto = indexed_upto

    def waiting(self, last_id: int) -> bool:
        """Messages up to `last_id` are stored: are some not indexed yet?"""
        return last_id > self.indexed_upto

    def schedule(self, now: float, last_id: int) -> None:
        """After a batch: index what waits within INDEX_DELAY_S (unless already scheduled)."""
        if self.due_at is None and self.waiting(last_id):
            self.due_at = now + INDEX_DELAY_S

    def op_if_due(self, now: float) -> IndexOp | None:
        """The op to append to the batch being committed now, when indexing is due."""
        if self.due_at is not None and now >= self.due_at:
            return search.op_index_pending, (INDEX_BATCH,)
        return None

    def committed(self, result: tuple[int, bool], now: float, last_id: int) -> None:
        """An index op committed: (indexed up to, caught up)."""
        upto, caught_up = result
        self.indexed_upto = max(self.indexed_upto, upto)
        if not caught_up:  # more than one op's worth was waiting: run again at once
            self.due_at = now
        elif not self.waiting(last_id):
            self.due_at = None

    def failed(self, now: float) -> None:
        """An index op did not commit (logged by the writer): try again a little later."""
        self.due_at = now + INDEX_RETRY_S

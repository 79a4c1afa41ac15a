"""Group read receipts, aggregated: one task flushes each changed group at most once per interval.

A read pointer that moves (mark_read, or a send, which reads what came before)
only marks its group dirty with the range of seqs it crossed. The flusher then
reads every member's pointer once, counts the readers of each message in the
range, and sends each sender one chat_group_read_receipt for their messages
there. A 1,000-member group whose members all read a message costs one read
and one push per sender per interval, not 1,000 pushes.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

import trio

from ..errors import ChatError
from ..store import group as group_store

if TYPE_CHECKING:
    from ..net.hub import Hub
    from ..store.readers import Readers

log = logging.getLogger("chatd.group_receipts")


class GroupReceipts:
    def __init__(self, readers: Readers, hub: Hub, interval_s: float = 0.5, max_span: int = 200):
        self.readers = readers
        self.hub = hub
        self.interval_s = interval_s
        self.max_span = max_span  # a flush reports at most the newest max_span messages of a range
        self._dirty: dict[int, tuple[int, int]] = {}  # group id -> (lowest old pointer, highest new one)
        self._wake = trio.Event()
        self.flushes = 0

    def mark(self, group_id: int, old_seq: int, new_seq: int) -> None:
        """A member's read pointer moved from old_seq to new_seq."""
        lo, hi = self._dirty.get(group_id, (old_seq, new_seq))
        self._dirty[group_id] = (min(lo, old_seq), max(hi, new_seq))
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            dirty, self._dirty = self._dirty, {}
            for group_id, (lo, hi) in dirty.items():
                try:
                    await self._flush(group_id, lo, hi)
                except (ChatError, sqlite3.Error) as exc:
                    log.warning("read receipts of group %s not sent: %s", group_id, exc)
                except Exception:  # noqa: BLE001 - a bug loses these receipts, never the server
                    log.exception("read receipts of group %s failed", group_id)
            # Whatever is marked meanwhile waits for the next round.
            await trio.sleep(self.interval_s)

    async def _flush(self, group_id: int, lo: int, hi: int) -> None:
        member_count, by_sender = await self.readers.read(group_store.read_counts, group_id, lo, hi, self.max_span)
        hub = self.hub
        for sender, reads in by_sender.items():
            if hub.online(sender):
                hub.push_users([sender], "chat_group_read_receipt", {"group_id": group_id, "conv_id": group_id, "member_count": member_count, "reads": reads})
        self.flushes += 1

"""The periodic LDAP sync of the enterprise directory ([directory] in the config;
docs/directory.md). Every `directory.sync_interval_s` it reads LDAP in a worker thread under a
deadline, then applies the difference in one writer op (chatd.core.directory_ops.op_sync): a
leaver's connections are closed right after that commit. A failure (LDAP down or slow, a bind
refused) is logged and the sync runs again at the next interval; the server never waits for it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import trio

from ..core import directory_ops
from ..errors import ChatError

if TYPE_CHECKING:
    from ..config import DirectoryConfig
    from ..store.writer import Writer

log = logging.getLogger("chatd.directory")


class DirectorySync:
    def __init__(self, cfg: DirectoryConfig, writer: Writer):
        self.cfg = cfg
        self.writer = writer
        self.runs = 0  # syncs finished, well or not
        self.last: dict[str, Any] = {}  # the last one: ok, at, and the diff's lines or the error
        self._finished = trio.Event()

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.ldap_url) and self.cfg.sync_interval_s > 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        if not self.enabled:
            return
        while True:
            await self.sync_once()
            await trio.sleep(self.cfg.sync_interval_s)

    def _deadline(self) -> float:
        # connect, bind, and the pages of a search, each under ldap_timeout_s: a generous bound
        return self.cfg.ldap_timeout_s * 10

    async def sync_once(self) -> dict[str, Any]:
        """One sync; returns (and keeps in `last`) what it did or why it failed."""
        from ..directory_ldap import LdapError, fetch

        started = time.monotonic()
        try:
            with trio.fail_after(self._deadline()):
                people, skipped, keep = await trio.to_thread.run_sync(fetch, self.cfg, abandon_on_cancel=True)
            outcome = await self.writer.submit(directory_ops.op_sync, "ldap", people, skipped, keep)
            result = {"ok": True, "lines": outcome.result.lines()}
            for line in result["lines"]:
                if not line.startswith("="):
                    log.info("directory sync: %s", line)
        except (LdapError, ChatError, trio.TooSlowError) as exc:
            message = "no answer within the deadline" if isinstance(exc, trio.TooSlowError) else str(getattr(exc, "message", exc))
            log.warning("directory sync failed (retried in %ss): %s", self.cfg.sync_interval_s, message)
            result = {"ok": False, "error": message}
        except Exception as exc:  # noqa: BLE001 - a bug fails this sync, never the server
            log.exception("directory sync failed (retried in %ss)", self.cfg.sync_interval_s)
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result["seconds"] = round(time.monotonic() - started, 3)
        self.last = result
        self.runs += 1
        self._finished.set()
        self._finished = trio.Event()
        return result

    async def wait_runs(self, n: int) -> dict[str, Any]:
        """Until `n` syncs have finished (tests, and anyone who wants to know); the last one."""
        while self.runs < n:
            await self._finished.wait()
        return self.last

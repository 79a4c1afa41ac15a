"""A long-lived worker thread fed by a plain queue, for the writer's blocking jobs.

`await thread.call(job)` runs job() on the thread and returns when it is done
(re-raising what it raised). One thread fed by a SimpleQueue costs about half of
a trio.to_thread.run_sync hop per call (docs/performance.md). The writer keeps
two: one opens and closes its connection and runs WAL checkpoints, the other
waits for the disk (chatd.store.walsync), so a long checkpoint never delays
an acknowledgement.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import trio


class JobThread:
    def __init__(self, name: str):
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[[], None], Callable[[], None]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (from trio: finished jobs are reported to this run)."""
        self._token = trio.lowlevel.current_trio_token()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """The thread ends after the jobs already queued."""
        self._jobs.put(None)

    def post(self, job: Callable[[], None], on_done: Callable[[], None]) -> None:
        """Queue job(); on_done() then runs on the trio thread. Neither may raise."""
        self._jobs.put((job, on_done))

    async def call(self, job: Callable[[], None]) -> None:
        """Run job() on the thread and wait for it; its exception is raised here."""
        done = trio.Event()
        failure: list[BaseException] = []

        def wrapped() -> None:
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the trio side
                failure.append(exc)

        self.post(wrapped, done.set)
        await done.wait()
        if failure:
            raise failure[0]

    def _main(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, on_done = item
            try:
                job()
            finally:
                try:
                    self._token.run_sync_soon(on_done)
                except trio.RunFinishedError:
                    return

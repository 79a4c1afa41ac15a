"""LISTEN on PostgreSQL under trio (docs/scaling.md): how the nodes of one chatd hear each
other's commits.

psycopg has no trio support, but a listening connection needs no thread: the task waits until
the connection's socket is readable (`trio.lowlevel.wait_readable`), then lets libpq consume
the input and hands each notification to `on_notify(channel, payload)`, on the trio thread.

A notification is a hint, never the only copy of anything: what it names is read from the
database. So when the connection is lost, the listener connects again (after a growing pause)
and calls `on_gap()` once it listens again: whatever was notified meanwhile is lost, and the
node repairs it the way a client that reconnects does, by catching up from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import psycopg
import trio

log = logging.getLogger("chatd.pg")

PAUSES_S = (0.1, 0.5, 1.0, 2.0, 5.0)  # before each try to connect again, the last one repeated


class Listener:
    def __init__(self, dsn: str, channels: Sequence[str], on_notify: Callable[[str, str], None], on_gap: Callable[[], None]):
        self.dsn = dsn
        self.channels = tuple(channels)
        self.on_notify = on_notify
        self.on_gap = on_gap
        self.connects = 0  # connections made (the first one and every reconnection)
        self.backend_pid: int | None = None  # the listening connection's server process
        self.listening = trio.Event()  # set once the first LISTEN is in place

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                conn = await trio.to_thread.run_sync(self._connect)
            except psycopg.Error as exc:
                pause = PAUSES_S[min(failures, len(PAUSES_S) - 1)]
                failures += 1
                log.warning("cannot listen on PostgreSQL (%s); trying again in %g s", exc, pause)
                await trio.sleep(pause)
                continue
            failures = 0
            try:
                self.connects += 1
                self.backend_pid = conn.info.backend_pid
                if self.connects > 1:
                    self.on_gap()  # notifications may have been lost while it was away
                self.listening.set()
                await self._listen(conn)
            except psycopg.Error as exc:
                log.warning("the PostgreSQL listening connection was lost (%s): connecting again", exc)
            finally:
                self.backend_pid = None
                conn.close()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(self.dsn, autocommit=True, application_name="chatd-listen")
        for channel in self.channels:
            conn.execute(f'LISTEN "{channel}"')
        return conn

    async def _listen(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        pgconn = conn.pgconn
        fd = conn.fileno()
        while True:
            await trio.lowlevel.wait_readable(fd)
            pgconn.consume_input()  # raises OperationalError once the server is gone
            while (note := pgconn.notifies()) is not None:
                self.on_notify(note.relname.decode(), note.extra.decode())
            if pgconn.status != psycopg.pq.ConnStatus.OK:
                raise psycopg.OperationalError("the connection is closed")

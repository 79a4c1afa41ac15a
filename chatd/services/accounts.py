"""Ends the live sessions of accounts disabled from outside the server.

`chatd user disable` writes to the database from another process. Once a
second the writer looks whether any other process has committed since it last
looked (SQLite's `data_version` of the writer's own connection changes only
then); if so, every connected session of a disabled account is closed with
4003.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ..errors import CLOSE_ACCOUNT, ChatError
from ..store import users as users_store

if TYPE_CHECKING:
    from ..net.hub import Hub
    from ..store.writer import Writer

log = logging.getLogger("chatd.accounts")

CHECK_INTERVAL_S = 1.0


class DisabledWatch:
    def __init__(self, writer: Writer, hub: Hub):
        self.writer = writer
        self.hub = hub

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        version: int | None = None
        while True:
            await trio.sleep(CHECK_INTERVAL_S)
            try:
                version, disabled = await self.writer.submit(users_store.op_disabled_if_changed, version)
            except ChatError:
                continue  # the writer is busy failing or shutting down: look again next time
            for user_id in disabled:
                for session in list(self.hub.sessions_of(user_id)):
                    log.info("closing session %s: the account was disabled", session.id)
                    session.conn.close(CLOSE_ACCOUNT, "account disabled")

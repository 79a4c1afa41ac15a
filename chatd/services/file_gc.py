"""Collecting uploaded files that no message names (files.gc_after_s, every files.gc_interval_s).

A file is collected when no message's content names it (chatd.store.uploads' file_refs:
a recall drops the recalled message's names, so a file shared by two messages stays
while either names it) and nobody uploaded it within files.gc_after_s. Its upload rows
go first, in one writer op that checks both again; then the file and its thumbnail
leave the disk. Temporary files of uploads that never finished (a crash) are removed
once an hour old.

The collector and an upload that finishes take server.files_lock, so an upload of the
same bytes never records a file that is being removed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ..store import uploads
from ..store.db import now_ms

if TYPE_CHECKING:
    from ..server import Server

log = logging.getLogger("chatd.files")

BATCH = 500
TMP_MAX_AGE_S = 3600


async def collect_once(server: Server) -> int:
    """One pass; returns how many files were removed."""
    from .. import media

    cfg = server.cfg.files
    data_dir = server.cfg.data_path
    await trio.to_thread.run_sync(media.clean_tmp, data_dir, TMP_MAX_AGE_S)
    before = now_ms() - cfg.gc_after_s * 1000
    removed = 0
    while True:
        shas = await server.readers.read(uploads.unreferenced_before, before, BATCH)
        done = 0
        for sha in shas:
            async with server.files_lock:
                if await server.writer.submit(uploads.op_forget, sha, before):
                    await trio.to_thread.run_sync(media.remove, data_dir, sha)
                    done += 1
        removed += done
        if len(shas) < BATCH or done == 0:
            break
    if removed:
        log.info("files: removed %d file(s) no message names, uploaded over %d s ago", removed, cfg.gc_after_s)
    return removed


async def run(server: Server) -> None:
    while True:
        await trio.sleep(server.cfg.files.gc_interval_s)
        try:
            await collect_once(server)
        except Exception:  # a failed pass (disk, database) is retried at the next interval
            log.exception("files: collecting unreferenced uploads failed")

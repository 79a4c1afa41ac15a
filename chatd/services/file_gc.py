"""Collecting uploaded files that no message names (files.gc_after_s, every files.gc_interval_s).

A file is collected when no message's content names it (chatd.store.uploads' file_refs:
a recall drops the recalled message's names, so a file shared by two messages stays
while either names it) and nobody uploaded it within files.gc_after_s. Its upload rows
go first, in one writer op that checks both again; then the file and its thumbnail are
moved aside, the database is asked once more whether anyone uploaded the file since, and
they are deleted, or put back when someone did. Temporary files of uploads that never
finished (a crash) are removed once an hour old.

An upload records its row before it places its file (chatd.http.files), so the database
alone orders an upload and the collector, on one node or several sharing one files
directory (files.directory, docs/scaling.md): an upload whose row was committed after the
collector dropped the rows finds the file gone and places its own, or finds it still there
and the collector, asking after it moved the file aside, sees the row and puts the file
back. On one node server.files_lock also keeps them apart, so that a download never sees
the moment in between. With several nodes on PostgreSQL, one node collects at a time: a pass
holds an advisory lock (chatd.store.cluster.FILE_GC_LOCK), and a node that finds it taken
skips its pass.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from ..store import uploads
from ..store.db import now_ms

if TYPE_CHECKING:
    from ..server import Server

log = logging.getLogger("chatd.files")

BATCH = 500
TMP_MAX_AGE_S = 3600


@asynccontextmanager
async def _alone(server: Server) -> AsyncIterator[bool]:
    """Whether this node may collect now: always on SQLite; on PostgreSQL while it holds the
    collector's advisory lock, on a connection of its own closed (the lock with it) at the end."""
    dsn = server.cfg.storage.database
    if not dsn:
        yield True
        return
    from ..store import cluster, pg

    conn = await trio.to_thread.run_sync(pg.connect, dsn)
    try:
        yield await trio.to_thread.run_sync(cluster.try_lock, conn, cluster.FILE_GC_LOCK)
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(conn.close)


async def remove_unless_uploaded(server: Server, sha: str) -> bool:
    """After the file's rows were dropped: move it aside, then delete it unless an upload
    recorded it meanwhile (then put it back). Whether it was deleted."""
    from .. import media

    root = server.cfg.files_path
    token = await trio.to_thread.run_sync(media.set_aside, root, sha)
    if await server.readers.read(uploads.is_uploaded, sha):
        await trio.to_thread.run_sync(media.restore, root, sha, token)
        return False
    await trio.to_thread.run_sync(media.drop, root, sha, token)
    return True


async def collect_once(server: Server) -> int | None:
    """One pass; returns how many files were removed (None: another node is collecting now)."""
    from .. import media

    cfg = server.cfg.files
    async with _alone(server) as mine:
        if not mine:
            return None
        await trio.to_thread.run_sync(media.clean_tmp, server.cfg.files_path, TMP_MAX_AGE_S)
        before = now_ms() - cfg.gc_after_s * 1000
        removed = 0
        while True:
            shas = await server.readers.read(uploads.unreferenced_before, before, BATCH)
            done = 0
            for sha in shas:
                async with server.files_lock:
                    if await server.writer.submit(uploads.op_forget, sha, before):
                        done += 1
                        removed += await remove_unless_uploaded(server, sha)
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

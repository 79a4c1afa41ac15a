"""The sync limit: how long one fdatasync takes on the file system that holds the spawned servers' data.

With durability "full" every ack waits for at least one sync of the write-ahead
log, so one sender waiting for each ack cannot send faster than one message per
(round trip + sync). The probe appends 4 KiB to a scratch file and calls
fdatasync, a few hundred times, in the directory where the spawned servers'
data directories go, and reports the latency of each write + fdatasync.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .stats import summary_ms

WRITES = 300
BLOCK = 4096


def default_dir() -> Path:
    """Where SpawnedServer makes its temporary data directories when no --workdir is given."""
    return Path(tempfile.gettempdir())


def filesystem(path: Path) -> str | None:
    """The type of the file system mounted at the longest mount point above `path` (/proc/self/mounts)."""
    target = os.path.realpath(path)
    best, kind = "", None
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, parts[2]
    return kind


def measure(directory: Path, writes: int = WRITES, block: int = BLOCK) -> dict[str, Any]:
    """Append `block` bytes and fdatasync, `writes` times, in a scratch file in `directory`; latencies in ms."""
    fd, path = tempfile.mkstemp(prefix="chatd-bench-sync-", dir=directory)
    data = os.urandom(block)
    lat = []
    try:
        for _ in range(writes):
            t = time.perf_counter()
            os.write(fd, data)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    s = summary_ms(lat)
    return {
        "dir": str(directory),
        "filesystem": filesystem(directory),
        "writes": writes,
        "block_bytes": block,
        "fdatasync_p50_ms": s["p50"],
        "fdatasync_p99_ms": s["p99"],
        "fdatasync_max_ms": s["max"],
    }

"""What the benchmark reads of a process in /proc: CPU seconds, memory, limits, children, the
process listening on a port."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (state, ppid, ...)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def proc_cpu_seconds(pid: int, children: bool = True) -> float | None:
    """CPU seconds (utime + stime) of a process, all its threads, and (unless `children` is
    False) its child processes: the running ones (chatd's push worker) and the ended ones it
    waited for."""
    fields = _stat(pid)
    if fields is None:
        return None
    if not children:
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    ticks = sum(int(f) for f in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(pid):
            child = _stat(entry.name)
            if child is not None and child[1] == str(pid):
                ticks += sum(int(f) for f in child[11:15])
    return ticks / CLK_TCK


def proc_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_memory_kib(pid: int) -> dict[str, int]:
    """Rss, Pss (shared pages divided among their users) and private (USS) memory of a process, in KiB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].rstrip(":") in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                out[parts[0].rstrip(":")] = int(parts[1])
    except (OSError, ValueError):
        return {}
    if "Private_Clean" in out:
        out["Private"] = out.pop("Private_Clean") + out.pop("Private_Dirty", 0)
    return out


def proc_fd_limit(pid: int) -> tuple[int, int] | None:
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                parts = line.split()
                return int(parts[3]), int(parts[4])
    except (OSError, ValueError):
        return None
    return None


def pid_listening_on(port: int) -> int | None:
    """The pid (of this user) whose socket listens on the TCP port, found through /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return int(entry.name)
        except OSError:
            continue
    return None


def child_pids(pid: int) -> list[int]:
    """The running child processes of a process (a PostgreSQL cluster's backends)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields is not None and fields[1] == str(pid):
                out.append(int(entry.name))
    return out

"""Percentiles, time buckets and CPU meters."""

from __future__ import annotations

import math
import os
import resource
import time
from typing import Any

SATURATED = 0.9  # a generator process using this share of one core or more is saturated


def percentile(sorted_values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank) of an already sorted list."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def summary_ms(seconds: list[float], ps: tuple[float, ...] = (50, 90, 95, 99)) -> dict[str, Any]:
    """n, mean, percentiles and max of latencies given in seconds, in milliseconds."""
    vals = sorted(seconds)
    out: dict[str, Any] = {"n": len(vals)}
    if not vals:
        return out
    out["mean"] = round(sum(vals) / len(vals) * 1000, 3)
    for p in ps:
        out[f"p{p:g}"] = round(percentile(vals, p) * 1000, 3)  # type: ignore[operator]
    out["max"] = round(vals[-1] * 1000, 3)
    return out


class Timeline:
    """Event counts per time bucket, from a start time."""

    def __init__(self, start: float, bucket_s: float = 0.1):
        self.start = start
        self.bucket_s = bucket_s
        self.counts: list[int] = []

    def add(self, t: float, n: int = 1) -> None:
        i = int((t - self.start) / self.bucket_s)
        if i < 0:
            return
        counts = self.counts
        while len(counts) <= i:
            counts.append(0)
        counts[i] += n

    def merge(self, other: dict[str, Any]) -> None:
        for i, c in enumerate(other["counts"]):
            while len(self.counts) <= i:
                self.counts.append(0)
            self.counts[i] += c

    def to_json(self) -> dict[str, Any]:
        return {"bucket_s": self.bucket_s, "counts": self.counts}


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Meter:
    """This process's CPU seconds over a wall-clock window."""

    def __init__(self) -> None:
        self.cpu0 = self.t0 = 0.0
        self.cpu = self.wall = 0.0

    def start(self) -> None:
        self.cpu0, self.t0 = self_cpu(), time.perf_counter()

    def stop(self) -> None:
        self.cpu, self.wall = self_cpu() - self.cpu0, time.perf_counter() - self.t0

    def to_json(self) -> dict[str, Any]:
        return {"cpu_s": round(self.cpu, 3), "wall_s": round(self.wall, 3)}


def generator_report(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine the meters of the generator's processes: total CPU, and whether any one was saturated."""
    parts = [p for p in parts if p.get("wall_s")]
    if not parts:
        return {}
    shares = [p["cpu_s"] / p["wall_s"] for p in parts]
    wall = max(p["wall_s"] for p in parts)
    cpu = sum(p["cpu_s"] for p in parts)
    return {
        "processes": len(parts),
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "cores_used": round(cpu / wall, 3) if wall else None,
        "max_process_core_share": round(max(shares), 3),
        "saturated": max(shares) >= SATURATED,
    }


class ServerMeter:
    """The server's CPU seconds over a window, from /proc (None when its pid is unknown)."""

    def __init__(self, target: Any):
        self.target = target
        self.cpu0: float | None = None
        self.t0 = 0.0
        self.cpu: float | None = None
        self.wall = 0.0
        self.machine = MachineMeter()
        self.events0: dict[int, int] | None = None  # on PostgreSQL: node_events rows per node
        self.events: dict[int, int] | None = None

    def _node_events(self) -> dict[int, int] | None:
        count = getattr(self.target, "node_events", None)
        return count() if count is not None else None

    def start(self) -> None:
        self.events0 = self._node_events()
        self.cpu0, self.t0 = self.target.cpu(), time.perf_counter()
        self.machine.start()

    def stop(self) -> None:
        c = self.target.cpu()
        self.wall = time.perf_counter() - self.t0
        self.cpu = None if c is None or self.cpu0 is None else c - self.cpu0
        self.machine.stop()
        events1 = self._node_events()
        if self.events0 is not None and events1 is not None:
            self.events = {n: k - self.events0.get(n, 0) for n, k in sorted(events1.items()) if k > self.events0.get(n, 0)}

    def to_json(self) -> dict[str, Any]:
        """The server's CPU, and how busy the whole machine was over the same window."""
        return {
            "cpu_s": None if self.cpu is None else round(self.cpu, 3),
            "wall_s": round(self.wall, 3),
            "cores_used": None if self.cpu is None or not self.wall else round(self.cpu / self.wall, 3),
            "machine_busy_cores": self.machine.out.get("busy_cores"),
            "machine_interrupt_cores": self.machine.out.get("interrupt_cores"),
            # On PostgreSQL: the events the nodes wrote for each other (one per batch with shared effects).
            **({"node_events": self.events, "node_events_per_s": round(sum(self.events.values()) / self.wall, 1) if self.wall else None} if self.events is not None else {}),
        }


def others_cores(server: dict[str, Any], generator: dict[str, Any]) -> float | None:
    """Cores used in processes other than the server and the generator during the measured window
    (interrupt time, where the kernel handles much of the loopback traffic, is not counted)."""
    busy, srv, gen = server.get("machine_busy_cores"), server.get("cores_used"), generator.get("cores_used")
    if busy is None or srv is None or gen is None:
        return None
    return round(max(0.0, busy - srv - gen), 2)


def machine_busy(seconds: float = 1.0) -> float | None:
    m = MachineMeter()
    m.start()
    time.sleep(seconds)
    return m.stop()["busy_cores"]


def _machine_jiffies() -> list[int] | None:
    """[processes, interrupts, steal, total] jiffies of all CPUs, from /proc/stat.

    processes = user + nice + system (time in processes, this benchmark's
    included); interrupts = irq + softirq (much of loopback TCP is processed
    there and charged to no process); steal = time the hypervisor gave to others."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]] + [0] * 8
    except (OSError, ValueError):
        return None
    return [v[0] + v[1] + v[2], v[5] + v[6], v[7], sum(v[:8])]


class MachineMeter:
    """How busy the whole machine was over a window (every process, this benchmark's included)."""

    def __init__(self) -> None:
        self.j0: list[int] | None = None
        self.load0 = 0.0
        self.out: dict[str, Any] = {}

    def start(self) -> None:
        self.j0 = _machine_jiffies()
        self.load0 = os.getloadavg()[0]

    def stop(self) -> dict[str, Any]:
        j1 = _machine_jiffies()
        cores = os.cpu_count() or 1
        self.out = {"busy_cores": None, "cores": cores, "loadavg_1m_before": round(self.load0, 2), "loadavg_1m_after": round(os.getloadavg()[0], 2)}
        if self.j0 and j1 and j1[3] > self.j0[3]:
            span = j1[3] - self.j0[3]
            self.out["busy_cores"] = round((j1[0] - self.j0[0]) / span * cores, 2)
            self.out["interrupt_cores"] = round((j1[1] - self.j0[1]) / span * cores, 2)
            self.out["steal_cores"] = round((j1[2] - self.j0[2]) / span * cores, 2)
        return self.out



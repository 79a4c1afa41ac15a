"""PNG charts of a run: latency distribution per scenario, throughput over time, memory, start-up.

Needs matplotlib, which is not a chatd dependency: `pip install matplotlib`.
Without it, --plot says so and writes nothing.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

SIZE = (6.4, 3.2)
DPI = 80


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    return plt


def _title(res: Any, what: str) -> str:
    """The chart's title: what it shows, then the scenario's title (what ran, at the scale it ran)."""
    return textwrap.fill(f"{res.id}: {what} — {res.title}", 90)


def _pct(sorted_vals: list[float], p: float) -> float:
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def latency_chart(plt: Any, res: Any, path: Path) -> bool:
    series = {k: sorted(v) for k, v in res.samples.items() if v}
    if not series:
        return False
    lo = max(1e-3, min(v[0] for v in series.values()))
    hi = max(v[-1] for v in series.values())
    if hi <= lo:
        hi = lo * 10
    bins = [lo * (hi / lo) ** (i / 60) for i in range(61)]
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    for name, vals in series.items():
        weights = [100.0 / len(vals)] * len(vals)
        label = f"{name}: p50 {_pct(vals, 50):.2f}, p99 {_pct(vals, 99):.2f} ms (n={len(vals):,})"
        ax.hist(vals, bins=bins, weights=weights, histtype="step", linewidth=1.4, label=label)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("% of samples")
    ax.set_title(_title(res, "latency distribution"), fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def throughput_chart(plt: Any, res: Any, path: Path) -> bool:
    lines = {k: v for k, v in res.timelines.items() if v.get("counts")}
    if not lines:
        return False
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    for name, tl in lines.items():
        width = tl["bucket_s"]
        # Smooth to 0.5 s windows for readability.
        step = max(1, int(round(0.5 / width)))
        counts = tl["counts"]
        xs, ys = [], []
        for i in range(0, len(counts), step):
            chunk = counts[i : i + step]
            xs.append((i + len(chunk) / 2) * width)
            ys.append(sum(chunk) / (len(chunk) * width))
        ax.plot(xs, ys, label=name.replace("_", " "), linewidth=1.4)
    ax.set_xlabel("seconds since start (warm-up included)")
    ax.set_ylabel("per second")
    ax.set_title(_title(res, "throughput over time"), fontsize=8)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def memory_chart(plt: Any, res: Any, path: Path) -> bool:
    levels = res.detail.get("levels") or []
    idle = res.detail.get("idle_rss_kib")
    if not levels or not idle:
        return False
    xs = [0] + [r["connections"] for r in levels]
    ys = [idle / 976.5625] + [r["rss_mb"] for r in levels]
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    ax.plot(xs, ys, marker="o")
    for x, y, r in zip(xs[1:], ys[1:], levels):
        ax.annotate(f"{r['kib_per_conn']} KiB/conn", (x, y), textcoords="offset points", xytext=(-30, 8), fontsize=7)
    ax.set_xlabel("idle authenticated connections")
    ax.set_ylabel("server RSS (MB)")
    ax.set_title(_title(res, "server memory"), fontsize=8)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def startup_chart(plt: Any, res: Any, path: Path) -> bool:
    runs = {k: v["to_login_s"] for k, v in res.detail.items() if isinstance(v, dict) and "to_login_s" in v}
    if not runs:
        return False
    fig, ax = plt.subplots(figsize=(SIZE[0], 2.4), dpi=DPI)
    names = {"empty": "empty database", "big": f"{res.params.get('corpus_messages', 0):,} messages"}
    for i, (k, vals) in enumerate(runs.items()):
        ax.scatter(vals, [i] * len(vals), s=18)
        ax.barh(i, sorted(vals)[len(vals) // 2], alpha=0.3)
    ax.set_yticks(range(len(runs)), [names.get(k, k) for k in runs])
    ax.set_xlabel("seconds from spawn to the first accepted login")
    ax.set_title(_title(res, "start-up"), fontsize=8)
    ax.set_xlim(left=0)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write(results: dict[str, Any], out: Path) -> list[Path]:
    plt = _plt()
    if plt is None:
        print("--plot needs matplotlib: pip install matplotlib")
        return []
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for sid, res in results.items():
        if res.status != "ok":
            continue
        charts = [("latency", latency_chart), ("throughput", throughput_chart)]
        if sid == "M":
            charts = [("memory", memory_chart)]
        elif sid == "T":
            charts = [("startup", startup_chart)]
        for kind, fn in charts:
            path = out / f"bench-{sid.lower()}-{kind}.png"
            if fn(plt, res, path):
                written.append(path)
    return written

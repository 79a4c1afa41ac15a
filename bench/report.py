"""The results table, as plain text for the terminal or as Markdown (python -m bench.report results.json)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        if value >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(goal: dict[str, Any]) -> str:
    """met, MISSED, or why the goal has no verdict ("not tested: 5 members < 20")."""
    status = goal.get("status") or ("met" if goal["met"] else "missed" if goal["met"] is not None else "—")  # "status": since the JSON has it
    if status == "missed":
        return "MISSED"
    if status == "met":
        return "met"
    return f"{status}: {goal['why']}" if goal.get("why") else status


def rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(scenario, figure, value, goal, verdict) for every figure and goal of every scenario, after a row saying what ran."""
    out = []
    for sid, s in doc["scenarios"].items():
        if s["status"] != "ok":
            goals = "; ".join(g["goal"] for g in s.get("goals", []))
            out.append((sid, f"{s['status']}: {s['note']}", "", goals, ""))
            continue
        out.append((sid, "what ran", s["title"], "", ""))
        goals: dict[str, list[dict[str, Any]]] = {}
        for g in s["goals"]:
            goals.setdefault(g["figure"], []).append(g)
        for name in [*s["figures"], *(f for f in goals if f not in s["figures"])]:
            raw = s["figures"].get(name)
            value = "—" if raw is None else f"{_fmt(raw)} {s['units'].get(name, '')}".strip()
            for g in goals.get(name) or [None]:
                out.append((sid, name, value, g["goal"] if g else "", verdict(g) if g else ""))
        gen = s.get("generator") or {}
        if gen:
            share = gen.get("max_process_core_share")
            procs = gen.get("processes", 1)
            text = f"{_fmt(gen.get('cpu_s'))} CPU-s over {_fmt(gen.get('wall_s'))} s"
            if share is not None:
                text += f", busiest process {share * 100:.0f}% of a core ({procs} process{'es' if procs != 1 else ''})"
            out.append((sid, "generator", text, "not saturated", "SATURATED" if gen.get("saturated") else "ok"))
        srv = s.get("server") or {}
        windows = [srv] if "cores_used" in srv else [w for w in srv.values() if isinstance(w, dict) and "cores_used" in w]
        for w in windows:
            if w.get("cores_used") is not None and w.get("machine_busy_cores") is not None:
                others = w.get("others_cores")
                text = f"server {w['cores_used']:.2f} cores, whole machine {w['machine_busy_cores']:.2f}"
                if others is not None:
                    text += f", other processes {others:.2f}"
                out.append((sid, "cpu", text, "others ≈ 0", "BUSY" if others and others > 0.25 else "ok"))
        if s.get("note"):
            out.append((sid, "note", s["note"], "", ""))
    return out


def text_table(doc: dict[str, Any]) -> str:
    table = [("scenario", "figure", "value", "goal", "")] + rows(doc)
    widths = [min(60, max(len(r[i]) for r in table)) for i in range(5)]
    lines = []
    for i, r in enumerate(table):
        lines.append("  ".join(c.ljust(widths[j]) for j, c in enumerate(r)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(doc: dict[str, Any]) -> str:
    lines = ["| scenario | figure | value | goal | |", "|---|---|---|---|---|"]
    for r in rows(doc):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)


def header(doc: dict[str, Any]) -> str:
    m, target = doc["machine"], doc["target"]
    sync = ""
    if target.get("fdatasync_p50_ms") is not None:
        fs = (target.get("fdatasync") or {}).get("filesystem")
        sync = f" — fdatasync p50 {target['fdatasync_p50_ms']} ms, p99 {target['fdatasync_p99_ms']} ms" + (f" ({fs})" if fs else "")
    return (
        f"chatd {doc['chatd_version']} — {doc['date']} — {m['cores']} cores ({m['cpu']}), "
        f"Python {m['python']}, SQLite {m['sqlite']}, {target['mode']} server, durability {target.get('durability') or 'unknown'}"
        + (", data in PostgreSQL (its default durability: synchronous_commit on)" if target.get("database") == "postgresql" else "")
        + (f", {target['nodes']} chatd nodes sharing it" if (target.get("nodes") or 1) > 1 else "")
        + sync
        + (" — quick scale" if doc["params"].get("quick") else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description="Print the table of a results JSON.")
    parser.add_argument("json")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    with open(args.json) as f:
        doc = json.load(f)
    print(header(doc))
    print(markdown_table(doc) if args.markdown else text_table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())

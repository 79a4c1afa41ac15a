"""The benchmark suite keeps working: `python -m bench --quick` runs every scenario at a small scale.

It asserts that every figure is there, never how fast anything is: speed is
measured by bench/ itself (docs/performance.md), not by timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Scenarios that always run; B-group and F run when the server implements groups.
RUNNABLE = ["A", "B-dm", "C", "H", "S", "M", "L", "T"]
ALL = ["A", "B-dm", "B-group", "C", "F", "H", "S", "M", "L", "T"]


def test_bench_quick_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out), "--cache", str(tmp_path / "cache"), "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    doc = json.loads(out.read_text())

    assert doc["chatd_version"]
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["python"]
    assert doc["params"]["quick"] is True
    assert list(doc["scenarios"]) == ALL
    for sid, s in doc["scenarios"].items():
        assert s["status"] in ("ok", "skipped"), f"{sid}: {s['status']}: {s['note']}"
        assert s["goals"], sid
        if s["status"] == "skipped":
            assert s["note"], sid
            continue
        for goal in s["goals"]:
            assert isinstance(goal["value"], (int, float)), f"{sid}: {goal['figure']} = {goal['value']!r}"
            assert goal["met"] in (True, False)
        assert all(v is not None for v in s["figures"].values()), f"{sid}: {s['figures']}"
    for sid in RUNNABLE:
        assert doc["scenarios"][sid]["status"] == "ok", sid
    for sid in ("B-group", "F"):
        s = doc["scenarios"][sid]
        assert s["status"] == "ok" or "needs groups" in s["note"]
    if doc["scenarios"]["B-group"]["status"] == "ok":
        assert {"acked_msgs_per_s", "deliveries_per_s", "ack_p50_ms", "ack_p99_ms", "server_cpu_s_per_1000_msgs"} <= set(doc["scenarios"]["B-group"]["figures"])
    if doc["scenarios"]["F"]["status"] == "ok":
        f = doc["scenarios"]["F"]["figures"]
        assert {"deliveries_per_s", "p50_ms", "p99_ms", "server_cpu_s_per_1000_deliveries"} <= set(f)
        assert f["losses"] == 0 and f["duplicates"] == 0

    figures = {sid: s["figures"] for sid, s in doc["scenarios"].items()}
    assert {"msgs_per_s", "ack_p50_ms", "ack_p99_ms", "server_cpu_s_per_1000_msgs"} <= set(figures["A"])
    assert {"acked_msgs_per_s", "deliveries_per_s", "ack_p50_ms", "ack_p99_ms", "server_cpu_s_per_1000_msgs"} <= set(figures["B-dm"])
    for rate in ("r20", "r500"):
        assert {f"{rate}_p50_ms", f"{rate}_p99_ms", f"{rate}_losses", f"{rate}_duplicates"} <= set(figures["C"])
        assert figures["C"][f"{rate}_losses"] == 0 and figures["C"][f"{rate}_duplicates"] == 0
    assert {"small_p50_ms", "small_p99_ms", "big_p50_ms", "big_p99_ms"} <= set(figures["H"])
    for cls in ("en", "zh1", "zh2"):
        assert {f"{cls}_p50_ms", f"{cls}_p95_ms", f"{cls}_p99_ms", f"{cls}_hits"} <= set(figures["S"])
        assert figures["S"][f"{cls}_hits"] > 0, f"search found nothing for the {cls} queries"
    assert {"idle_rss_mb", "kib_per_conn"} <= set(figures["M"])
    assert {"empty_s", "big_s", "growth_s"} <= set(figures["T"])
    assert {"idle_rss_mb", "peak_rss_mb", "rss_delta_mb", "cpu_ms_per_login", "login_p50_ms", "login_p99_ms"} <= set(figures["L"])
    for sid in ("A", "B-dm", "C"):
        gen = doc["scenarios"][sid]["generator"]
        assert gen["cpu_s"] >= 0 and isinstance(gen["saturated"], bool), sid

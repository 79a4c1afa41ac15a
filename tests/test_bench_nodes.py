"""`python -m bench --nodes N` (bench/target.py): N `chatd serve` nodes on one PostgreSQL database,
the scenarios' clients spread over them, the cross-node goals judged. It asserts what ran and
where the clients were, never how fast anything was (bench/ measures that; docs/scaling.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.scenarios import REGISTRY, Result
from bench.target import SpawnedServer
from chatd.config import load

ROOT = Path(__file__).resolve().parents[1]


def bench(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", "--quick", "--cache", str(tmp / "cache"), "--workdir", str(tmp), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_several_nodes_need_postgresql(tmp_path: Path) -> None:
    done = bench(tmp_path, "--scenarios", "A", "--nodes", "3")
    assert done.returncode != 0 and "--nodes 3 needs --database postgresql" in done.stderr
    done = bench(tmp_path, "--scenarios", "A", "--nodes", "3", "--database", "postgresql", "--url", "ws://127.0.0.1:1/ws")
    assert done.returncode != 0 and "cannot be used with --url" in done.stderr
    assert not list(tmp_path.glob("chatd-bench-*")), "a refused run started a server"
    with pytest.raises(ValueError, match="several nodes share one PostgreSQL database"):
        SpawnedServer(0, nodes=2, workdir=tmp_path)


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A, C and F at the quick scale on three nodes sharing a private PostgreSQL cluster."""
    tmp = tmp_path_factory.mktemp("nodes")
    out = tmp / "bench.json"
    done = bench(tmp, "--scenarios", "A,C,F", "--database", "postgresql", "--nodes", "3", "--json", str(out), "--keep")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    doc: dict[str, Any] = json.loads(out.read_text())
    doc["_stdout"], doc["_tmp"] = done.stdout, tmp
    return doc


def test_each_node_has_its_own_number_data_and_port(three: dict[str, Any]) -> None:
    tmp = three["_tmp"]
    servers = list(tmp.glob("chatd-bench-*"))
    assert servers
    for srv in servers:
        configs = sorted(srv.glob("chatd*.toml"))
        loaded = [load(c, environ={}) for c in configs]
        if len(loaded) == 1:  # C's comparison: the same round on one node
            continue
        assert len(loaded) == 3
        assert sorted(c.storage.node for c in loaded) == [0, 1, 2]
        assert len({c.storage.database for c in loaded}) == 1 and loaded[0].storage.database.startswith("postgresql://")
        assert len({c.server.data_dir for c in loaded}) == 3
        assert all(c.server.listen == "127.0.0.1:0" for c in loaded)


def test_the_run_says_it_ran_on_three_nodes(three: dict[str, Any]) -> None:
    assert three["target"]["nodes"] == 3 and three["target"]["database"] == "postgresql"
    assert "3 chatd nodes sharing it" in three["_stdout"]
    for sid, s in three["scenarios"].items():
        assert s["status"] == "ok", f"{sid}: {s['note']}"
        assert s["params"]["nodes"] == 3 and s["title"].endswith(", on 3 nodes sharing PostgreSQL"), sid
        assert all(g["goal"].endswith("(on 3 nodes sharing PostgreSQL)") for g in s["goals"]), sid
    assert all(m.endswith("(on 3 nodes sharing PostgreSQL)") for m in three["goals_missed"])


def test_clients_are_spread_and_the_cross_node_goals_judged(three: dict[str, Any]) -> None:
    c = three["scenarios"]["C"]
    for rate in ("r20", "r500"):  # the sender on node 0, the peer's 10 devices on nodes 1 and 2
        assert (c["detail"][rate]["receivers_other_nodes"], c["detail"][rate]["receivers_same_node"]) == (10, 0)
        assert c["figures"][f"{rate}_losses"] == 0 and c["figures"][f"{rate}_duplicates"] == 0
    base = c["detail"]["one_node_r20"]
    assert base["receivers_other_nodes"] == 0 and base["losses"] == 0 and base["duplicates"] == 0
    assert c["figures"]["cross_node_r20_p50_ratio"] == round(c["figures"]["r20_p50_ms"] / c["figures"]["one_node_r20_p50_ms"], 2)
    (cross,) = [g for g in c["goals"] if g["goal"].startswith("cross-node delivery p50")]
    assert cross["status"] in ("met", "missed") and cross["target"] == pytest.approx(2 * c["figures"]["one_node_r20_p50_ms"])

    f = three["scenarios"]["F"]
    # 49 receivers bench2..bench50 round robin from the second place: 16 on node 0 with the sender, 33 on the others.
    assert (f["detail"]["receivers_same_node"], f["detail"]["receivers_other_nodes"]) == (16, 33)
    assert f["figures"]["losses"] == 0 and f["figures"]["duplicates"] == 0
    assert f["detail"]["delivery_ms_same_node"]["n"] + f["detail"]["delivery_ms_other_nodes"]["n"] == f["detail"]["delivery_ms"]["n"]
    (split,) = [g for g in f["goals"] if g["goal"].startswith("cross-node delivery p50")]
    assert split["value"] == f["figures"]["other_nodes_p50_ms"]
    assert split["status"] in ("met", "missed") or split["why"].startswith("did not keep up"), split


def test_the_cross_node_goal_of_f_is_judged_only_on_several_nodes_that_kept_up() -> None:
    (goal,) = [g for g in REGISTRY["F"].goals if g.text.startswith("cross-node")]

    def verdict(nodes: int, delivered: float) -> dict[str, Any]:
        res = Result("F", "f")
        res.params = {"nodes": nodes, "offered_deliveries_per_s": 100_000.0}
        res.fig("deliveries_per_s", delivered)
        res.fig("same_node_p50_ms", 2.0)
        if nodes > 1:
            res.fig("other_nodes_p50_ms", 3.0)
        return goal.verdict(res)

    assert (verdict(1, 100_000.0)["status"], verdict(1, 100_000.0)["why"]) == ("not tested", "one node: no delivery crosses nodes")
    behind = verdict(3, 50_000.0)
    assert (behind["status"], behind["why"]) == ("not tested", "did not keep up: 50,000 of 100,000 deliveries/s offered")
    kept = verdict(3, 95_000.0)
    assert (kept["status"], kept["target"], kept["value"]) == ("met", 4.0, 3.0)

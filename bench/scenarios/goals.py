"""Goals and their verdicts: met, MISSED, or not tested when the run's scale is below what the goal assumes.

A goal compares one figure with a target: a number, or one computed from the
result (A's sync limit). It names what it needs of the run (`needs`): each
requirement looks at the result's params and figures and returns why the run
cannot test the goal, or None. A quick run with 5 group members cannot test a
goal set for a group of 20: its verdict is "not tested", with the reason, and
never "met" or "MISSED".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Result

# Why the run cannot test the goal, or None when it can.
Requirement = Callable[["Result"], "str | None"]

P99_SAMPLES = 1000  # a p99 of fewer samples is one of the ten largest values, not a p99


def number(value: Any) -> str:
    """A count or rate as the titles and reasons print it: 1,000,000; 20.5; 0.3."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}" if value >= 10 else f"{value:g}"
    return f"{int(value):,}"


def count(n: Any, noun: str, plural: str = "") -> str:
    """n and the noun, plural unless n is 1: "5 members", "1 start", "2 passes"."""
    return f"{number(n)} {noun if n == 1 else plural or noun + 's'}"


def at_least(source: str | Callable[[Result], Any], minimum: float, what: str) -> Requirement:
    """The goal assumes a figure of the run's scale is at least `minimum`.

    `source` is a key of the result's params, or a function of the result;
    `what` formats the value for the reason ("{} members" gives "5 members < 20")."""

    def need(res: Result) -> str | None:
        have = res.params.get(source) if isinstance(source, str) else source(res)
        if have is None:
            return f"{what.format('?')} (not known)"
        if have < minimum:
            return f"{what.format(number(have))} < {number(minimum)}"
        return None

    return need


def durability(mode: str) -> Requirement:
    """The goal is for a server running with this storage.durability."""

    def need(res: Result) -> str | None:
        have = res.params.get("durability")
        return None if have == mode else f"durability {have}, not {mode}"

    return need


def several_nodes(res: Result) -> str | None:
    """The goal compares deliveries across nodes: it needs a run on several (--nodes)."""
    have = res.params.get("nodes") or 1
    return None if have > 1 else "one node: no delivery crosses nodes"


def samples(summary: str, minimum: int = P99_SAMPLES, what: str = "samples") -> Requirement:
    """The goal's percentile needs at least `minimum` samples; `summary` names the latency summary in the result's detail ("small_ms", "r20.delivery_ms")."""

    def measured(res: Result) -> Any:
        node: Any = res.detail
        for key in summary.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node.get("n") if isinstance(node, dict) else None

    return at_least(measured, minimum, f"{{}} {what} measured")


@dataclass(frozen=True)
class Goal:
    figure: str
    op: str  # "<=" or ">="
    target: float | Callable[[Result], float | None]  # a number, or computed from the result
    text: str  # as the issue states it
    needs: tuple[Requirement, ...] = ()

    def target_for(self, res: Result) -> float | None:
        return self.target(res) if callable(self.target) else self.target

    def check(self, value: float, target: float) -> bool:
        return value <= target if self.op == "<=" else value >= target

    def untestable(self, res: Result) -> str | None:
        """Why this run cannot test the goal (every unmet requirement), or None."""
        reasons = [why for need in self.needs if (why := need(res))]
        return "; ".join(reasons) or None

    def verdict(self, res: Result) -> dict[str, Any]:
        """The goal's entry in the JSON: met is True or False only when the run tested it."""
        value = res.figures.get(self.figure)
        target = self.target_for(res) if res.status == "ok" else None
        text = self.text
        if callable(self.target) and target is not None:
            text += f" ({'≥' if self.op == '>=' else '≤'} {number(round(target) if target >= 100 else round(target, 2))})"
        why: str | None = None
        if res.status != "ok":
            status, why = "not run", f"scenario {res.status}"
        elif (why := self.untestable(res)) is not None:
            status = "not tested"
        elif value is None or target is None:
            status, why = "not measured", "no value" if value is None else "no target"
        else:
            status = "met" if self.check(value, target) else "missed"
        met = {"met": True, "missed": False}.get(status)
        return {"figure": self.figure, "goal": text, "op": self.op, "target": target, "value": value, "met": met, "status": status, "why": why}

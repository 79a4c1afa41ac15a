"""PNG charts of a run (needs matplotlib: pip install matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write(results: dict[str, Any], out: Path) -> list[Path]:
    return []

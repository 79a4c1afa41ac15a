"""The command line of a file generated from the registry (docs/api.md, chatd/protocol/wire.py):
write it, or with --check tell whether it is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def _shown(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def main(argv: list[str] | None, *, command: str, description: str, default: Path, render: Callable[[], str]) -> int:
    parser = argparse.ArgumentParser(prog=command, description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date; write nothing")
    parser.add_argument("--output", type=Path, default=default, help=f"the file to write or check (default {default})")
    args = parser.parse_args(argv)
    text = render()
    path: Path = args.output
    shown = _shown(path)
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if args.check:
        if current != text:
            print(f"{shown} is stale: run `{command}`", file=sys.stderr)
            return 1
        print(f"{shown} is up to date")
        return 0
    if current == text:
        print(f"{shown} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {shown}")
    return 0

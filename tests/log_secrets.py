"""Secrets in the logs of the whole test run (docs/operations.md#logs): part of the tests' pytest
plugin (tests/conftest.py).

Every record chatd logs in-process during the run, and every stderr of a `chatd serve` the
tests start (tests/helpers_proc.py), is read for the tests' password and for anything shaped
like a login token (43 URL-safe base64 characters standing alone, as secrets.token_urlsafe(32)
makes them). A hit fails the run, naming the test and the line.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from chatd.logs import JsonFormatter

TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
HITS: list[str] = []
SERVE_LOGS: list[Path] = []  # stderr files of the `chatd serve` processes the tests started
_current = ["(no test)"]
_secrets: list[str] = []


def problem(line: str) -> str | None:
    for secret in _secrets:
        if secret in line:
            return "the password"
    if TOKEN_RE.search(line):
        return "a token"
    return None


class _Reader(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is the test's own business
            return
        what = problem(line)
        if what is not None:
            HITS.append(f"{_current[0]}: {what} in a log line: {line[:300]}")


def install(password: str) -> None:
    _secrets.append(password)
    handler = _Reader(logging.INFO)
    handler.setFormatter(JsonFormatter())  # with the records' fields, as log.format = "json" writes them
    logger = logging.getLogger("chatd")
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


def set_current_test(nodeid: str) -> None:
    _current[0] = nodeid


def scan_serve_logs() -> None:
    for path in SERVE_LOGS:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            what = problem(line)
            if what is not None:
                HITS.append(f"{path.name}: {what} in a log line: {line[:300]}")

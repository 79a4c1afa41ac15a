"""The checks of the whole run in tests/conftest.py (tests/log_secrets.py: the tests' password or
a token in a log line fails the run) also fail a run split over worker processes, as CI runs the
suite (`pytest -n 2`, pytest-xdist): a worker's findings reach the run's result."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "two-workers"])
def test_a_password_in_a_log_line_fails_the_run(tmp_path, workers):
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "test_leak.py").write_text(
        textwrap.dedent(
            """
            import logging

            def test_logs_the_password():
                logging.getLogger("chatd").info("signing in with %s", "correct horse battery")

            def test_quiet():
                pass
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers, "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert "2 passed" in out, out
    assert proc.returncode == 1, out
    assert "secrets in log lines: the run fails" in out, out
    assert "test_leak.py::test_logs_the_password: the password in a log line" in out, out

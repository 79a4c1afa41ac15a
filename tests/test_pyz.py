"""The single-file build (docs/deployment.md#a-single-file): packaging/build-pyz.sh makes
chatd.pyz, and Python alone, without the test environment's packages (`-I -S`: no site
packages at all), runs it: `chatd serve` answers /healthz and serves the web client, and
`chatd user add` works on its database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from .helpers_proc import URL_RE, clean_env

ROOT = Path(__file__).resolve().parent.parent


def test_the_single_file_build_runs_with_python_alone(tmp_path):
    pyz = tmp_path / "chatd.pyz"
    venv_bin = str(Path(sys.executable).parent)  # python3 here is the one with shiv installed (the test extra)
    env = clean_env(PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""))
    built = subprocess.run(["sh", str(ROOT / "packaging" / "build-pyz.sh"), str(pyz)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    python = getattr(sys, "_base_executable", sys.executable)  # the interpreter without the venv
    run_env = clean_env(SHIV_ROOT=str(tmp_path / "shiv"))
    base = [python, "-I", "-S", str(pyz)]
    data = tmp_path / "data"
    added = subprocess.run([*base, "user", "add", "alice", "--admin", "--data", str(data)], input="a-long-password\n", env=run_env, capture_output=True, text=True, timeout=120)
    assert added.returncode == 0 and "created user alice" in added.stdout, added
    server = subprocess.Popen([*base, "serve", "--listen", "127.0.0.1:0", "--data", str(data)], env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # blocks until the server prints its first URL (or exits)
        match = URL_RE.search(line)
        assert match and match.group(0).startswith("http://"), (line, server.poll())
        url = match.group(0)
        with urllib.request.urlopen(url + "/healthz", timeout=10) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(url + "/", timeout=10) as resp:
            assert resp.status == 200 and b"<html" in resp.read().lower()
    finally:
        server.terminate()
        server.wait(timeout=30)

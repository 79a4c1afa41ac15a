"""Debian packages the tests need, installed when missing (CI runs `pip install -e '.[test]' && pytest`
as root on a machine with Debian's package archive reachable, and nothing else).

    ensure("chromium", "/usr/bin/chromium")

installs the package with apt-get only when the file is missing, under a lock file so that
parallel test processes do not run apt-get at once; when the install fails for want of a
package list, it runs `apt-get update` and tries once more.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

LOCK = Path("/tmp/chatd-tests-apt.lock")
TIMEOUT_S = 900


def ensure(package: str, path: str) -> str:
    """`path` once it exists, installing `package` first if needed; AssertionError when it cannot."""
    if Path(path).exists():
        return path
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if Path(path).exists():  # another test process installed it meanwhile
            return path
        assert shutil.which("apt-get"), f"{path} is missing and there is no apt-get to install {package}"
        assert os.geteuid() == 0, f"{path} is missing: install it with `apt-get install {package}` (as root)"
        install = ["apt-get", "install", "-y", "--no-install-recommends", package]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
        if done.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
            done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
        assert done.returncode == 0 and Path(path).exists(), f"apt-get install {package} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return path

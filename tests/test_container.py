"""packaging/Containerfile, tested where no container engine can run: this machine reaches no
image registry, so its base image cannot be pulled (see docs/deployment.md#in-a-container).
What the image would run is run here instead: its ENTRYPOINT and CMD with its CHATD_*
environment give the configuration it states (checked by `chatd check`), and its HEALTHCHECK
command, pointed at a server started the same way, passes while the server is ready.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from . import helpers_proc as proc
from .test_cli import seed

CONTAINERFILE = Path(__file__).resolve().parent.parent / "packaging" / "Containerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stages.append([])
        stages[-1].append((word.upper(), rest.strip()))
    return stages[-1]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in instructions():
        if word == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", rest):
                env[key] = value
    return env


def one(word: str) -> str:
    (found,) = [rest for w, rest in instructions() if w == word]
    return found


def test_the_image_runs_unprivileged_with_its_data_in_a_volume():
    assert one("USER") == "chatd"
    assert json.loads(one("VOLUME")) == ["/data"]
    assert json.loads(one("ENTRYPOINT")) == ["chatd"] and json.loads(one("CMD")) == ["serve"]
    env = image_env()
    assert env["CHATD_SERVER_DATA_DIR"] == "/data" and env["CHATD_SERVER_LISTEN"] == "0.0.0.0:8080"


def test_its_configuration_is_what_chatd_check_accepts():
    env = {k: v for k, v in image_env().items() if k.startswith("CHATD_")}
    res = proc.run_sync("check", env=proc.clean_env(**env))
    assert res.returncode == 0, res
    assert "listen 0.0.0.0:8080, database /data/chatd.sqlite3" in res.stdout


async def test_its_healthcheck_passes_against_a_server_started_as_the_image_starts_it(tmp_path):
    data = tmp_path / "data"
    seed(data, ("alice", True, False))
    healthcheck = one("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4 :])
    assert command[0] == "python"
    env = {k: v for k, v in image_env().items() if k.startswith("CHATD_")}
    env.update(CHATD_SERVER_LISTEN="127.0.0.1:0", CHATD_SERVER_DATA_DIR=str(data))
    async with proc.serve(data, env=proc.clean_env(**env)) as served:
        port = served.http_url.rsplit(":", 1)[1]
        check = [sys.executable, *[part.replace(":8080/", f":{port}/") for part in command[1:]]]
        assert subprocess.run(check, capture_output=True, timeout=30).returncode == 0
        served.kill()
        await served.wait()
        assert subprocess.run(check, capture_output=True, timeout=30).returncode != 0

"""chatd as a subprocess: `python -m chatd ...`, one-shot commands and `chatd serve`.

Everything here waits with a deadline. A served process is read for the lines it
prints at start (one per listener, with its URL); port 0 picks a free port and the
printed URL tells which.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from . import log_secrets

CHATD = [sys.executable, "-m", "chatd"]
URL_RE = re.compile(r"\b(?:http|ws)://\S+")


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any CHATD_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_")}
    env.update(extra)
    return env


def run_sync(*args: str, input: str = "", env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run one chatd command to its end (for tests that are not async)."""
    return subprocess.run(
        [*CHATD, *args], input=input, capture_output=True, text=True, timeout=timeout, env=clean_env() if env is None else env
    )


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[bytes]):
        self.returncode = proc.returncode
        self.stdout = proc.stdout.decode(errors="replace")
        self.stderr = proc.stderr.decode(errors="replace")

    def __repr__(self) -> str:
        return f"<exit {self.returncode}; stdout {self.stdout!r}; stderr {self.stderr!r}>"


async def run(*args: str, input: str = "", env: dict[str, str] | None = None, timeout: float = 30) -> Result:
    """Run one chatd command to its end without blocking the trio loop. stdin is a pipe, never a tty."""
    with trio.fail_after(timeout):
        proc = await trio.run_process(
            [*CHATD, *args],
            stdin=input.encode(),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env=clean_env() if env is None else env,
        )
    return Result(proc)


async def add_user(data_dir: Path | str, name: str, password: str, *, admin: bool = False) -> Result:
    args = ["user", "add", name, "--data", str(data_dir)] + (["--admin"] if admin else [])
    res = await run(*args, input=password + "\n")
    assert res.returncode == 0, res
    return res


class Served:
    """A running `chatd serve`: its process, the lines it printed and its URLs."""

    def __init__(self, proc: trio.Process, log_path: Path):
        self.proc = proc
        self.log_path = log_path
        self.lines: list[str] = []
        self._buf = b""
        self.http_url = ""
        self.ws_url = ""

    async def read_line(self) -> str | None:
        """The next line of stdout, or None at its end."""
        assert self.proc.stdout is not None
        while b"\n" not in self._buf:
            chunk = await self.proc.stdout.receive_some(65536)
            if not chunk:
                if self._buf:
                    line, self._buf = self._buf, b""
                    self.lines.append(line.decode())
                    return self.lines[-1]
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        self.lines.append(line.decode().rstrip("\r"))
        return self.lines[-1]

    async def wait_for_line(self, needle: str, *, timeout: float = 15) -> str:
        """Read stdout until a line containing `needle` (already read lines count)."""
        for line in self.lines:
            if needle in line:
                return line
        with trio.fail_after(timeout):
            while True:
                line = await self.read_line()
                if line is None:
                    raise AssertionError(f"chatd serve ended before printing {needle!r}; stdout {self.lines}; stderr {self.stderr()!r}")
                if needle in line:
                    return line

    async def read_rest(self, *, timeout: float = 15) -> list[str]:
        """Read stdout to its end (the process has exited or is about to)."""
        with trio.fail_after(timeout):
            while await self.read_line() is not None:
                pass
        return self.lines

    def stderr(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        self.proc.kill()

    async def wait(self, *, timeout: float = 20) -> int:
        with trio.fail_after(timeout):
            return await self.proc.wait()


_serial = 0


@asynccontextmanager
async def serve(data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 20) -> AsyncIterator[Served]:
    """Start `chatd serve --listen 127.0.0.1:0 --data DATA_DIR`; yield once both URLs are printed; kill it at the end."""
    global _serial
    _serial += 1
    log_path = data_dir.parent / f"{data_dir.name}.serve{_serial}.stderr"
    log_secrets.SERVE_LOGS.append(log_path)
    with open(log_path, "wb") as log:
        proc = await trio.lowlevel.open_process(
            [*CHATD, "serve", "--listen", "127.0.0.1:0", "--data", str(data_dir), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=clean_env() if env is None else env,
        )
    served = Served(proc, log_path)
    try:
        served.http_url = _url(await served.wait_for_line("http://", timeout=timeout))
        served.ws_url = _url(await served.wait_for_line("ws://", timeout=timeout))
        yield served
    finally:
        with trio.CancelScope(shield=True):
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            with trio.move_on_after(10):
                await proc.wait()
            if proc.stdout is not None:
                await proc.stdout.aclose()


def _url(line: str) -> str:
    m = URL_RE.search(line)
    assert m, line
    return m.group(0)

"""A private network namespace for browser tests of WebRTC (tests/test_web_calls.py).

Chromium gathers no ICE candidates in a namespace that has only `lo`, and it hides host
addresses behind mDNS names unless told not to. So the namespace has `lo`, a veth pair whose
two ends have addresses on one subnet (10.77.0.1 and 10.77.0.2), both up, and a default route:
the two browsers' candidates are the veth addresses, and the media goes over the pair. Nothing
in it reaches outside.

A process started with `unshare -n` makes the namespace, sets it up and then waits, holding it;
`command(argv)` runs a program in it with `nsenter --net`, and `executable(path)` writes a
wrapper script that does so (Playwright launches Chromium through it: its pipes are inherited).
Making a network namespace needs root (CAP_SYS_ADMIN); the test fails saying so otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .debian import ensure

SETUP = " && ".join([
    "ip link set lo up",
    "ip link add v0 type veth peer name v1",
    "ip addr add 10.77.0.1/24 dev v0",
    "ip addr add 10.77.0.2/24 dev v1",
    "ip link set v0 up",
    "ip link set v1 up",
    "ip route add default via 10.77.0.254 dev v0",
    "echo ready",
    "exec sleep infinity",
])


class NetNs:
    def __init__(self) -> None:
        assert os.geteuid() == 0, "a private network namespace (unshare -n) needs root"
        for tool in ("unshare", "nsenter"):
            assert shutil.which(tool), f"{tool} is missing (Debian's util-linux)"
        ensure("iproute2", "/usr/sbin/ip")
        self.proc = subprocess.Popen(["unshare", "-n", "sh", "-c", SETUP], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # ends when the setup printed "ready" or the shell ended
        if line.strip() != "ready":
            self.proc.wait(timeout=10)
            raise AssertionError(f"could not set up the network namespace: {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.path = f"/proc/{self.proc.pid}/ns/net"

    def command(self, *argv: str) -> tuple[str, ...]:
        return ("nsenter", f"--net={self.path}", "--", *argv)

    def run(self, *argv: str) -> str:
        return subprocess.run(self.command(*argv), capture_output=True, text=True, timeout=10, check=True).stdout

    def executable(self, program: str, directory: Path) -> str:
        """A script that runs `program` with its arguments in the namespace."""
        script = directory / f"{Path(program).name}-in-netns"
        script.write_text(f'#!/bin/sh\nexec nsenter --net={self.path} -- {program} "$@"\n')
        script.chmod(0o755)
        return str(script)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

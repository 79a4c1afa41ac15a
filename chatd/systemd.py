"""systemd's notify protocol (sd_notify, docs/deployment.md#systemd): READY=1 once the listener
is up, WATCHDOG=1 while the event loop runs, STOPPING=1 when the server drains.

A datagram to the socket named by $NOTIFY_SOCKET (a path, or "@name" for Linux's abstract
namespace). Without that variable, as under anything but a `Type=notify` unit, every call
here does nothing. The protocol is a few lines of socket code, documented and stable, so it
is written here rather than brought in as a library.
"""

from __future__ import annotations

import logging
import os
import socket

import trio

log = logging.getLogger("chatd.systemd")


def _address() -> str | None:
    path = os.environ.get("NOTIFY_SOCKET")
    if not path or path[0] not in "@/":
        return None
    return "\0" + path[1:] if path[0] == "@" else path


def notify(*lines: str) -> bool:
    """Send state lines ("READY=1", "STATUS=...") to systemd. Returns whether they were sent."""
    address = _address()
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(lines).encode(), address)
    except OSError as exc:
        log.warning("cannot notify systemd at %s: %s", os.environ.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half of the watchdog timeout systemd set for this process ($WATCHDOG_USEC), or None."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def watchdog() -> None:
    """Tell systemd the server is alive, at half its watchdog timeout, until cancelled.

    Run from the server's own nursery: if the event loop stalls, the pings stop and systemd
    restarts the server (WatchdogSec= in the unit)."""
    interval = watchdog_interval_s()
    if interval is None:
        return
    while True:
        notify("WATCHDOG=1")
        await trio.sleep(interval)

"""Which browser origins may open a WebSocket (or post to the HTTP API). Pure: no I/O (a refusal is logged).

A browser sends `Origin` with every WebSocket upgrade and every cross-site POST;
programs that are not browsers usually send none. Without a check, any web page
a user visits could open a WebSocket to a chatd it can reach (an intranet one,
say) and guess passwords from the user's browser.

The rule (`server.allowed_origins`):

- no Origin header: allowed (not a browser, or a browser's same-origin GET);
- the Origin's host and port equal the request's Host header: allowed (the
  page was served by this same address, e.g. through a reverse proxy that
  keeps Host);
- the Origin is listed in `allowed_origins` (as `scheme://host[:port]`; a
  scheme's default port may be left out), or the list holds "*": allowed;
- anything else, `null` and more than one Origin header included: refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("chatd.transport")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialized origin, lower-cased; None when it is not one (e.g. `null`)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def _host_header(host: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urlsplit("//" + host.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.path or parts.query or parts.fragment or parts.username is not None:
        return None
    return parts.hostname.lower(), port if port is not None else default_port


def origin_allowed(origins: Sequence[str], host: str | None, allowed: Sequence[str]) -> bool:
    """Whether a request with these Origin header values (usually none or one) and this Host header may go on."""
    if not origins:
        return True
    if len(origins) > 1:
        return False
    origin = normalize(origins[0])
    if origin is None:
        return False
    scheme, o_host, o_port = origin
    if "*" in allowed:
        return True
    if host is not None and _host_header(host, _DEFAULT_PORTS[scheme]) == (o_host, o_port):
        return True
    return any(normalize(a) == origin for a in allowed if a != "*")


def upgrade_allowed(headers: Any, allowed: Sequence[str]) -> bool:
    """origin_allowed() for a parsed request's headers (anything with get_all(name)); a refusal is logged."""
    hosts = headers.get_all("Host")
    origins = headers.get_all("Origin")
    ok = origin_allowed(origins, hosts[0] if len(hosts) == 1 else None, allowed)
    if not ok:
        log.info("refused a WebSocket upgrade from Origin %r (Host %r): not in server.allowed_origins", origins[:2], hosts[:1])
    return ok

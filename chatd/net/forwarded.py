"""The client's address behind a trusted reverse proxy (`server.trusted_proxies`). Pure: no I/O.

Behind a proxy every connection comes from the proxy's address, so per-address
limits (the login throttle) would treat all clients as one. When a connection
comes from a trusted proxy, the client's address is read from X-Forwarded-For:
walking it from the right (the hop nearest to chatd), the first address that is
not itself a trusted proxy is the client. A connection from anywhere else is
taken at its own address, whatever headers it sends, so clients cannot forge it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks; raises ValueError on a bad one."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # "1.2.3.4:5678"
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: Any, networks: Sequence[Network]) -> bool:
    return any(ip.version == n.version and ip in n for n in networks)


def client_ip(peer_ip: str, forwarded_for: Sequence[str], networks: Sequence[Network]) -> str:
    """The client's IP address: `peer_ip`, unless that is a trusted proxy that says whom it forwards for."""
    if not networks or not forwarded_for:
        return peer_ip
    peer = _ip(peer_ip)
    if peer is None or not _trusted(peer, networks):
        return peer_ip
    client: Any = peer
    for hop in reversed([h for value in forwarded_for for h in value.split(",")]):
        ip = _ip(hop)
        if ip is None:
            break  # garbage from an untrusted hop: stop at the last address vouched for
        client = ip
        if not _trusted(ip, networks):
            break
    return str(client)


def forwarded_peer(headers: Any, peer: str, networks: Sequence[Network]) -> str:
    """A connection's "host:port" peer name, with the host replaced by the forwarded client's
    address (and the port by 0) when it comes from a trusted proxy. `headers` has get_all(name)."""
    if not networks:
        return peer
    host = peer.rpartition(":")[0]
    ip = client_ip(host, headers.get_all("X-Forwarded-For"), networks)
    return peer if ip == host else f"{ip}:0"

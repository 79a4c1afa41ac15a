"""The pure Origin decision (chatd.net.origin)."""

from __future__ import annotations

import pytest

from chatd.net.origin import normalize, origin_allowed


@pytest.mark.parametrize(
    "origins, host, allowed",
    [
        ([], "127.0.0.1:8080", []),  # no Origin: not a browser
        ([], None, []),
        (["http://127.0.0.1:8080"], "127.0.0.1:8080", []),  # the same host and port
        (["https://chat.example.com"], "chat.example.com", []),  # behind a TLS proxy that keeps Host
        (["http://chat.example.com"], "CHAT.example.com:80", []),
        (["https://chat.example.com:443"], "chat.example.com", []),
        (["http://[::1]:8080"], "[::1]:8080", []),
        (["https://app.example.com"], "chat.example.com", ["https://app.example.com"]),
        (["https://app.example.com:443"], "chat.example.com", ["https://APP.example.com"]),
        (["https://anything.test"], "chat.example.com", ["*"]),
    ],
)
def test_allowed(origins, host, allowed):
    assert origin_allowed(origins, host, allowed)


@pytest.mark.parametrize(
    "origins, host, allowed",
    [
        (["http://evil.example"], "127.0.0.1:8080", []),
        (["null"], "127.0.0.1:8080", []),
        (["https://attacker.test:8443"], "127.0.0.1:8080", []),
        (["http://127.0.0.1:9999"], "127.0.0.1:8080", []),  # another port is another origin
        (["https://chat.example.com"], "chat.example.com:8080", []),
        (["http://chat.example.com.evil.test"], "chat.example.com", []),
        (["http://chat.example.com"], None, []),  # no Host to compare with
        (["http://evil.example"], "127.0.0.1:8080", ["https://evil.example"]),  # another scheme
        (["http://127.0.0.1:8080", "http://127.0.0.1:8080"], "127.0.0.1:8080", []),  # two Origin headers
        (["http://127.0.0.1:8080/path"], "127.0.0.1:8080", []),
        (["http://user@127.0.0.1:8080"], "127.0.0.1:8080", []),
        (["ftp://127.0.0.1:8080"], "127.0.0.1:8080", []),
        ([""], "127.0.0.1:8080", []),
        (["http://127.0.0.1:99999"], "127.0.0.1:8080", []),
        (["null"], "127.0.0.1:8080", ["*"]),
    ],
)
def test_refused(origins, host, allowed):
    assert not origin_allowed(origins, host, allowed)


def test_normalize():
    assert normalize("HTTPS://Chat.Example.com") == ("https", "chat.example.com", 443)
    assert normalize("http://h:81/") == ("http", "h", 81)
    assert normalize("null") is None and normalize("chat.example.com") is None


# -- the client's address behind a trusted proxy (chatd.net.forwarded) -----------------------------

from chatd.net.forwarded import client_ip, forwarded_peer, parse_networks  # noqa: E402

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    "peer, xff, networks, want",
    [
        ("127.0.0.1", ["203.0.113.5"], PROXIES, "203.0.113.5"),
        ("127.0.0.1", ["198.51.100.1, 203.0.113.5"], PROXIES, "203.0.113.5"),  # a forged left part is ignored
        ("127.0.0.1", ["203.0.113.5, 10.1.2.3"], PROXIES, "203.0.113.5"),  # through two trusted proxies
        ("127.0.0.1", ["203.0.113.5", "10.1.2.3"], PROXIES, "203.0.113.5"),  # two headers
        ("127.0.0.1", ["[2001:db8::1]:443"], PROXIES, "2001:db8::1"),
        ("127.0.0.1", ["203.0.113.5:1234"], PROXIES, "203.0.113.5"),
        ("127.0.0.1", ["garbage, 10.1.2.3"], PROXIES, "10.1.2.3"),
        ("127.0.0.1", [], PROXIES, "127.0.0.1"),
        ("192.0.2.9", ["203.0.113.5"], PROXIES, "192.0.2.9"),  # not a proxy: its header is not believed
        ("127.0.0.1", ["203.0.113.5"], (), "127.0.0.1"),  # no proxies configured
    ],
)
def test_client_ip(peer, xff, networks, want):
    assert client_ip(peer, xff, networks) == want


class Headers:
    def __init__(self, **values: list[str]):
        self.values = {k.lower().replace("_", "-"): v for k, v in values.items()}

    def get_all(self, name: str) -> list[str]:
        return self.values.get(name.lower(), [])


def test_forwarded_peer():
    assert forwarded_peer(Headers(x_forwarded_for=["203.0.113.5"]), "127.0.0.1:5555", PROXIES) == "203.0.113.5:0"
    assert forwarded_peer(Headers(), "127.0.0.1:5555", PROXIES) == "127.0.0.1:5555"
    assert forwarded_peer(Headers(x_forwarded_for=["203.0.113.5"]), "127.0.0.1:5555", ()) == "127.0.0.1:5555"
    assert forwarded_peer(Headers(x_forwarded_for=["2001:db8::1"]), "::1:5555", parse_networks(["::1"])).rpartition(":")[0] == "2001:db8::1"

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

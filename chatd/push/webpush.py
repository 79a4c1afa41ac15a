"""Web Push on the wire (RFC 8030, 8291 aes128gcm, 8292 VAPID) and the endpoint guard.

The encryption is http_ece's and the VAPID signature py_vapid's; this module only puts them
together, and checks where a push may go: an endpoint must be an https URL whose host resolves
to public addresses only (chatd.policy.push.address_allowed), and a delivery connects to the
address that was checked, never to a second answer of the resolver.
"""

from __future__ import annotations

import base64
import os
import time
from typing import NamedTuple
from urllib.parse import urlsplit

import http_ece
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from ..errors import ChatError
from ..policy.push import address_allowed

VAPID_TTL_S = 12 * 3600  # a signed token is reused per origin for this long (RFC 8292 allows up to 24 h)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


class Vapid:
    """The server's VAPID key: its public key for clients, and Authorization headers per origin."""

    def __init__(self, pem: str, subject: str):
        self._key = Vapid02.from_pem(pem.encode())
        self.subject = subject
        raw = self._key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.public_key = b64url(raw)
        self._signed: dict[str, tuple[float, str]] = {}

    def authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        found = self._signed.get(origin)
        if found is None or found[0] < now + 600:
            exp = int(now) + VAPID_TTL_S
            header = self._key.sign({"aud": origin, "sub": self.subject, "exp": exp})["Authorization"]
            if len(self._signed) > 1000:
                self._signed.clear()
            found = self._signed[origin] = (exp, header)
        return found[1]


def check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """A subscription's keys, or bad_request: p256dh a P-256 point (65 bytes), auth 16 bytes."""
    try:
        raw = unb64url(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        if len(raw) != 65:
            raise ValueError
    except ValueError:
        raise ChatError("bad_request", "p256dh: the subscription's public key, a P-256 point in base64url", field="p256dh") from None
    try:
        if len(unb64url(auth)) != 16:
            raise ValueError
    except ValueError:
        raise ChatError("bad_request", "auth: the subscription's 16-byte auth secret in base64url", field="auth") from None
    return p256dh, auth


def encrypt(payload: bytes, p256dh: str, auth: str) -> bytes:
    """The aes128gcm body of one push (RFC 8291): a fresh key and salt every time."""
    return http_ece.encrypt(  # type: ignore[no-any-return]
        payload, salt=os.urandom(16), private_key=ec.generate_private_key(ec.SECP256R1()), dh=unb64url(p256dh), auth_secret=unb64url(auth), version="aes128gcm"
    )


# --- where a push may go ----------------------------------------------------------------------


class Target(NamedTuple):
    """A checked endpoint: connect to `address`, speak to `host` (Host header, TLS name)."""

    url: str  # the URL with the checked address in place of the host name
    host: str  # the Host header
    server_name: str  # the TLS server name (the host without its port)


def parse_endpoint(endpoint: str, allow_private: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an endpoint, or bad_request: https only (http too with private endpoints allowed)."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise ChatError("bad_request", "endpoint: not a URL", field="endpoint") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise ChatError("bad_request", "endpoint: an https URL with a host", field="endpoint")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(endpoint: str, allow_private: bool, timeout_s: float) -> Target:
    """Check an endpoint and pick the address to connect to: every address its host resolves to
    must be allowed (a name with one private answer is refused), or bad_request."""
    scheme, host, port = parse_endpoint(endpoint, allow_private)
    infos = None
    try:
        with trio.move_on_after(timeout_s):
            infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
    except OSError:
        pass
    if infos is None:
        raise ChatError("bad_request", "endpoint: its host name does not resolve", field="endpoint")
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(address_allowed(a, allow_private) for a in addresses):
        raise ChatError("bad_request", "endpoint: its host must resolve to public addresses only", field="endpoint")
    address = addresses[0]
    parts = urlsplit(endpoint)
    shown = f"[{address}]" if ":" in address else address
    default = 443 if scheme == "https" else 80
    netloc = shown if port == default else f"{shown}:{port}"
    return Target(parts._replace(netloc=netloc).geturl(), parts.netloc.rpartition("@")[2], host)

"""Push notifications (docs/push.md): who is notified of what, how urgently and for how long,
which endpoint addresses are allowed, and how long to wait before a retry. Pure: no trio,
no sqlite3, no network.
"""

from __future__ import annotations

import ipaddress
from email.utils import parsedate_to_datetime
from typing import NamedTuple

GROUP_SETTINGS = ("all", "mentions", "none")
KINDS = ("webpush", "unifiedpush", "gateway")
MAX_ID_PAYLOAD = 256  # bytes of an ids-only payload before encryption
PREVIEW_CHARS = 200  # of a message's text in a notification with previews
MESSAGE_TTL_S = 4 * 86400
FRIEND_TTL_S = 7 * 86400
CLEAR_TTL_S = 86400


class Settings(NamedTuple):
    dnd: bool = False
    groups: str = "all"


def notifies(event: str, kind: str, settings: Settings, conv_muted: bool, mentioned: bool) -> bool:
    """Whether an offline user's devices are told of this event.

    Do not disturb silences everything; a conversation the user muted never notifies; a
    group notifies per `groups` (all, mentions: only messages that mention the user, none);
    a DM, a call and a friend request always do (but under do not disturb). A read always
    clears (it only removes notifications)."""
    if event == "read":
        return True
    if settings.dnd:
        return False
    if event != "message":
        return True
    if conv_muted:
        return False
    if kind == "dm":
        return True
    return settings.groups == "all" or (settings.groups == "mentions" and mentioned)


def urgency(event: str, kind: str, mentioned: bool) -> str:
    """RFC 8030 Urgency: high for DMs, mentions and calls; low for clears; normal otherwise."""
    if event == "read":
        return "low"
    if event == "call" or (event == "message" and (kind == "dm" or mentioned)):
        return "high"
    return "normal"


def ttl_s(event: str, now_ms: int, until_ms: int) -> int:
    """How long a push service keeps the notification: a call only while it rings (a late push
    never rings); 0 means do not send at all."""
    if event == "call":
        return max(0, (until_ms - now_ms) // 1000)
    if event == "friend_request":
        return FRIEND_TTL_S
    if event == "read":
        return CLEAR_TTL_S
    return MESSAGE_TTL_S


def topic(conv_id: int) -> str:
    """RFC 8030 Topic of a conversation's notifications (a newer one replaces a pending one)."""
    return f"conv{conv_id}"


def address_allowed(address: str, allow_private: bool) -> bool:
    """Whether a push may go to this IP address: only global unicast ones, unless private
    endpoints are allowed (tests, closed networks). An IPv4-mapped or 6to4 IPv6 address is
    judged by the IPv4 address inside it."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if allow_private:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


def backoff_s(attempt: int, base_s: float, max_s: float, retry_after_s: float | None, jitter: float) -> float:
    """Seconds before retry `attempt` (1 for the first retry): doubling from `base_s`, jittered
    by `jitter` (0..1: up to half of it taken off), never less than the endpoint's Retry-After,
    never more than `max_s`."""
    wait = base_s * (2 ** (attempt - 1)) * (1 - jitter / 2)
    if retry_after_s is not None:
        wait = max(wait, retry_after_s)
    return min(max_s, max(0.0, wait))


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """A Retry-After header in seconds from now: delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_s)


def missing_device_field(kind: str, p256dh: str, auth: str, pushkey: str, app_id: str) -> tuple[str, str] | None:
    """What a device registration lacks or must not have, as (field, why), or None: Web Push and
    UnifiedPush need the subscription's keys and no pushkey; a gateway needs a pushkey and an app
    id and no keys."""
    if kind == "gateway":
        for field, value in (("pushkey", pushkey), ("app_id", app_id)):
            if not value:
                return field, "a gateway device needs the app's pushkey and app_id"
        for field, value in (("p256dh", p256dh), ("auth", auth)):
            if value:
                return field, "a gateway device has no Web Push keys"
        return None
    for field, value in (("p256dh", p256dh), ("auth", auth)):
        if not value:
            return field, f"a {kind} device needs the subscription's p256dh and auth keys"
    if pushkey or app_id:
        return ("pushkey" if pushkey else "app_id"), f"a {kind} device has no pushkey or app_id"
    return None

"""The closed set of error codes a client can branch on.

The same set is listed, with its documentation, under `errors:` in
clients/protocol.yaml; a test checks that the two agree.
"""

from __future__ import annotations

CODES = frozenset(
    {
        "bad_frame",
        "bad_request",
        "unknown_command",
        "not_implemented",
        "not_logged_in",
        "already_logged_in",
        "auth_failed",
        "user_disabled",
        "not_found",
        "forbidden",
        "not_member",
        "rate_limited",
        "too_large",
        "quota_exceeded",
        "recall_window_passed",
        "not_editable",
        "conflict",
        "privacy_restricted",
        "answered_elsewhere",
        "muted",
        "banned",
        "owner_must_transfer",
        "handed_over",
        "unavailable",
        "internal",
    }
)


class ChatError(Exception):
    """A client's mistake or a refused operation, reported as one error frame."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        field: str | None = None,
        retry_after_ms: int | None = None,
        missing: str | None = None,
        by: str | None = None,
    ):
        assert code in CODES, code
        super().__init__(message or code)
        self.code = code
        self.message = message or code.replace("_", " ")
        self.field = field
        self.retry_after_ms = retry_after_ms
        self.missing = missing  # a refused permission: the capability lacking ("send")
        self.by = by  # ... and where it was denied ("overwrite of role Muted on category Ops")


# WebSocket close codes chatd uses (documented in docs/protocol.md).
CLOSE_GOING_AWAY = 1001  # server shutting down
CLOSE_TOO_BIG = 1009  # frame over server.max_frame_bytes
CLOSE_AUTH = 4001  # not logged in within server.login_timeout_s
CLOSE_HEARTBEAT = 4002  # no frame within server.heartbeat_timeout_s
CLOSE_BACKLOG = 4008  # outgoing backlog passed server.backlog_max_bytes (slow consumer)
CLOSE_ACCOUNT = 4003  # the account was disabled while connected

"""What the server logs and how (docs/operations.md#logs): `log.format` and `log.level`, the
line each moderation action leaves, and limit-hit lines that cannot flood the log.

Never logged: a password, a token, a message's text. Log calls name users, devices,
addresses, ids and codes; an action's line carries only the numeric fields of its request.
A test runs the suite's servers with a log handler that fails the run if a password or a
token it handed out ever appears (tests/conftest.py).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from .config import LogConfig

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Commands that moderate or administer others: each successful one is logged with who did it.
MODERATION = frozenset({
    "chat_broadcast_send", "chat_broadcast_recall",
    "chat_group_delete", "chat_group_member_kick", "chat_group_member_mute_set", "chat_group_member_role_set",
    "chat_room_delete", "chat_room_disband", "chat_room_member_kick", "chat_room_member_mute_set", "chat_room_member_role_set",
    "community_delete", "community_disband", "community_owner_transfer", "community_member_kick", "community_member_mute_set",
    "community_role_create", "community_role_update", "community_role_delete", "community_role_reorder", "community_role_set",
    "community_overwrite_set", "community_channel_delete", "community_category_delete",
})

log = logging.getLogger("chatd.audit")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's `fields` (extra=)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(cfg: LogConfig) -> None:
    """The process's logging for `chatd serve`: one handler on standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if cfg.format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.level.upper())


def ids_of(data: Any) -> dict[str, Any]:
    """The numeric fields of a request (ids, flags, durations): what an action's log line may carry."""
    out: dict[str, Any] = {}
    for name in getattr(data, "__struct_fields__", ()):
        value = getattr(data, name)
        if isinstance(value, (bool, int)) or (isinstance(value, list) and value and all(type(v) is int for v in value[:100])):
            out[name] = value
    return out


def moderation(cmd: str, user: dict[str, Any] | None, device: str, data: Any) -> None:
    fields = {"action": cmd, "user": user["name"] if user else None, "user_id": user["id"] if user else None, "device": device, **ids_of(data)}
    log.info("admin action: %s by user=%r %s", cmd, fields["user"], " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("action", "user", "user_id", "device")), extra={"fields": fields})


class LimitLog:
    """Lines for limits hit, at most one per (limit, who) per interval, with how many were hit meanwhile."""

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0, max_keys: int = 10_000):
        self.logger = logger
        self.interval_s = interval_s
        self.max_keys = max_keys
        self._last: dict[tuple[str, str], tuple[float, int]] = {}  # key -> (time of the last line, hits since)

    def hit(self, limit: str, who: str, detail: str = "") -> None:
        key = (limit, who)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval_s:
            self._last[key] = (last[0], last[1] + 1)
            return
        if len(self._last) >= self.max_keys:  # forget the quiet ones rather than grow
            self._last = {k: v for k, v in self._last.items() if now - v[0] < self.interval_s}
        more = last[1] if last is not None else 0
        self._last[key] = (now, 0)
        suffix = f" (and {more} more since the last line)" if more else ""
        self.logger.info("limit hit: %s by %s%s%s", limit, who, f": {detail}" if detail else "", suffix, extra={"fields": {"limit": limit, "who": who, "since_last": more}})

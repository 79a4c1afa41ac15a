"""Checks of a request before it reaches the writer: the send rate, message content, a mute's end."""

from __future__ import annotations

from typing import Any

from ..config import LimitsConfig
from ..errors import ChatError
from ..protocol import content as ct
from ..protocol import rich
from ..net.session import Session
from ..store.db import now_ms
from ..store.messages import NewMessage


def check_rate(session: Session) -> None:
    wait_ms = session.bucket.take()
    if wait_ms:
        raise ChatError("rate_limited", "too many messages; slow down", retry_after_ms=wait_ms)


def new_message(limits: LimitsConfig, sender_id: int, content: Any, *, client_msg_id: str | None = None, quote_id: int | None = None, mentions: list[int] | None = None) -> NewMessage:
    """Validate a client's content and turn it into what the writer stores."""
    kind = content.__struct_config__.tag
    if kind not in ct.CLIENT_TYPES:
        raise ChatError("bad_request", f"clients cannot send {kind} messages", field="content.type")
    bad_url = ct.bad_url_field(content)
    if bad_url is not None:
        raise ChatError("bad_request", "a URL must be http(s) with a host, or a chatd-file: key", field=bad_url)
    if kind == "html":  # stored, and sent to every client, as sanitized
        content.text = rich.clean_html(content.text)
        if not rich.html_text(content.text).strip():
            raise ChatError("bad_request", "the HTML has no text once sanitized", field="content.text")
    elif kind == "markdown":
        link = rich.bad_markdown_link(content.text)
        if link is not None:
            raise ChatError("bad_request", f"a link must be http(s) with a host, or mailto: (not {link[:40]!r})", field="content.text")
    text = ct.searchable_text(content)
    if len(text) > limits.max_text_chars:
        raise ChatError("too_large", f"text is over {limits.max_text_chars} characters", field="content.text")
    encoded = ct.dumps(content)
    if len(encoded) > limits.max_content_bytes:
        raise ChatError("too_large", f"content is over {limits.max_content_bytes} bytes", field="content")
    return NewMessage(
        sender_id=sender_id,
        type=kind,
        content=encoded,
        text=text,
        client_msg_id=client_msg_id,
        quote_id=quote_id,
        mentions=sorted(set(mentions or ())),
        quota=limits.user_storage_bytes,
    )


def mute_until(d: Any) -> int:
    """A member mute's end (ms since the epoch; 0 lifts it) from `duration_ms` or `until`."""
    if d.duration_ms is not None:
        return now_ms() + d.duration_ms if d.duration_ms else 0
    if d.until is not None:
        return d.until
    raise ChatError("bad_request", "give duration_ms or until", field="duration_ms")

"""Message contents: one tagged union on `type`, decoded and validated by msgspec."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union, get_args

import msgspec
from msgspec import Meta, Struct

# A file stored by chatd itself is named by its key, the SHA-256 of its bytes: chatd-file:<64
# lowercase hex digits>. Any other URL a client will load or open is http(s) with a host (in ASCII:
# an international name in its xn-- form), an optional port, then anything but spaces and control
# characters. Nothing else (javascript:, data:, file:, relative or scheme-relative URLs) may stand
# there. One regular expression, in the syntax Python and JSON Schema share, is the whole rule: the
# server checks it (url_allowed) and the OpenAPI document states it as the fields' `pattern`.
_SAFE = r"[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"  # what _UNSAFE was
_HOST = r"[A-Za-z0-9\-._~!$&'()*+,;=%]"
_PORT = r"(?::(?:[0-9]{0,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
URL_PATTERN = rf"^(?:chatd-file:[0-9a-f]{{64}}|[Hh][Tt][Tt][Pp][Ss]?://(?:(?:{_HOST}|:)*@)?{_HOST}+{_PORT}(?:[/?#]{_SAFE}*)?)$"
_URL_SCHEMA = {"pattern": URL_PATTERN}
Url = Annotated[str, Meta(min_length=1, max_length=2048, extra_json_schema=_URL_SCHEMA)]
OptUrl = Annotated[str, Meta(extra_json_schema=_URL_SCHEMA)] | None
OptInt = Annotated[int, Meta(ge=0)] | None


class _C(Struct, tag_field="type", forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class Text(_C, tag="text"):
    text: Annotated[str, Meta(min_length=1)]


class Markdown(_C, tag="markdown"):
    text: Annotated[str, Meta(min_length=1)]


class Html(_C, tag="html"):
    text: Annotated[str, Meta(min_length=1)]


class Image(_C, tag="image"):
    url: Url
    width: OptInt = None
    height: OptInt = None
    size: OptInt = None
    mime: str | None = None
    thumb_url: OptUrl = None
    name: str | None = None


class File(_C, tag="file"):
    url: Url
    name: Annotated[str, Meta(min_length=1, max_length=255)]
    size: OptInt = None
    mime: str | None = None


class Video(_C, tag="video"):
    url: Url
    duration_ms: OptInt = None
    width: OptInt = None
    height: OptInt = None
    size: OptInt = None
    cover_url: OptUrl = None


class Audio(_C, tag="audio"):
    url: Url
    duration_ms: OptInt = None
    size: OptInt = None


class Sticker(_C, tag="sticker"):
    url: Url
    sticker_id: Annotated[str, Meta(min_length=1, max_length=128)]
    pack_id: str | None = None


class Article(_C, tag="article"):
    """A shared post or page: title, summary, cover and link."""

    title: Annotated[str, Meta(min_length=1, max_length=200)]
    url: Url
    summary: Annotated[str, Meta(max_length=1000)] = ""
    cover_url: OptUrl = None


class FormField(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    id: Annotated[str, Meta(min_length=1, max_length=64)]
    type: Literal["radio", "input", "switch", "textarea", "select"]
    label: str = ""
    options: list[str] | None = None
    default: Any = None
    placeholder: str | None = None


class Form(_C, tag="form"):
    fields: Annotated[list[FormField], Meta(min_length=1, max_length=50)]
    text: str | None = None


class Button(Struct, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[str, Meta(min_length=1, max_length=64)]
    action: Literal["callback", "url", "copy"] = "callback"
    value: str = ""


# A button's value is a URL (URL_PATTERN) when its action is url.
_URL_BUTTON = {
    "anyOf": [
        {"properties": {"action": {"const": "url"}, "value": {"pattern": URL_PATTERN}}, "required": ["action", "value"]},
        {"properties": {"action": {"enum": ["callback", "copy"]}}},
    ]
}


class Buttons(_C, tag="buttons"):
    text: str
    buttons: Annotated[list[list[Annotated[Button, Meta(extra_json_schema=_URL_BUTTON)]]], Meta(min_length=1, max_length=20)]


class System(_C, tag="system"):
    """Made by the server only (member changes and the like); clients cannot send it."""

    event: str
    text: str = ""
    data: Any = None


class ForwardItem(Struct, forbid_unknown_fields=True, kw_only=True):
    """One message of a merged forward, as it was: who sent it, when, and its content."""

    sender_id: int
    sender_name: str
    created_at: int
    content: Content


class Forward(_C, tag="forward"):
    """Several messages forwarded as one record (chat_message_forward with merged); made by the
    server only, from messages the forwarder could read, so that no one can forge one."""

    items: list[ForwardItem]
    title: str = ""


Content = Union[Text, Markdown, Html, Image, File, Video, Audio, Sticker, Article, Form, Buttons, Forward, System]
# What a request may carry: every content but those the server makes (Forward, System).
ClientContent = Union[Text, Markdown, Html, Image, File, Video, Audio, Sticker, Article, Form, Buttons]
CLIENT_TYPES = frozenset(t.__struct_config__.tag for t in get_args(ClientContent))

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Content).decode


def dumps(content: Content) -> bytes:
    return _encode(content)


def loads(raw: bytes | str) -> Content:
    return _decode(raw)


def searchable_text(content: Content) -> str:
    """The words of a content that full-text search indexes."""
    parts: list[str] = []
    if isinstance(content, Html):
        from .rich import html_text  # (rich imports this module)

        parts.append(html_text(content.text))
    elif isinstance(content, (Text, Markdown)):
        parts.append(content.text)
    elif isinstance(content, Article):
        parts.append(content.title)
        if content.summary:
            parts.append(content.summary)
    elif isinstance(content, (File, Image)):
        if content.name:
            parts.append(content.name)
    elif isinstance(content, Buttons):
        parts.append(content.text)
        parts.extend(b.text for row in content.buttons for b in row)
    elif isinstance(content, Form):
        if content.text:
            parts.append(content.text)
        parts.extend(f.label for f in content.fields if f.label)
    elif isinstance(content, Forward):
        if content.title:
            parts.append(content.title)
        parts.extend(t for t in (searchable_text(item.content) for item in content.items) if t)
    elif isinstance(content, System):
        parts.append(content.text)
    return "\n".join(parts)


FILE_KEY = re.compile(r"chatd-file:[0-9a-f]{64}")
_URL = re.compile(URL_PATTERN)


def url_allowed(url: str) -> bool:
    """An http(s) URL with a host, or a chatd file key (URL_PATTERN)."""
    return _URL.fullmatch(url) is not None


def bad_url_field(content: Content) -> str | None:
    """The field of the first URL in a content that url_allowed refuses (as `content.url`), or None."""
    if isinstance(content, (Image, File, Video, Audio, Sticker, Article)):
        if not url_allowed(content.url):
            return "content.url"
        for name in ("thumb_url", "cover_url"):
            value = getattr(content, name, None)
            if value is not None and not url_allowed(value):
                return f"content.{name}"
    elif isinstance(content, Buttons):
        for i, row in enumerate(content.buttons):
            for j, button in enumerate(row):
                if button.action == "url" and not url_allowed(button.value):
                    return f"content.buttons[{i}][{j}].value"
    return None


def preview_text(content: Content | None, limit: int = 100) -> str:
    if content is None:
        return ""
    text = searchable_text(content)
    if not text:
        text = f"[{content.__struct_config__.tag}]"
    return text[:limit]

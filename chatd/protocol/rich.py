"""Rich text that cannot hurt a client: what an `html` message may hold, and the links of a
`markdown` one.

HTML is sanitized on the server with nh3 (the Ammonia sanitizer) to an allow-list, and the
sanitized text is what is stored and what every client receives: text formatting, lists,
quotes, code, tables and links; no scripts, styles, event handlers, images, frames, forms or
comments. A link keeps its `href` only when it is an http(s) URL with a host or a mailto:
address, and always gets `rel="noopener noreferrer nofollow"`.

Markdown is stored as written. Its dialect (docs/protocol.md, "Rich text") renders raw HTML
as text, so nothing in it runs; a message whose link or image destination has another
scheme (javascript:, data:, file:, ...) is refused.

nh3 is imported at the first HTML message, not at start (it costs about 1.5 MB).
"""

from __future__ import annotations

import html
import re

from .content import url_allowed

TAGS = frozenset({
    "p", "br", "hr", "b", "strong", "i", "em", "u", "s", "del", "ins", "mark", "small", "sub", "sup",
    "code", "pre", "kbd", "blockquote", "q", "a", "ul", "ol", "li", "dl", "dt", "dd", "span",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
})
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}, "code": {"class"}}
LINK_REL = "noopener noreferrer nofollow"
_DROP_WITH_CONTENT = {"script", "style", "template", "textarea", "title", "noscript", "iframe", "object", "svg", "math"}


def link_allowed(url: str) -> bool:
    """An http(s) URL with a host (content.url_allowed) or a mailto: address."""
    if url[:7].lower() == "mailto:":
        return len(url) > 7 and not any(c.isspace() or ord(c) < 32 for c in url)
    return url_allowed(url) and not url.startswith("chatd-file:")


def _attribute(tag: str, attr: str, value: str) -> str | None:
    if attr == "rel":  # the sanitizer's own LINK_REL
        return value
    if attr == "href":
        return value if link_allowed(value) else None
    if attr == "class":  # a code block's language, for highlighting: language-xyz only
        return value if re.fullmatch(r"language-[A-Za-z0-9_+-]{1,32}", value) else None
    if attr in ("start", "colspan", "rowspan"):
        return value if value.isdigit() and len(value) <= 4 else None
    return None


def clean_html(text: str) -> str:
    """The allow-listed form of an HTML fragment."""
    import nh3

    return nh3.clean(  # type: ignore[no-any-return]
        text,
        tags=set(TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        attribute_filter=_attribute,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes={"http", "https", "mailto"},
    )


def html_text(text: str) -> str:
    """The words of an HTML fragment (for search, previews and length limits)."""
    import nh3

    return html.unescape(nh3.clean(text, tags=set(), clean_content_tags=set(_DROP_WITH_CONTENT)))


# Inline links and images, [text](destination "title") / ![alt](<destination>), reference
# definitions ([label]: destination) and autolinks (<scheme:...>).
_MD_DESTINATIONS = re.compile(
    r"\]\(\s*<([^>\n]*)>|\]\(\s*([^\s)]+)|^\s{0,3}\[[^\]\n]+\]:\s*<?([^\s>]+)|<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>",
    re.MULTILINE,
)


def bad_markdown_link(text: str) -> str | None:
    """The first link or image destination of a Markdown text that is not allowed, or None.
    Relative destinations and #anchors are left alone: they go nowhere outside the message."""
    for match in _MD_DESTINATIONS.finditer(text):
        url = html.unescape(next(g for g in match.groups() if g is not None))
        head = re.split(r"[/?#]", re.sub(r"[\x00-\x20]", "", url), maxsplit=1)[0]
        if ":" in head and not link_allowed(url):  # (without a scheme it is relative)
            return url
    return None

"""Rich content that cannot hurt a client: HTML sanitized against a hostile corpus, Markdown
links checked, article messages, and migration 13 sanitizing HTML stored before (its search
index entries replaced with the text they were made from)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from chatd.protocol import content as ct
from chatd.protocol import rich
from chatd.store import messages, schema, search

from .schema_rewind import rewind
from .test_community_chat import fails
from .test_search_index import _dm, _find

HOSTILE = [
    "<script>alert(1)</script>hello",
    "<img src=x onerror=alert(1)>hello",
    "<p onclick=alert(1) style='background:url(javascript:alert(1))'>hello</p>",
    "<a href='javascript:alert(1)'>hello</a>",
    "<a href='jav&#x09;ascript:alert(1)'>hello</a>",
    "<a href='&#106;avascript:alert(1)'>hello</a>",
    "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>hello</a>",
    "<a href='vbscript:msgbox(1)'>hello</a>",
    "<a href='//evil.example/x'>hello</a>",
    "<svg><script>alert(1)</script><a xlink:href='javascript:alert(1)'>x</a></svg>hello",
    "hello<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>hello",
    "<iframe src='https://evil.example'></iframe><object data=x></object><embed src=x>hello",
    "<form action='https://evil.example'><input name=p><button>go</button></form>hello",
    "<meta http-equiv=refresh content='0;url=https://evil.example'><base href='https://evil.example/'>hello",
    "<style>*{background:red}</style><link rel=stylesheet href=https://evil.example/x.css>hello",
    "<!--<script>alert(1)</script>-->hello",
    "<code class='language-py\" onmouseover=\"alert(1)'>hello</code>",
    "<details open ontoggle=alert(1)><summary>hello</summary></details>",
    "<a href='https://ok.example/' target=_blank rel=opener>hello</a>",
    "<table><tr><td colspan='2 onclick=x'>hello</td></tr></table>",
    "<<script>script>alert(1)<</script>/script>hello",
]


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in rich.TAGS:
            self.problems.append(f"tag {tag}")
        allowed = rich.ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        for name, value in attrs:
            if name not in allowed:
                self.problems.append(f"{tag}[{name}]")
            elif name == "href" and not rich.link_allowed(value or ""):
                self.problems.append(f"href {value}")
            elif name == "rel" and value != rich.LINK_REL:
                self.problems.append(f"rel {value}")
        if tag == "a" and dict(attrs).get("rel") != rich.LINK_REL:
            self.problems.append("a without rel")

    def handle_comment(self, data):
        self.problems.append("comment")


@pytest.mark.parametrize("dirty", HOSTILE)
def test_the_hostile_corpus_comes_out_harmless(dirty):
    clean = rich.clean_html(dirty)
    audit = _Audit()
    audit.feed(clean)
    audit.close()
    assert audit.problems == [], clean
    assert "hello" in rich.html_text(clean)
    assert "javascript" not in clean.lower() and "<script" not in clean.lower()
    assert rich.clean_html(clean) == clean  # sanitized once is sanitized


def test_markdown_links_must_go_somewhere_safe():
    bad = ["[a](javascript:alert(1))", "[a](JaVaScRiPt:alert(1))", "[a](&#106;avascript:x)", "<javascript:alert(1)>",
           "![i](<data:image/png;base64,AAAA>)", "[r]: data:text/html,x", "[a](file:///etc/passwd)", "[a](vbscript:x)"]
    good = ["[a](https://example.org/x)", "[a](/relative)", "[a](#top)", "<https://example.org>", "[a](mailto:a@example.org)",
            "plain text with a colon: fine", "`[a](javascript:x)` in code is still refused"]
    assert [t for t in bad if rich.bad_markdown_link(t) is None] == []
    assert [t for t in good[:-1] if rich.bad_markdown_link(t) is not None] == []


def test_migration_13_sanitizes_stored_html_and_its_index_entries(tmp_path):
    ctx, a, b, conv = _dm(tmp_path)
    conn = ctx.conn
    raw = "<p onclick=steal()>quarterly <script>exfiltrate()</script>report</p>"
    new = messages.NewMessage(a, "html", ct.dumps(ct.Html(text=raw)), raw, None, None, [])
    msg_id = messages.insert(ctx, conv, new)["id"]
    edited = messages.NewMessage(a, "html", ct.dumps(ct.Html(text="x")), "x", None, None, [])
    other = messages.insert(ctx, conv, messages.NewMessage(a, "html", ct.dumps(ct.Html(text=raw)), raw, None, None, []))["id"]
    messages.edit(ctx, conv, a, other, edited, max_edits=10, max_history_bytes=100_000)  # its html is in the edit history now
    # Indexed as before migration 13: the whole source, markup and all.
    search.index(conn, msg_id, conv, raw)
    search.index(conn, other, conv, "x")
    conn.execute("UPDATE search_state SET indexed_upto = ?", (other,))
    assert _find(conn, a, "onclick") == [msg_id]
    rewind(conn, 12)
    assert schema.migrate(conn) == 12
    stored = messages.load(conn, msg_id)["content"]["text"]
    assert "script" not in stored and "onclick" not in stored and "quarterly" in stored and "report" in stored
    (history,) = conn.execute("SELECT content FROM message_edits WHERE message_id = ?", (other,)).fetchone()
    assert b"script" not in history and b"onclick" not in history
    assert _find(conn, a, "onclick") == [] and _find(conn, a, "exfiltrate") == [] and _find(conn, a, "quarterly") == [msg_id]
    # Its entry is the one the index now holds: a recall takes it out for good.
    messages.recall(ctx, conv, a, msg_id, is_admin=False, window_ms=60_000)
    assert _find(conn, a, "quarterly") == [] and _find(conn, a, "report") == []
    conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")


async def test_rich_contents_over_the_wire(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        sent = await a1.request("chat_dm_send", {"peer": b, "content": {"type": "html", "text": "<b onclick=x()>hi</b><script>x()</script>"}})
        assert sent["message"]["content"] == {"type": "html", "text": "<b>hi</b>"}
        push = await b1.next_push("chat_message")
        assert push["data"]["message"]["content"]["text"] == "<b>hi</b>"  # what every client receives
        err = await fails(a1, "chat_dm_send", {"peer": b, "content": {"type": "html", "text": "<script>x()</script><img src=x>"}}, "bad_request")
        assert err.field == "content.text"
        err = await fails(a1, "chat_dm_send", {"peer": b, "content": {"type": "markdown", "text": "[click](javascript:alert(1))"}}, "bad_request")
        assert err.field == "content.text"
        md = await a1.request("chat_dm_send", {"peer": b, "content": {"type": "markdown", "text": "**bold** [doc](https://example.org/d)"}})
        assert md["message"]["content"]["text"] == "**bold** [doc](https://example.org/d)"
        article = {"type": "article", "title": "发布说明", "url": "https://example.org/post", "summary": "新版本", "cover_url": "https://example.org/c.png"}
        got = await a1.request("chat_dm_send", {"peer": b, "content": article})
        assert got["message"]["content"] == article
        err = await fails(a1, "chat_dm_send", {"peer": b, "content": {**article, "url": "javascript:alert(1)"}}, "bad_request")
        assert err.field == "content.url"
        await fails(a1, "chat_dm_send", {"peer": b, "content": {**article, "title": "x" * 201}}, "bad_request")
        # An edit is sanitized as a send is.
        edit = await a1.request("chat_dm_edit", {"peer": b, "msg_id": sent["id"], "content": {"type": "html", "text": "<i>ok</i><iframe src=x></iframe>"}})
        assert edit["message"]["content"]["text"] == "<i>ok</i>"
        found = await a1.request("chat_dm_search", {"query": "发布说明"})
        assert [r["message"]["id"] for r in found["results"]] == [got["id"]]

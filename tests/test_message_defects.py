"""Message rules over the real wire: a recall erases every stored version of a message, badges
count only what the user can still see, a client_msg_id names one message in one conversation,
and content URLs are http(s) or chatd's own file keys."""

from __future__ import annotations

import json

import pytest

from chatd.client import ClientError
from chatd.store import uploads

from .schema_rewind import rewind
from .test_group import create as create_group
from .test_group import fails
from .test_room import create as create_room
from .test_room import join



def text(t: str) -> dict:
    return {"type": "text", "text": t}


class Conv:
    """One conversation of any kind, driven by the same calls."""

    def __init__(self, kind: str, target: int, users: dict[str, int]):
        self.kind, self.target, self.users = kind, target, users

    def where(self, client) -> dict:
        if self.kind == "dm":
            a, b = self.users["alice"], self.users["bob"]
            return {"peer": b if client.user["id"] == a else a}
        return {f"{self.kind}_id": self.target}

    async def send(self, client, t: str, **extra) -> dict:
        return await client.request(f"chat_{self.kind}_send", {**self.where(client), "content": text(t), **extra})

    async def edit(self, client, msg_id: int, t: str) -> dict:
        return await client.request(f"chat_{self.kind}_edit", {**self.where(client), "msg_id": msg_id, "content": text(t)})

    async def recall(self, client, msg_id: int) -> dict:
        return await client.request(f"chat_{self.kind}_recall", {**self.where(client), "msg_id": msg_id})

    async def delete(self, client, msg_ids: list[int]) -> dict:
        return await client.request(f"chat_{self.kind}_delete", {**self.where(client), "msg_ids": msg_ids})

    async def mark_read(self, client, seq: int) -> dict:
        return await client.request(f"chat_{self.kind}_mark_read", {**self.where(client), "seq": seq})

    async def history(self, client) -> dict:
        return await client.request(f"chat_{self.kind}_history", {**self.where(client), "limit": 100})

    async def search(self, client, query: str) -> dict:
        return await client.request(f"chat_{self.kind}_search", {"query": query})

    async def entry(self, client, unread_only: bool = False) -> dict | None:
        convs = (await client.request(f"chat_{self.kind}_conversations", {"unread_only": unread_only}))["conversations"]
        return next((c for c in convs if c["conv_id"] == self.conv_id), None)


async def open_conv(kind: str, users: dict[str, int], a1, b1) -> Conv:
    """A conversation of `kind` between alice (owner) and bob, with carol too for groups and rooms."""
    if kind == "dm":
        conv = Conv(kind, users["bob"], users)
        first = await conv.send(a1, "hello")
        conv.conv_id = first["conv_id"]
        await conv.send(b1, "hi")  # bob has read everything so far
        return conv
    if kind == "group":
        gid = (await create_group(a1, "team", [users["bob"], users["carol"]]))["group_id"]
    else:
        gid = (await create_room(a1))["room_id"]
        await join(b1, gid)
    conv = Conv(kind, gid, users)
    conv.conv_id = gid
    await conv.send(b1, "hi")
    return conv


KINDS = ["dm", "group", "room"]


# --- a recall erases every stored version ----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_recall_erases_every_version_of_the_content(harness, users, kind):
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        conv = await open_conv(kind, users, a1, b1)
        if kind == "room":
            await join(a1, conv.target)
        orig = await conv.send(a1, "v1 confidential")
        # Indexed before the edit, so the edit has to take the first text out of the index.
        assert [r["message"]["id"] for r in (await conv.search(b1, "confidential"))["results"]] == [orig["id"]]
        reply = await conv.send(b1, "noted", quote_id=orig["id"])
        assert reply["message"]["quote"]["text"] == "v1 confidential"
        await conv.edit(a1, orig["id"], "v2 classified")
        edits = await b1.request("chat_message_edits", {"msg_id": orig["id"]})
        assert [e["content"]["text"] for e in edits["edits"]] == ["v1 confidential"]
        # The newest message is recalled too, so conversation previews show a recalled message.
        last = await conv.send(a1, "w1 topsecret")
        await conv.search(b1, "topsecret")
        await conv.edit(a1, last["id"], "w2 eyesonly")
        for msg in (orig, last):
            out = await conv.recall(a1, msg["id"])
            assert out["message"]["content"] is None and out["message"]["recalled_at"]

        words = ("confidential", "classified", "topsecret", "eyesonly", "v1", "v2", "w1", "w2")
        for client in (a1, b1):
            for msg in (orig, last):
                assert await client.request("chat_message_edits", {"msg_id": msg["id"]}) == {"edits": [], "total": 0}
            for word in words:
                assert (await conv.search(client, word))["results"] == []
            hist = await conv.history(client)
            quoting = next(m for m in hist["messages"] if m["id"] == reply["id"])
            assert quoting["quote"] == {"id": orig["id"], "sender_id": users["alice"], "type": "text", "text": "", "recalled": True}
            entry = await conv.entry(client)
            assert entry is not None and entry["last_message"]["id"] == last["id"]
            assert entry["last_message"]["content"] is None
            seen = json.dumps([hist, entry], ensure_ascii=False)
            for word in words:
                assert word not in seen, (word, seen)


# --- badges count only what the user can still see -------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_deleted_for_me_counts_neither_unread_nor_mentioned(harness, users, kind):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        conv = await open_conv(kind, users, a1, b1)
        plain = await conv.send(a1, "plain")
        mention = await conv.send(a1, "@bob look", mentions=[b])
        other = await conv.send(a1, "another")
        entry = await conv.entry(b1)
        assert entry["unread"] == 3 and entry["mentioned"] is True
        await conv.delete(b1, [mention["id"], other["id"]])
        # The other device is told at once, with the new badges.
        upd = await b2.next_push(f"chat_{kind}_conversation_update", where=lambda d: d["conversation"]["last_message"]["id"] == plain["id"])
        assert upd["data"]["conversation"]["unread"] == 1 and upd["data"]["conversation"]["mentioned"] is False
        entry = await conv.entry(b1)
        assert entry["unread"] == 1 and entry["mentioned"] is False
        assert entry["last_message"]["id"] == plain["id"]
        # alice, who deleted nothing, still sees bob's counts unchanged for herself (she has read all).
        assert (await conv.entry(a1))["unread"] == 0
        # Deleting the rest of what is unread empties the badge and the unread-only list.
        await conv.delete(b1, [plain["id"]])
        entry = await conv.entry(b1)
        assert entry["unread"] == 0 and entry["mentioned"] is False
        assert await conv.entry(b1, unread_only=True) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_an_older_visible_mention_still_counts_when_a_newer_one_is_deleted(harness, users, kind):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        conv = await open_conv(kind, users, a1, b1)
        await conv.send(a1, "@bob first", mentions=[b])
        second = await conv.send(a1, "@bob second", mentions=[b])
        await conv.delete(b1, [second["id"]])
        entry = await conv.entry(b1)
        assert entry["unread"] == 1 and entry["mentioned"] is True


@pytest.mark.parametrize("kind", KINDS)
async def test_recalled_mention_no_longer_mentions(harness, users, kind):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        conv = await open_conv(kind, users, a1, b1)
        first = await conv.send(a1, "@bob first", mentions=[b])
        second = await conv.send(a1, "@bob second", mentions=[b])
        # Recalling the newer mention leaves the older one, still unread.
        out = await conv.recall(a1, second["id"])
        assert out["message"]["mentions"] == []
        entry = await conv.entry(b1)
        assert entry["unread"] == 2 and entry["mentioned"] is True
        # Recalling the last one clears the flag; the placeholders still count as unread.
        await conv.recall(a1, first["id"])
        entry = await conv.entry(b1)
        assert entry["unread"] == 2 and entry["mentioned"] is False
        hist = await conv.history(b1)
        assert all(m["mentions"] == [] for m in hist["messages"] if m["id"] in (first["id"], second["id"]))
        # A mention bob has read stays read: recalling a newer one does not bring it back.
        kept = await conv.send(a1, "@bob kept", mentions=[b])
        await conv.mark_read(b1, kept["seq"])
        gone = await conv.send(a1, "@bob gone", mentions=[b])
        assert (await conv.entry(b1))["mentioned"] is True
        await conv.recall(a1, gone["id"])
        entry = await conv.entry(b1)
        assert entry["unread"] == 1 and entry["mentioned"] is False


@pytest.mark.parametrize("kind", ["group", "room"])
async def test_recalled_mention_of_everyone_no_longer_mentions(harness, users, kind):
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        conv = await open_conv(kind, users, a1, b1)
        older = await conv.send(a1, "@all first", mentions=[0])
        newer = await conv.send(a1, "@all second", mentions=[0])
        await conv.recall(a1, newer["id"])
        assert (await conv.entry(b1))["mentioned"] is True
        await conv.recall(a1, older["id"])
        entry = await conv.entry(b1)
        assert entry["unread"] == 2 and entry["mentioned"] is False
        # A mention of bob alone, recalled while an @all is unread, leaves bob mentioned by the @all.
        await conv.send(a1, "@all third", mentions=[0])
        mine = await conv.send(a1, "@bob only", mentions=[users["bob"]])
        await conv.recall(a1, mine["id"])
        assert (await conv.entry(b1))["mentioned"] is True


# --- a client_msg_id names one message in one conversation -----------------------------


async def test_reused_client_msg_id_in_another_dm_is_a_conflict(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("carol") as c1:
        first = await a1.request("chat_dm_send", {"peer": b, "content": text("to bob"), "client_msg_id": "same"})
        err = await fails(a1, "chat_dm_send", {"peer": c, "content": text("to carol"), "client_msg_id": "same"}, "conflict")
        assert err.field == "client_msg_id"
        assert (await c1.request("chat_dm_history", {"peer": a}))["messages"] == []
        # The resend to the same peer is still a duplicate, and carol can be written with a new id.
        again = await a1.request("chat_dm_send", {"peer": b, "content": text("to bob"), "client_msg_id": "same"})
        assert again["duplicate"] is True and again["id"] == first["id"]
        out = await a1.request("chat_dm_send", {"peer": c, "content": text("to carol"), "client_msg_id": "other"})
        assert out["duplicate"] is False
        # Now in a conversation with carol: the id of the message to bob is still refused there.
        await fails(a1, "chat_dm_send", {"peer": c, "content": text("to carol"), "client_msg_id": "same"}, "conflict")


async def test_client_msg_id_shared_between_a_group_and_a_dm_is_a_conflict(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1:
        gid = (await create_group(a1, "team", [b]))["group_id"]
        await a1.request("chat_group_send", {"group_id": gid, "content": text("group"), "client_msg_id": "g1"})
        err = await fails(a1, "chat_dm_send", {"peer": b, "content": text("dm"), "client_msg_id": "g1"}, "conflict")
        assert err.field == "client_msg_id"
        await a1.request("chat_dm_send", {"peer": b, "content": text("dm"), "client_msg_id": "d1"})
        err = await fails(a1, "chat_group_send", {"group_id": gid, "content": text("group"), "client_msg_id": "d1"}, "conflict")
        assert err.field == "client_msg_id"
        hist = await a1.request("chat_dm_history", {"peer": b})
        assert [m["content"] for m in hist["messages"]] == [text("dm")]


# --- content URLs ----------------------------------------------------------------------

FILE_KEY = "chatd-file:" + "0123456789abcdef" * 4
GOOD_URLS = ["https://example.test/a.png", "http://example.test:8080/a?b=c#d", "HTTPS://Example.Test/x", FILE_KEY]
BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox",
    "file:///etc/passwd",
    "ftp://example.test/a",
    "//example.test/a",
    "/relative/path",
    "https://",
    "https:///path",
    "http:example.test",
    "chatd-file:" + "0123456789ABCDEF" * 4,
    "chatd-file:" + "0" * 63,
    "chatd-file:" + "0" * 65,
    "chatd-file:../../etc/passwd",
    "https://exa mple.test/",
    "https://example.test/\nx",
]


async def alice_uploaded_file_key(harness, users) -> None:
    """A message may name only a file its sender may fetch (docs/files.md): record FILE_KEY as alice's upload."""
    await harness.server.writer.submit(uploads.op_record, users["alice"], FILE_KEY.split(":")[1], 3, "application/octet-stream", None, None, 0)


def url_contents(url: str) -> list[tuple[dict, str]]:
    """Every URL field of every content type, with `url` in it, and the field an error names."""
    ok = "https://example.test/ok"
    return [
        ({"type": "image", "url": url}, "content.url"),
        ({"type": "image", "url": ok, "thumb_url": url}, "content.thumb_url"),
        ({"type": "file", "url": url, "name": "a.pdf"}, "content.url"),
        ({"type": "video", "url": url}, "content.url"),
        ({"type": "video", "url": ok, "cover_url": url}, "content.cover_url"),
        ({"type": "audio", "url": url}, "content.url"),
        ({"type": "sticker", "url": url, "sticker_id": "s1"}, "content.url"),
        (
            {"type": "buttons", "text": "go", "buttons": [[{"text": "a", "action": "copy", "value": "x"}], [{"text": "b", "action": "callback", "value": "v"}, {"text": "c", "action": "url", "value": url}]]},
            "content.buttons[1][1].value",
        ),
    ]


@pytest.mark.parametrize("config_overrides", [{"limits": {"send_burst": 10_000, "user_write_burst": 10_000}}])
async def test_content_urls_must_be_http_or_chatd_file_keys(harness, users):
    a, b = users["alice"], users["bob"]
    await alice_uploaded_file_key(harness, users)
    async with harness.client("alice") as a1:
        gid = (await create_group(a1, "team", [b]))["group_id"]
        rid = (await create_room(a1))["room_id"]
        where = {"chat_dm_send": {"peer": b}, "chat_group_send": {"group_id": gid}, "chat_room_send": {"room_id": rid}}
        for url in GOOD_URLS:
            for content, _ in url_contents(url):
                out = await a1.request("chat_dm_send", {"peer": b, "content": content})
                assert out["message"]["content"] == content
        for url in BAD_URLS:
            for content, field in url_contents(url):
                for cmd, target in where.items():
                    with pytest.raises(ClientError) as exc:
                        await a1.request(cmd, {**target, "content": content})
                    assert (exc.value.code, exc.value.field) == ("bad_request", field), (cmd, content, exc.value.error)
        # Buttons whose action is not url may carry any value.
        free = {"type": "buttons", "text": "t", "buttons": [[{"text": "copy", "action": "copy", "value": "javascript:x"}]]}
        assert (await a1.request("chat_dm_send", {"peer": b, "content": free}))["message"]["content"] == free


async def test_edits_check_content_urls_too(harness, users):
    a, b = users["alice"], users["bob"]
    await alice_uploaded_file_key(harness, users)
    async with harness.client("alice") as a1:
        gid = (await create_group(a1, "team", [b]))["group_id"]
        rid = (await create_room(a1))["room_id"]
        image = {"type": "image", "url": "https://example.test/a.png"}
        bad = {"type": "image", "url": "https://example.test/a.png", "thumb_url": "javascript:alert(1)"}
        for kind, target in (("dm", {"peer": b}), ("group", {"group_id": gid}), ("room", {"room_id": rid})):
            msg = await a1.request(f"chat_{kind}_send", {**target, "content": image})
            err = await fails(a1, f"chat_{kind}_edit", {**target, "msg_id": msg["id"], "content": bad}, "bad_request")
            assert err.field == "content.thumb_url"
            good = {**image, "thumb_url": FILE_KEY}
            out = await a1.request(f"chat_{kind}_edit", {**target, "msg_id": msg["id"], "content": good})
            assert out["message"]["content"] == good


# --- messages recalled before migration 6 ----------------------------------------------


def test_migration_erases_what_earlier_recalls_left(tmp_path):
    """A database where a recall kept the edit history and mentions (as before migration 6)."""
    from chatd.protocol import content as ct
    from chatd.store import messages, schema

    from .test_search_index import _dm

    ctx, a, b, conv = _dm(tmp_path)
    conn = ctx.conn

    def mention(t: str, who: list[int]) -> int:
        new = messages.NewMessage(sender_id=a, type="text", content=ct.dumps(ct.Text(text=t)), text=t, client_msg_id=None, quote_id=None, mentions=who)
        return messages.insert(ctx, conv, new)

    older = mention("@b first", [b])
    newer = mention("@b second", [b])
    conn.execute("INSERT INTO message_edits (message_id, content, edited_at) VALUES (?, ?, 0)", (newer["id"], ct.dumps(ct.Text(text="v1"))))
    conn.execute("UPDATE messages SET content = NULL, recalled_at = 1 WHERE id = ?", (newer["id"],))  # the old recall
    rewind(conn, 5)
    assert schema.migrate(conn) == 5
    assert conn.execute("SELECT COUNT(*) FROM message_edits").fetchone()[0] == 0
    assert conn.execute("SELECT mentions FROM messages WHERE id = ?", (newer["id"],)).fetchone()[0] is None
    # b's newest unread mention is the one left.
    assert conn.execute("SELECT mention_seq FROM members WHERE conv_id = ? AND user_id = ?", (conv, b)).fetchone()[0] == older["seq"]

"""Uploaded files over HTTP (docs/files.md): upload, who may fetch, headers, ranges, limits,
thumbnails, collection. Requests go over a loopback socket to the real server."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
import trio
from PIL import Image

from chatd.client import ClientError
from chatd.services import file_gc

from .conftest import PASSWORD
from .test_http import Response, error_code, open_http, post_json, request



async def token_of(harness, name: str) -> str:
    resp = await post_json(harness, "/api/v1/auth/login", {"username": name, "password": PASSWORD})
    assert resp.status == 200, resp
    return resp.json()["token"]


async def upload(harness, token: str, data: bytes, content_type: str = "application/octet-stream") -> Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    return await request(harness, "POST", "/api/v1/files", data, headers)


async def fetch(harness, token: str | None, key: str, suffix: str = "", headers: dict[str, str] | None = None) -> Response:
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    return await request(harness, "GET", f"/api/v1/files/{key}{suffix}", None, h)


def png(width: int = 40, height: int = 30, color: Any = (200, 10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def stored_files(harness) -> list[Path]:
    root = Path(harness.server.cfg.data_path) / "files"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


def image_content(key: str) -> dict[str, Any]:
    return {"type": "image", "url": key}


async def test_upload_then_fetch_by_the_uploader(harness, users):
    alice = await token_of(harness, "alice")
    data = png()
    resp = await upload(harness, alice, data, "text/html")  # the client's word is not read
    assert resp.status == 201, resp
    sha = hashlib.sha256(data).hexdigest()
    assert resp.json() == {"key": f"chatd-file:{sha}", "size": len(data), "mime": "image/png", "width": 40, "height": 30}
    assert (Path(harness.server.cfg.data_path) / "files" / sha[:2] / sha).read_bytes() == data

    got = await fetch(harness, alice, f"chatd-file:{sha}")
    assert got.status == 200 and got.body == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == "inline"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    # The bare hex names it too; the same ETag answers 304.
    again = await fetch(harness, alice, sha, headers={"If-None-Match": got.headers["etag"]})
    assert again.status == 304 and again.body == b""


async def test_only_readers_of_a_message_that_names_it_may_fetch(harness, users):
    alice, bob, carol = [await token_of(harness, n) for n in ("alice", "bob", "carol")]
    key = (await upload(harness, alice, png())).json()["key"]
    assert error_code(await fetch(harness, bob, key)) == "not_found"
    unknown = "chatd-file:" + "0" * 64
    assert (await fetch(harness, bob, unknown)).status == 404  # the same answer as a file bob may not see

    async with harness.client("alice") as a1:
        m1 = await a1.request("chat_dm_send", {"peer": users["bob"], "content": image_content(key)})
        m2 = await a1.request("chat_dm_send", {"peer": users["bob"], "content": {"type": "file", "url": key, "name": "a.png"}})
        assert (await fetch(harness, bob, key)).status == 200
        assert (await fetch(harness, carol, key)).status == 404
        # Recalling one message leaves the other: the file stays readable through it.
        await a1.request("chat_dm_recall", {"peer": users["bob"], "msg_id": m1["message"]["id"]})
        assert (await fetch(harness, bob, key)).status == 200
        await a1.request("chat_dm_recall", {"peer": users["bob"], "msg_id": m2["message"]["id"]})
        assert (await fetch(harness, bob, key)).status == 404
        assert (await fetch(harness, alice, key)).status == 200  # the uploader always may


async def test_authentication(harness, users):
    data = png()
    resp = await request(harness, "POST", "/api/v1/files", data)
    assert resp.status == 401 and error_code(resp) == "auth_failed" and resp.headers["www-authenticate"].startswith("Bearer")
    resp = await upload(harness, "not-a-token", data)
    assert resp.status == 401 and error_code(resp) == "auth_failed"
    resp = await fetch(harness, None, "chatd-file:" + "a" * 64)
    assert resp.status == 401
    assert (await request(harness, "PUT", "/api/v1/files/" + "a" * 64)).status == 405
    assert stored_files(harness) == []


@pytest.mark.parametrize("config_overrides", [{"files": {"max_file_bytes": 1000}}])
async def test_size_limit_is_413_and_stores_nothing(harness, users):
    alice = await token_of(harness, "alice")
    assert (await upload(harness, alice, b"x" * 1000)).status == 201
    stored = stored_files(harness)
    # Declared too long: refused before the body is read.
    with trio.fail_after(10):
        http = await open_http(harness)
        async with http.stream:
            head = f"POST /api/v1/files HTTP/1.1\r\nHost: {http.host}\r\nAuthorization: Bearer {alice}\r\nContent-Length: 5000\r\n\r\n"
            await http.stream.send_all(head.encode())
            resp = await http.response()
    assert resp.status == 413 and error_code(resp) == "too_large"
    # Chunked, with no length: refused when it passes the limit.
    with trio.fail_after(10):
        http = await open_http(harness)
        async with http.stream:
            head = f"POST /api/v1/files HTTP/1.1\r\nHost: {http.host}\r\nAuthorization: Bearer {alice}\r\nTransfer-Encoding: chunked\r\n\r\n"
            await http.stream.send_all(head.encode() + b"400\r\n" + b"y" * 1024 + b"\r\n")
            resp = await http.response()
    assert resp.status == 413 and error_code(resp) == "too_large"
    await trio.sleep(0.2)
    assert stored_files(harness) == stored
    assert list((Path(harness.server.cfg.data_path) / "files" / "tmp").iterdir()) == []


@pytest.mark.parametrize("config_overrides", [{"files": {"user_quota_bytes": 1500}}])
async def test_quota_counts_distinct_uploads(harness, users):
    alice, bob = [await token_of(harness, n) for n in ("alice", "bob")]
    assert (await upload(harness, alice, b"a" * 1000)).status == 201
    assert (await upload(harness, alice, b"a" * 1000)).status == 201  # the same bytes again: no more room taken
    resp = await upload(harness, alice, b"b" * 1000)
    assert resp.status == 413 and error_code(resp) == "quota_exceeded"
    assert (await upload(harness, bob, b"b" * 1000)).status == 201  # bob's quota is his own
    assert len(stored_files(harness)) == 2


async def test_same_bytes_are_stored_once(harness, users):
    alice, bob = [await token_of(harness, n) for n in ("alice", "bob")]
    k1 = (await upload(harness, alice, png())).json()["key"]
    k2 = (await upload(harness, bob, png())).json()["key"]
    assert k1 == k2
    assert len([p for p in stored_files(harness) if not p.name.endswith(".thumb.png")]) == 1
    assert (await fetch(harness, bob, k1)).status == 200  # bob uploaded it too


def mp4(size: int) -> bytes:
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + bytes(i % 251 for i in range(size - len(head)))


async def test_ranges(harness, users):
    alice = await token_of(harness, "alice")
    data = mp4(5000)
    resp = await upload(harness, alice, data)
    assert resp.json()["mime"] == "video/mp4"
    key = resp.json()["key"]
    whole = await fetch(harness, alice, key)
    assert whole.status == 200 and whole.body == data and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["content-disposition"] == "attachment"
    part = await fetch(harness, alice, key, headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.body == data[10:20] and part.headers["content-range"] == "bytes 10-19/5000"
    tail = await fetch(harness, alice, key, headers={"Range": "bytes=-7"})
    assert tail.status == 206 and tail.body == data[-7:]
    rest = await fetch(harness, alice, key, headers={"Range": "bytes=4990-"})
    assert rest.status == 206 and rest.body == data[4990:]
    bad = await fetch(harness, alice, key, headers={"Range": "bytes=6000-"})
    assert bad.status == 416 and bad.headers["content-range"] == "bytes */5000"
    several = await fetch(harness, alice, key, headers={"Range": "bytes=0-1,5-6"})
    assert several.status == 200 and several.body == data


async def test_thumbnail_of_an_animation_is_its_first_frame(harness, users):
    alice = await token_of(harness, "alice")
    frames = [Image.new("RGB", (800, 400), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    resp = await upload(harness, alice, out.getvalue())
    assert resp.status == 201 and resp.json()["mime"] == "image/gif"
    assert (resp.json()["width"], resp.json()["height"]) == (800, 400)
    thumb = await fetch(harness, alice, resp.json()["key"], "/thumb")
    assert thumb.status == 200 and thumb.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(thumb.body))
    assert img.size == (320, 160)
    r, g, b = img.convert("RGB").getpixel((10, 10))
    assert r > 200 and b < 50
    # A file that is not an image has no thumbnail.
    other = (await upload(harness, alice, b"just some text, not an image")).json()["key"]
    assert (await fetch(harness, alice, other, "/thumb")).status == 404


@pytest.mark.parametrize("config_overrides", [{"files": {"gc_after_s": 0}}])
async def test_collecting_files_no_message_names(harness, users):
    alice, bob = [await token_of(harness, n) for n in ("alice", "bob")]
    kept = (await upload(harness, alice, png(color=(1, 2, 3)))).json()["key"]
    dropped = (await upload(harness, alice, png(color=(4, 5, 6)))).json()["key"]
    async with harness.client("alice") as a1:
        m1 = await a1.request("chat_dm_send", {"peer": users["bob"], "content": image_content(kept)})
        await a1.request("chat_dm_send", {"peer": users["bob"], "content": image_content(kept)})
        await a1.request("chat_dm_recall", {"peer": users["bob"], "msg_id": m1["message"]["id"]})
    assert await file_gc.collect_once(harness.server) == 1
    assert (await fetch(harness, alice, dropped)).status == 404
    assert (await fetch(harness, bob, kept)).status == 200
    names = {p.name for p in stored_files(harness)}
    sha = kept.split(":")[1]
    assert names == {sha, sha + ".thumb.png"}


@pytest.mark.parametrize("config_overrides", [{"server": {"http_body_timeout_s": 0.5, "http_body_min_bytes_per_s": 100_000}}])
async def test_a_long_upload_that_keeps_the_pace_is_not_cut_off(harness, users):
    alice = await token_of(harness, "alice")
    size = 40 * 10_000
    with trio.fail_after(20):
        http = await open_http(harness)
        async with http.stream:
            head = f"POST /api/v1/files HTTP/1.1\r\nHost: {http.host}\r\nAuthorization: Bearer {alice}\r\nContent-Length: {size}\r\n\r\n"
            await http.stream.send_all(head.encode())
            for _ in range(40):  # 200 KB/s for 2 s: past 0.5 s, but over the pace
                await http.stream.send_all(b"z" * 10_000)
                await trio.sleep(0.05)
            resp = await http.response()
    assert resp.status == 201, resp
    assert resp.json()["size"] == size
    # Slower than the pace: 408 once the deadline passes.
    with trio.fail_after(20):
        http = await open_http(harness)
        async with http.stream:
            await http.stream.send_all(head.encode())
            try:
                for _ in range(40):  # 20 KB/s
                    await http.stream.send_all(b"z" * 1_000)
                    await trio.sleep(0.05)
            except trio.BrokenResourceError:
                pass
            resp = await http.response()
    assert resp.status == 408


async def test_an_unauthenticated_upload_is_not_read(harness, users):
    """The 401 comes before the body is read, and the connection is closed with the body unread."""
    with trio.fail_after(10):
        http = await open_http(harness)
        async with http.stream:
            head = f"POST /api/v1/files HTTP/1.1\r\nHost: {http.host}\r\nContent-Length: 50000000\r\n\r\n"
            await http.stream.send_all(head.encode() + b"x" * 1000)
            resp = await http.response()
            assert resp.status == 401
            with trio.fail_after(2), pytest.raises((EOFError, trio.BrokenResourceError)):
                while True:
                    await http._fill()


async def test_a_message_may_name_only_a_file_its_sender_may_fetch(harness, users):
    """Knowing a key is not enough: sending it to oneself (or to anyone) would otherwise unlock the file."""
    alice = await token_of(harness, "alice")
    key = (await upload(harness, alice, png())).json()["key"]
    async with harness.client("bob") as b1:
        for k in (key, "chatd-file:" + "f" * 64):  # alice's file, and one nobody uploaded: the same answer
            with pytest.raises(ClientError) as exc:
                await b1.request("chat_dm_send", {"peer": users["carol"], "content": image_content(k)})
            assert (exc.value.code, exc.value.field) == ("not_found", "content")
        sent = await b1.request("chat_dm_send", {"peer": users["carol"], "content": {"type": "text", "text": "hi"}})
        with pytest.raises(ClientError) as exc:
            await b1.request("chat_dm_edit", {"peer": users["carol"], "msg_id": sent["message"]["id"], "content": {"type": "text", "text": key}})
        assert exc.value.code == "not_found"
        # Once alice shows it to bob, bob may pass it on, and carol may fetch it.
        async with harness.client("alice") as a1:
            await a1.request("chat_dm_send", {"peer": users["bob"], "content": image_content(key)})
        await b1.request("chat_dm_send", {"peer": users["carol"], "content": image_content(key)})
        carol = await token_of(harness, "carol")
        assert (await fetch(harness, carol, key)).status == 200


async def test_a_jpeg_gets_its_size_and_a_thumbnail(harness, users):
    alice = await token_of(harness, "alice")
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (10, 200, 10)).save(out, "JPEG", quality=80)
    resp = await upload(harness, alice, out.getvalue())
    assert resp.status == 201 and resp.json()["mime"] == "image/jpeg" and (resp.json()["width"], resp.json()["height"]) == (1200, 900)
    thumb = await fetch(harness, alice, resp.json()["key"], "/thumb")
    img = Image.open(io.BytesIO(thumb.body))
    assert img.format == "PNG" and img.size == (320, 240)
    assert list((Path(harness.server.cfg.data_path) / "files" / "tmp").iterdir()) == []


@pytest.mark.parametrize("config_overrides", [{"limits": {"send_burst": 10_000, "user_write_burst": 10_000}}])
async def test_a_reader_of_an_old_message_among_many_may_fetch(harness, users):
    """The messages that name a file are looked at from the reader's own conversations first."""
    alice, bob = [await token_of(harness, n) for n in ("alice", "bob")]
    key = (await upload(harness, alice, png())).json()["key"]
    async with harness.client("alice") as a1:
        await a1.request("chat_dm_send", {"peer": users["bob"], "content": image_content(key)})
        for _ in range(210):
            await a1.request("chat_dm_send", {"peer": users["carol"], "content": image_content(key)})
    assert (await fetch(harness, bob, key)).status == 200


@pytest.mark.parametrize("config_overrides", [{"files": {"gc_after_s": 1, "gc_interval_s": 1}}])
async def test_the_server_collects_on_its_own(harness, users):
    alice = await token_of(harness, "alice")
    key = (await upload(harness, alice, b"nobody will name this")).json()["key"]
    with trio.fail_after(10):
        while (await fetch(harness, alice, key)).status == 200:
            await trio.sleep(0.2)
    assert stored_files(harness) == []


@pytest.mark.parametrize("config_overrides", [{"limits": {"user_write_rate_per_s": 0.01, "user_write_burst": 10}}])
async def test_uploads_take_from_the_users_write_budget(harness, users):
    alice = await token_of(harness, "alice")
    for n in range(2):  # 5 each
        assert (await upload(harness, alice, b"file %d" % n)).status == 201
    resp = await upload(harness, alice, b"one too many")
    assert resp.status == 429 and error_code(resp) == "rate_limited" and int(resp.headers["retry-after"]) >= 1
    async with harness.client("alice") as a1:  # the budget is the one the WebSocket takes from
        with pytest.raises(ClientError) as exc:
            await a1.request("chat_dm_send", {"peer": users["bob"], "content": {"type": "text", "text": "hi"}})
        assert exc.value.code == "rate_limited"

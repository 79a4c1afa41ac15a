"""Hostile uploads (docs/files.md, "Hostile files"): each is refused with a documented error,
or stored and served only as an attachment of type application/octet-stream (or its own
raster image type), with nosniff and a sandbox, so a browser never runs it."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from .test_files import fetch, png, stored_files, token_of, upload
from .test_http import error_code

HTML_AS_PNG = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script><rect width='10' height='10'/></svg>"
)
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(1)</script></html>" * 10  # a PNG signature, not a PNG


def assert_harmless(resp, *, inline_image: str | None = None) -> None:
    assert resp.status == 200, resp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in resp.headers["content-security-policy"]
    if inline_image:
        assert resp.headers["content-type"] == inline_image and resp.headers["content-disposition"] == "inline"
    else:
        assert resp.headers["content-type"] == "application/octet-stream"
        assert resp.headers["content-disposition"] == "attachment"


@pytest.mark.parametrize(
    "name, data",
    [("html sent as a PNG", HTML_AS_PNG), ("svg with a script", SVG_WITH_SCRIPT), ("PNG signature over HTML", FAKE_PNG)],
)
async def test_markup_is_served_only_as_an_attachment(harness, users, name, data):
    alice = await token_of(harness, "alice")
    resp = await upload(harness, alice, data, "image/png")
    assert resp.status == 201, resp
    body = resp.json()
    assert body["mime"] not in ("image/png", "image/jpeg", "image/gif", "image/webp") and "width" not in body
    got = await fetch(harness, alice, body["key"])
    assert_harmless(got)
    assert got.body == data
    assert (await fetch(harness, alice, body["key"], "/thumb")).status == 404


async def test_a_polyglot_image_is_served_as_the_image_it_decodes_as(harness, users):
    """A real PNG with HTML after its end: a browser given image/png and nosniff shows an image, never a page."""
    alice = await token_of(harness, "alice")
    data = png() + HTML_AS_PNG
    resp = await upload(harness, alice, data)
    assert resp.status == 201 and resp.json()["mime"] == "image/png"
    assert_harmless(await fetch(harness, alice, resp.json()["key"]), inline_image="image/png")
    thumb = await fetch(harness, alice, resp.json()["key"], "/thumb")
    assert HTML_AS_PNG not in thumb.body  # the thumbnail is drawn anew from the pixels


@pytest.mark.parametrize("config_overrides", [{"files": {"max_image_pixels": 20_000_000}}])
async def test_a_decompression_bomb_is_refused(harness, users):
    """A 100-megapixel PNG of one colour compresses to a few kilobytes."""
    alice = await token_of(harness, "alice")
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG", optimize=True)
    assert len(out.getvalue()) < 100_000
    resp = await upload(harness, alice, out.getvalue())
    assert resp.status == 413 and error_code(resp) == "too_large" and resp.json()["error"]["field"] == "pixels"
    assert stored_files(harness) == []


async def test_a_zip_bomb_is_stored_and_never_opened(harness, users):
    alice = await token_of(harness, "alice")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * 20_000_000)
    data = out.getvalue()
    assert len(data) < 100_000
    resp = await upload(harness, alice, data)
    assert resp.status == 201 and resp.json()["size"] == len(data)
    got = await fetch(harness, alice, resp.json()["key"])
    assert_harmless(got)
    assert got.body == data

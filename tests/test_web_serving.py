"""The web client as served over HTTP: the page, its content-hashed assets and their caching,
the Content-Security-Policy, the JavaScript budget, the package data, and the first start's
setup route (chatd.http.web, chatd.http.setup). The client itself runs in tests/test_web_browser.py."""

from __future__ import annotations

import base64
import fnmatch
import gzip
import hashlib
import json
import re
import tomllib
import urllib.request
from pathlib import Path

import pytest
import trio

from chatd.http.web import WEB_DIR, WebClient

from .conftest import PASSWORD
from .helpers_proc import add_user, serve
from .test_http import error_code, post_json, request

ROOT = Path(__file__).resolve().parent.parent
JS_BUDGET_GZIP = 100 * 1024
IMPORT_MAP_RE = re.compile(r'<script type="importmap">(.*?)</script>', re.S)


def _import_map(html: str) -> dict:
    return json.loads(IMPORT_MAP_RE.search(html).group(1))["imports"]


async def test_the_page_is_served_at_root_with_a_strict_policy(harness):
    resp = await request(harness, "GET", "/")
    assert resp.status == 200, resp
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["x-content-type-options"] == "nosniff"
    html = resp.body.decode()
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["style-src"] == "'self'" and csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    # The import map is the one inline script, allowed by its hash; no inline style anywhere.
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"
    assert "<style" not in html and " style=" not in html and " on" not in re.sub(r"<script.*?</script>", "", html, flags=re.S).lower().replace("<noscript", "")


async def test_assets_are_named_by_their_content_and_cached_for_good(harness):
    html = (await request(harness, "GET", "/")).body.decode()
    imports = _import_map(html)
    assert {"preact", "preact/hooks", "htm", "/assets/protocol.js", "/assets/main.js"} <= set(imports)
    urls = set(imports.values()) | set(re.findall(r'(?:src|href)="(/assets/[^"]+)"', html))
    assert len(urls) >= 10
    for url in urls:
        name = url.rsplit("/", 1)[1]
        assert re.fullmatch(r"[\w-]+\.[0-9a-f]{16}\.(js|css)", name), url
        resp = await request(harness, "GET", url)
        assert resp.status == 200, (url, resp)
        assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert resp.headers["content-type"].startswith("text/javascript" if url.endswith(".js") else "text/css")
        digest = name.split(".")[-2]
        assert hashlib.sha256(resp.body).hexdigest()[:16] == digest
        zipped = await request(harness, "GET", url, headers={"Accept-Encoding": "gzip, deflate"})
        assert zipped.headers["content-encoding"] == "gzip" and gzip.decompress(zipped.body) == resp.body
    # A name whose hash is not the file's (an old version, a guess) is not found.
    stale = re.sub(r"\.[0-9a-f]{16}\.", ".0000000000000000.", imports["/assets/main.js"])
    assert (await request(harness, "GET", stale)).status == 404
    assert (await request(harness, "GET", "/assets/main.js")).status == 404

    def head() -> tuple[int, str, bytes]:
        with urllib.request.urlopen(urllib.request.Request(harness.http_url + "/", method="HEAD"), timeout=10) as resp:
            return resp.status, resp.headers["content-length"], resp.read()

    status, length, body = await trio.to_thread.run_sync(head)
    assert status == 200 and int(length) > 0 and body == b""


def test_the_javascript_stays_within_its_budget():
    """Issue 15's bound: all the JavaScript a browser loads, gzip-compressed, at most 100 KB."""
    size = WebClient().js_gzip_bytes()
    print(f"web client JavaScript: {size} bytes gzip")
    assert size <= JS_BUDGET_GZIP


def test_vendored_libraries_keep_their_licenses():
    vendor = WEB_DIR / "vendor"
    for name, license_file in (("preact.js", "LICENSE-preact"), ("hooks.js", "LICENSE-preact"), ("htm.js", "LICENSE-htm")):
        first = (vendor / name).read_text().splitlines()[0]
        assert "License" in first and license_file in first, first
        assert (vendor / license_file).stat().st_size > 500


def test_every_file_of_the_client_is_package_data():
    """A non-editable install ships what chatd/web/ holds (pyproject.toml's package-data)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["chatd"]
    files = [p.relative_to(ROOT / "chatd").as_posix() for p in WEB_DIR.rglob("*") if p.is_file()]
    assert "web/index.html" in files
    missing = [f for f in files if not any(fnmatch.fnmatchcase(f, pat) and "/" not in f[len(pat.rsplit("/", 1)[0]) + 1 :] for pat in patterns)]
    assert not missing


# -- the first start's setup ------------------------------------------------------------------


async def test_setup_creates_the_administrator_once(harness):
    setup = harness.server.http.asgi_app.setup
    assert (await request(harness, "GET", "/api/v1/setup")).json() == {"needed": False}
    token = await setup.issue()
    assert token and (await request(harness, "GET", "/api/v1/setup")).json() == {"needed": True}

    wrong = await post_json(harness, "/api/v1/setup", {"token": "x" + token, "username": "root", "password": PASSWORD})
    assert wrong.status == 401 and error_code(wrong) == "auth_failed"
    short = await post_json(harness, "/api/v1/setup", {"token": token, "username": "root", "password": "short"})
    assert short.status == 400 and short.json()["error"]["field"] == "password"
    spaced = await post_json(harness, "/api/v1/setup", {"token": token, "username": "a b", "password": PASSWORD})
    assert spaced.status == 400 and spaced.json()["error"]["field"] == "username"
    not_json = await request(harness, "POST", "/api/v1/setup", json.dumps({"token": token}).encode(), {"Content-Type": "text/plain"})
    assert not_json.status == 415

    made = await post_json(harness, "/api/v1/setup", {"token": token, "username": "root", "password": PASSWORD})
    assert made.status == 201, made
    assert made.json()["user"]["name"] == "root" and made.json()["user"]["is_admin"] is True
    async with harness.client("root") as root:
        assert root.user["is_admin"] is True

    again = await post_json(harness, "/api/v1/setup", {"token": token, "username": "root2", "password": PASSWORD})
    assert again.status == 409 and error_code(again) == "conflict"
    assert (await request(harness, "GET", "/api/v1/setup")).json() == {"needed": False}
    assert await setup.issue() is None  # an administrator exists: no token is made


async def test_an_administrator_made_otherwise_ends_the_setup(harness):
    token = await harness.server.http.asgi_app.setup.issue()
    await harness.add_user("boss", admin=True)  # as `chatd user add boss --admin` while the server runs
    assert (await request(harness, "GET", "/api/v1/setup")).json() == {"needed": False}
    resp = await post_json(harness, "/api/v1/setup", {"token": token, "username": "x", "password": PASSWORD})
    assert resp.status == 409
    assert await harness.server.http.asgi_app.setup.issue() is None


@pytest.mark.parametrize("config_overrides", [{"auth": {"address_failures": 3}}])
async def test_guessing_the_setup_token_is_rate_limited_like_logins(harness, config_overrides):
    token = await harness.server.http.asgi_app.setup.issue()
    codes = []
    for i in range(5):
        resp = await post_json(harness, "/api/v1/setup", {"token": f"guess-{i}", "username": "root", "password": PASSWORD})
        codes.append(resp.status)
    assert codes[:3] == [401, 401, 401] and codes[3] == 429, codes
    # Even the right token waits now, as the right password would.
    resp = await post_json(harness, "/api/v1/setup", {"token": token, "username": "root", "password": PASSWORD})
    assert resp.status == 429 and "retry-after" in resp.headers
    assert (await request(harness, "GET", "/api/v1/setup")).json() == {"needed": True}  # nothing was made


async def test_serve_prints_the_setup_token_only_without_an_administrator(tmp_path):
    data = tmp_path / "data"
    async with serve(data) as served:
        line = await served.wait_for_line("setup token")
        token = line.rsplit(" ", 1)[1]
        assert f"open {served.http_url}/ in a browser" in line and len(token) >= 20
    await add_user(data, "boss", PASSWORD, admin=True)
    async with serve(data) as served:
        await served.wait_for_line("database:")
        served.send_signal(15)
        lines = await served.read_rest()
        assert not any("setup token" in line for line in lines), lines


async def test_the_push_service_worker_is_served_at_the_root(harness):
    """Web Push's service worker (docs/push.md) must sit at /sw.js for the page's scope, and a new
    version must reach browsers at once: no long caching, and nothing it may load or embed."""
    resp = await request(harness, "GET", "/sw.js")
    assert resp.status == 200, resp
    assert resp.headers["content-type"] == "text/javascript; charset=utf-8"
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["content-security-policy"] == "default-src 'none'"
    assert resp.body == (WEB_DIR / "sw.js").read_bytes()
    assert b"addEventListener('push'" in resp.body and b"getNotifications" in resp.body
    assert (await request(harness, "GET", "/sw2.js")).status == 404

"""The web client (chatd/web/) served at `/`: index.html and its assets, with no build step.

At start every file of chatd/web/ is read once and named by its content:
`/assets/<path>.<sha256 prefix>.<ext>`, served with `Cache-Control: public,
max-age=31536000, immutable` (and gzip-compressed when the browser accepts it).
index.html is served for `/` with `no-cache`: its import map sends every module
name, bare (`preact`) or relative (`./protocol.js`, which resolves to
`/assets/protocol.js`), to the hashed name of the file, so the modules need no
rewriting. The import map is the page's only inline script; the
Content-Security-Policy allows it by its SHA-256 and nothing else inline
(docs/web.md).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
ASSETS = "/assets/"
SERVICE_WORKER = "/sw.js"  # the Web Push service worker (chatd/web/sw.js; docs/push.md)
IMMUTABLE = b"public, max-age=31536000, immutable"
_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
}
# The module names the vendored libraries are imported by.
_BARE = {"preact": "vendor/preact.js", "preact/hooks": "vendor/hooks.js", "htm": "vendor/htm.js"}
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class Asset:
    def __init__(self, body: bytes, content_type: bytes):
        self.body = body
        self.gzipped = gzip.compress(body, 9, mtime=0)
        self.content_type = content_type


class WebClient:
    """The files of the web client, read and hashed once; `response` answers a GET."""

    def __init__(self, root: Path = WEB_DIR):
        self.assets: dict[str, Asset] = {}  # hashed URL path -> asset
        self.urls: dict[str, str] = {}  # file path relative to root -> hashed URL path
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.suffix not in _TYPES or path.name == "index.html":
                continue
            rel = path.relative_to(root).as_posix()
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:16]
            url = f"{ASSETS}{rel[: -len(path.suffix)]}.{digest}{path.suffix}"
            self.urls[rel] = url
            self.assets[url] = Asset(body, _TYPES[path.suffix])
        imports = {name: self.urls[rel] for name, rel in _BARE.items()}
        imports.update({ASSETS + rel: url for rel, url in self.urls.items() if rel.endswith(".js")})
        import_map = json.dumps({"imports": imports}, indent=1, sort_keys=True)
        script_hash = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
        self.csp = (
            "default-src 'none'; "
            f"script-src 'self' 'sha256-{script_hash}'; "
            "style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
            "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ).encode()
        html = (root / "index.html").read_text(encoding="utf-8")
        for rel, url in self.urls.items():
            html = html.replace(f'"{ASSETS}{rel}"', f'"{url}"')
        html = html.replace("<!--importmap-->", f'<script type="importmap">{import_map}</script>')
        self.index = Asset(html.encode(), b"text/html; charset=utf-8")

    def serves(self, path: str) -> bool:
        return path in ("/", SERVICE_WORKER) or path.startswith(ASSETS)

    def response(self, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """(status, headers, body) for a GET of `path` (one that `serves`)."""
        if path == "/":
            asset, extra = self.index, [(b"cache-control", b"no-cache"), (b"content-security-policy", self.csp), (b"x-frame-options", b"DENY")]
        elif path == SERVICE_WORKER:  # at the root, for the scope of the whole page; never cached for long
            asset, extra = self.assets[self.urls["sw.js"]], [(b"cache-control", b"no-cache"), (b"content-security-policy", b"default-src 'none'")]
        else:
            found = self.assets.get(path)
            if found is None:
                body = b"not found"
                return 404, [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")], body
            asset, extra = found, [(b"cache-control", IMMUTABLE)]
        body, out = asset.body, [(b"content-type", asset.content_type), (b"vary", b"accept-encoding"), *_COMMON_HEADERS, *extra]
        if _accepts_gzip(headers):
            body = asset.gzipped
            out.append((b"content-encoding", b"gzip"))
        out.append((b"content-length", str(len(body)).encode()))
        return 200, out, body

    def js_gzip_bytes(self) -> int:
        """The JavaScript a browser downloads, gzip-compressed (the budget in docs/web.md)."""
        return sum(len(a.gzipped) for url, a in self.assets.items() if url.endswith(".js"))


def _accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"accept-encoding":
            for part in value.decode("latin-1").lower().split(","):
                coding, _, params = part.strip().partition(";")
                if coding.strip() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0"):
                    return True
    return False


async def send_response(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

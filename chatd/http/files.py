"""Uploaded files over HTTP (docs/files.md): POST /api/v1/files, GET /api/v1/files/{key} and .../thumb.

Both are authenticated by a login token, `Authorization: Bearer <token>` (a token from
POST /api/v1/auth/login or a WebSocket login); an unknown token answers 401 and counts as a
failed login of the client's address (chatd.services.login_guard).

An upload's body is read chunk by chunk as it comes; the chunks are kept as they came
(never copied into one buffer on the event loop) until UPLOAD_BUFFER bytes are held, then
hashed and written to a temporary file under the data directory in a worker thread (at
most UPLOAD_THREADS for all uploads). All uploads together are read at no more than
files.upload_bytes_per_s (chatd.http.pace), so that they leave the event loop to the
WebSocket connections; chatd.media sniffs, probes and stores the file.

Fetching answers 404 to anyone who may not see the file (chatd.core.files), as for a key
never uploaded. Files are sent in SEND_CHUNK pieces, each read in a worker thread; a single
byte range is honoured (206).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from ..core import files as files_core
from ..errors import ChatError
from ..net.forwarded import client_ip
from ..policy.login_throttle import address_key
from ..store import uploads
from ..store import users as users_store
from .pace import BytePace

if TYPE_CHECKING:
    from ..server import Server

PREFIX = "/api/v1/files"
UPLOAD_BUFFER = 1024 * 1024
UPLOAD_CHUNKS = 256  # a batch is written when it holds UPLOAD_BUFFER bytes or this many chunks
UPLOAD_THREADS = 2  # worker threads hashing and writing uploads at once, for all uploads together
UPLOAD_BURST = 4 * UPLOAD_BUFFER  # bytes that pass files.upload_bytes_per_s at once after an idle time
SEND_CHUNK = 256 * 1024
UPLOAD_COST = 5  # taken from the user's write budget (limits.user_write_rate_per_s), shared with the WebSocket
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})  # = chatd.media.INLINE_TYPES


def served_type(mime: str) -> str:
    """The Content-Type a file is served with: its own for raster images, audio and video; octet-stream otherwise."""
    if mime in INLINE_TYPES or (mime.startswith(("audio/", "video/")) and "xml" not in mime):
        return mime
    return "application/octet-stream"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == name]
    return values[0] if len(values) == 1 else None


class Streamed:
    """A response whose body is a file on disk (or a range of it), sent in chunks."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], path: Any = None, start: int = 0, length: int = 0):
        self.status, self.headers, self.path, self.start, self.length = status, headers, path, start, length

    async def send(self, send: Any) -> None:
        headers = [*self.headers, (b"content-length", str(self.length).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        if self.path is None or self.length == 0:
            await send({"type": "http.response.body", "body": b""})
            return
        async with await trio.open_file(self.path, "rb") as f:
            await f.seek(self.start)
            left = self.length
            while left > 0:
                chunk = await f.read(min(SEND_CHUNK, left))
                if not chunk:  # the file shrank under us: end the response short (the client sees it)
                    raise ChatError("unavailable", "the file is not complete on disk")
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})


def parse_range(value: str | None, size: int) -> tuple[int, int] | None | bool:
    """A single `bytes=` range as (start, length); None to send the whole file; False when unsatisfiable."""
    if value is None or not value.startswith("bytes=") or "," in value:
        return None
    first, sep, last = value[6:].strip().partition("-")
    if not sep or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return False
        return max(0, size - n), min(n, size)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end - start + 1


class Files:
    def __init__(self, server: Server, trusted_proxies: Any):
        self.server = server
        self.trusted_proxies = trusted_proxies
        self.disk = trio.CapacityLimiter(UPLOAD_THREADS)
        self.pace = BytePace(server.cfg.files.upload_bytes_per_s, UPLOAD_BURST)

    async def bearer(self, scope: dict[str, Any]) -> dict[str, Any]:
        value = _header(scope, b"authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ChatError("auth_failed", "send your login token as Authorization: Bearer <token>")
        client = scope.get("client")
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        addr = address_key(client_ip(client[0] if client else "", forwarded, self.trusted_proxies))
        guard = self.server.ctx.services.login_guard
        guard.check(addr, None)
        user = await self.server.readers.read(users_store.token_user, token.strip())
        if user is None or user["disabled"]:
            guard.failed(addr, None)
            raise ChatError("auth_failed", "unknown or expired token")
        return user

    async def upload(self, scope: dict[str, Any], receive: Any) -> tuple[int, Any]:
        from .. import media

        user = await self.bearer(scope)
        wait_ms = self.server.write_budget.take(user["id"], UPLOAD_COST)
        if wait_ms:
            raise ChatError("rate_limited", "too many requests from this user; slow down", retry_after_ms=wait_ms)
        cfg = self.server.cfg
        limit = cfg.files.max_file_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ChatError("too_large", f"a file may have at most {limit} bytes (files.max_file_bytes)")
        spool = await trio.to_thread.run_sync(media.Spool, cfg.files_path, cfg.file_mode)
        try:
            chunks: list[bytes] = []
            held = 0  # bytes in chunks
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ChatError("bad_request", "the client went away")
                chunk = message.get("body", b"")
                if spool.size + held + len(chunk) > limit:
                    raise ChatError("too_large", f"a file may have at most {limit} bytes (files.max_file_bytes)")
                if chunk:
                    chunks.append(chunk)  # kept as it came: no copy on the event loop
                    held += len(chunk)
                more = message.get("more_body", False)
                if held >= UPLOAD_BUFFER or len(chunks) >= UPLOAD_CHUNKS or (chunks and not more):
                    batch, chunks, n = chunks, [], held
                    held = 0
                    await trio.to_thread.run_sync(spool.write, batch, limiter=self.disk)
                    await self.pace.take(n)  # files.upload_bytes_per_s, shared by all uploads
                if not more:
                    break
            if spool.size == 0:
                raise ChatError("bad_request", "the file is empty")
            quota = cfg.files.user_quota_bytes
            if quota:
                await self.server.readers.read(_check_quota, user["id"], spool.hash.hexdigest(), spool.size, quota)
            try:
                stored = await trio.to_thread.run_sync(spool.seal, cfg.files.max_image_pixels, cfg.files.thumb_px)
            except media.ImageTooLarge as exc:
                raise ChatError("too_large", f"the image is over files.max_image_pixels ({exc})", field="pixels") from None
            async with self.server.files_lock:  # not while the collector removes files (chatd.services.file_gc)
                # The row first: a collector on any node that looks after this commit sees the
                # upload, and one that dropped the rows before it has moved the file aside or
                # will find it recorded again (chatd.services.file_gc).
                await self.server.writer.submit(
                    uploads.op_record, user["id"], stored.sha256, stored.size, stored.mime, stored.width, stored.height, quota
                )
                await trio.to_thread.run_sync(spool.place, stored)
        except BaseException:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(spool.discard)
            raise
        out: dict[str, Any] = {"key": f"chatd-file:{stored.sha256}", "size": stored.size, "mime": stored.mime}
        if stored.width is not None:
            out["width"], out["height"] = stored.width, stored.height
        return 201, out

    async def fetch(self, scope: dict[str, Any], receive: Any) -> tuple[int, Any]:
        from .. import media

        rest = scope["path"][len(PREFIX) + 1:]
        key, _, tail = rest.partition("/")
        sha = uploads.sha_of_key(key) or uploads.sha_of_key("chatd-file:" + key)
        if tail not in ("", "thumb") or sha is None:
            raise ChatError("not_found", f"no route {scope['path']}")
        user = await self.bearer(scope)
        meta = await self.server.readers.read(files_core.may_read, user["id"], sha)
        thumb = tail == "thumb"
        if meta is None or (thumb and meta["width"] is None):
            raise ChatError("not_found", "no such file")
        root = self.server.cfg.files_path
        path = media.thumb_path_of(root, sha) if thumb else media.path_of(root, sha)
        try:
            size = (await trio.Path(path).stat()).st_size
        except FileNotFoundError:
            raise ChatError("not_found", "no such file") from None
        mime = "image/png" if thumb else meta["mime"]
        etag = f'"{sha}{"-thumb" if thumb else ""}"'.encode()
        headers = [
            (b"content-type", served_type(mime).encode()),
            (b"content-disposition", b"inline" if mime in INLINE_TYPES else b"attachment"),
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", b"sandbox; default-src 'none'"),
            (b"cache-control", b"private, no-cache"),
            (b"etag", etag),
            (b"accept-ranges", b"bytes"),
        ]
        if (_header(scope, b"if-none-match") or "").encode() == etag:
            return 0, Streamed(304, headers)
        wanted = parse_range(_header(scope, b"range"), size)
        if wanted is False:
            return 0, Streamed(416, [*headers, (b"content-range", f"bytes */{size}".encode())])
        if wanted:
            start, length = wanted  # type: ignore[misc]
            crange = f"bytes {start}-{start + length - 1}/{size}".encode()
            return 0, Streamed(206, [*headers, (b"content-range", crange)], path, start, length)
        return 0, Streamed(200, headers, path, 0, size)


def _check_quota(conn: Any, user_id: int, sha256: str, size: int, quota: int) -> None:
    if not uploads.has_upload(conn, user_id, sha256) and uploads.used_bytes(conn, user_id) + size > quota:
        raise ChatError("quota_exceeded", f"your uploads would pass your quota of {quota} bytes (files.user_quota_bytes)")

"""Uploaded files on disk: content-addressed storage, type sniffing, image sizes and thumbnails.

A file lives at FILES/<aa>/<sha256 hex> (aa: the first two hex digits; FILES is
files.directory, by default DATA_DIR/files, and may be shared by several nodes), its
thumbnail, when it is an image, beside it as <sha256 hex>.thumb.png. An upload is written
to FILES/tmp/ while it is hashed and renamed into place when complete, so a
partial upload is never seen under a key. The collector moves a file aside (FILES/tmp/)
before it deletes it, and puts it back when the database says it was uploaded again
meanwhile (chatd.services.file_gc). Everything here blocks (disk, Pillow): callers
run it in a worker thread.

The type is sniffed from the bytes (puremagic); the client's Content-Type is never read.
An image type is believed only when Pillow decodes the image: a file that sniffs as PNG
but does not decode is stored as application/octet-stream. Pillow's decompression-bomb
check is an error here (files.max_image_pixels), never a warning. Pillow and puremagic are
imported at the first upload, not at start (docs/memory.md).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

OCTET = "application/octet-stream"
# Raster image types that Pillow must decode, and that are served inline.
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
INLINE_TYPES = frozenset(IMAGE_FORMATS.values())
THUMB_SUFFIX = ".thumb.png"
IOV_BATCH = 512  # buffers given to one os.writev (Linux takes at most 1,024)


class ImageTooLarge(Exception):
    """An image whose pixel count is over files.max_image_pixels (a decompression bomb or just huge)."""


@dataclass
class Stored:
    sha256: str
    size: int
    mime: str
    width: int | None = None
    height: int | None = None


def path_of(root: Path, sha256: str) -> Path:
    """Where a file is, in the files directory `root` (Config.files_path)."""
    return root / sha256[:2] / sha256


def thumb_path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / (sha256 + THUMB_SUFFIX)


class Spool:
    """A temporary file being written and hashed, chunk by chunk (each write from a worker thread)."""

    def __init__(self, root: Path, file_mode: int):
        tmp = root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.file_mode = file_mode
        self.path = tmp / f"up-{os.getpid()}-{os.urandom(8).hex()}"
        self.thumb = self.path.with_name(self.path.name + THUMB_SUFFIX)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, file_mode)
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunks: list[bytes]) -> None:
        """Hash and append the chunks as they came (no copy into one buffer): os.writev, IOV_BATCH at a time."""
        for chunk in chunks:
            self.hash.update(chunk)
        for lo in range(0, len(chunks), IOV_BATCH):
            views = [memoryview(c) for c in chunks[lo : lo + IOV_BATCH] if c]
            while views:
                n = os.writev(self.fd, views)
                self.size += n
                while views and n >= len(views[0]):
                    n -= len(views[0])
                    views.pop(0)
                if n:
                    views[0] = views[0][n:]

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        for path in (self.path, self.thumb):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def seal(self, max_pixels: int, thumb_px: int) -> Stored:
        """Sync and close, sniff, probe an image and draw its thumbnail, all still in the temporary directory.

        Raises ImageTooLarge (the spool is discarded)."""
        try:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1
            stored = Stored(self.hash.hexdigest(), self.size, sniff(self.path))
            if stored.mime in INLINE_TYPES:
                probe_image(self.path, stored, max_pixels)
            if stored.width is not None:
                make_thumbnail(self.path, self.thumb, max_pixels, thumb_px, self.file_mode)
        except BaseException:
            self.discard()
            raise
        return stored

    def place(self, stored: Stored) -> None:
        """Move the file (and its thumbnail) under its key, or drop them when the same bytes are there."""
        final = path_of(self.root, stored.sha256)
        final.parent.mkdir(exist_ok=True)
        pairs = [(self.path, final)]
        if stored.width is not None:
            pairs.append((self.thumb, thumb_path_of(self.root, stored.sha256)))
        for source, target in pairs:
            if target.exists():
                os.unlink(source)
            else:
                os.replace(source, target)
        fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)  # the renames reach the disk before the upload is answered
        finally:
            os.close(fd)


def sniff(path: Path) -> str:
    """The media type the bytes say (the most confident of puremagic's guesses), or octet-stream."""
    import puremagic

    try:
        guesses = puremagic.magic_file(str(path))
    except (puremagic.PureError, ValueError):
        return OCTET
    for guess in guesses:
        if guess.mime_type:
            return guess.mime_type.lower()
    return OCTET


def _open(path: Path, max_pixels: int) -> Image.Image:
    from PIL import Image

    # Pillow refuses past twice MAX_IMAGE_PIXELS and warns past it: the warning is made an
    # error (process-wide, for this category only), and the caller checks the pixels itself.
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc)) from None
    if img.width * img.height > max_pixels:
        img.close()
        raise ImageTooLarge(f"{img.width}x{img.height} pixels is over {max_pixels}")
    return img


def probe_image(path: Path, stored: Stored, max_pixels: int) -> None:
    """Record width and height when Pillow decodes the image as the type sniffed; otherwise octet-stream."""
    try:
        with _open(path, max_pixels) as img:
            if IMAGE_FORMATS.get(img.format or "") != stored.mime:
                stored.mime = OCTET
                return
            img.load()  # decodes the first frame: a truncated or corrupt image fails here
            stored.width, stored.height = img.width, img.height
    except ImageTooLarge:
        raise
    except Exception:  # Pillow raises many kinds on hostile input
        stored.mime = OCTET
        stored.width = stored.height = None


def make_thumbnail(source: Path, target: Path, max_pixels: int, thumb_px: int, file_mode: int) -> None:
    """A PNG of at most thumb_px on its longer side, from the first frame of an animation."""
    with _open(source, max_pixels) as img:
        img.seek(0)
        img.draft(None, (thumb_px, thumb_px))  # a JPEG decodes at a fraction of its size; others ignore it
        frame = img.convert("RGBA") if img.mode in ("RGBA", "LA", "P", "PA") else img.convert("RGB")
        frame.thumbnail((thumb_px, thumb_px))
        tmp = target.with_name(target.name + f".{os.urandom(4).hex()}.tmp")
        frame.save(tmp, "PNG")
        os.chmod(tmp, file_mode)
        os.replace(tmp, target)


def clean_tmp(root: Path, max_age_s: float) -> None:
    """Remove temporary upload files older than max_age_s (left by a crash)."""
    import time

    tmp = root / "tmp"
    if not tmp.is_dir():
        return
    limit = time.time() - max_age_s
    for entry in os.scandir(tmp):
        try:
            if entry.stat().st_mtime < limit:
                os.unlink(entry.path)
        except FileNotFoundError:
            pass


def _pairs(root: Path, sha256: str, token: str) -> list[tuple[Path, Path]]:
    """A file and its thumbnail, each with where the collector moves it aside."""
    return [(path, root / "tmp" / f"gc-{token}-{path.name}") for path in (path_of(root, sha256), thumb_path_of(root, sha256))]


def set_aside(root: Path, sha256: str) -> str:
    """Move a file (and its thumbnail) out of its key, into the temporary directory; the token
    that names them there, for `restore` or `drop`."""
    token = os.urandom(6).hex()
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    for path, aside in _pairs(root, sha256, token):
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            pass
    return token


def restore(root: Path, sha256: str, token: str) -> None:
    """Put back what set_aside moved: the same bytes (a file's name is its hash), so an upload
    that placed them again meanwhile is simply replaced by them."""
    for path, aside in _pairs(root, sha256, token):
        try:
            os.replace(aside, path)
        except FileNotFoundError:
            pass


def drop(root: Path, sha256: str, token: str) -> None:
    for _, aside in _pairs(root, sha256, token):
        try:
            os.unlink(aside)
        except FileNotFoundError:
            pass

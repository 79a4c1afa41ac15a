"""`chatd backup` and `chatd restore` (docs/operations.md).

A backup is a directory: `chatd.sqlite3` (a consistent copy of the live database, taken with
the server running), `files/` (the uploaded files and thumbnails that copy names) and
`manifest.json` (chatd's version, the schema version, and the size and sha256 of every file).

Restore refuses while a server holds the data directory, checks every checksum of the
manifest and the copy's `integrity_check` before it touches anything, and refuses a database
newer than this chatd. The database it replaces, if any, is kept beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config
from .store import snapshot
from .store.files import DataDirLock, make_data_dir
from .store.schema import LATEST

MANIFEST = "manifest.json"
DB_NAME = "chatd.sqlite3"
FORMAT = 1


class BackupError(Exception):
    """The backup or the restore cannot be done: the message says why, for the operator."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(cfg: Config, dest: Path) -> dict[str, Any]:
    """Write a backup of cfg's data directory into dest (a new or empty directory). Returns its manifest."""
    if not cfg.db_path.is_file():
        raise BackupError(f"there is no database at {cfg.db_path}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    db_copy = dest / DB_NAME
    snapshot.copy_database(cfg.db_path, db_copy)
    os.chmod(db_copy, cfg.file_mode)
    entries: dict[str, dict[str, Any]] = {DB_NAME: {"size": db_copy.stat().st_size, "sha256": _sha256(db_copy)}}
    missing: list[str] = []
    source_files = cfg.files_path
    for sha in snapshot.upload_hashes(db_copy):
        folder = source_files / sha[:2]
        names = sorted(p.name for p in folder.glob(sha + "*")) if folder.is_dir() else []
        if sha not in names:  # collected after the copy was taken, or lost before it
            missing.append(sha)
        for name in names:
            rel = f"files/{sha[:2]}/{name}"
            target = dest / rel
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copyfile(folder / name, target)
            entries[rel] = {"size": target.stat().st_size, "sha256": _sha256(target)}
    manifest = {
        "format": FORMAT,
        "chatd_version": __version__,
        "schema_version": snapshot.schema_version(db_copy),
        "created_at": int(time.time()),
        "files": entries,
        "missing_uploads": missing,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def verify(src: Path) -> dict[str, Any]:
    """Read src's manifest and check every file it lists and the database's integrity. Returns the manifest."""
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} has no {MANIFEST}: it is not a chatd backup") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {src / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{src / MANIFEST} is not a manifest this chatd reads (format {FORMAT})")
    if DB_NAME not in manifest["files"]:
        raise BackupError(f"the manifest lists no {DB_NAME}")
    for rel, entry in manifest["files"].items():
        path = src / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise BackupError(f"the manifest names a file outside the backup: {rel}")
        if not path.is_file():
            raise BackupError(f"{rel} is listed in the manifest but missing from {src}")
        if path.stat().st_size != entry.get("size") or _sha256(path) != entry.get("sha256"):
            raise BackupError(f"{rel} does not match its checksum in the manifest: the backup is damaged")
    if errors := snapshot.integrity_errors(src / DB_NAME):
        raise BackupError(f"the database in {src} fails its integrity check: {'; '.join(errors[:5])}")
    version = snapshot.schema_version(src / DB_NAME)
    if version > LATEST:
        raise BackupError(f"the backup's database is at schema version {version}, but this chatd knows only up to {LATEST}: restore it with a newer chatd")
    return manifest


def restore(cfg: Config, src: Path, *, replace: bool = False) -> Path | None:
    """Put the backup at src into cfg's data directory. Returns where the replaced database was kept, if any.

    Refused while a server runs on the directory (its lock is held for the whole restore)."""
    manifest = verify(src)
    make_data_dir(cfg.data_path, cfg.dir_mode)
    lock = DataDirLock.acquire(cfg.data_path, cfg.file_mode)  # raises DataDirInUse beside a server
    try:
        db = cfg.db_path
        kept: Path | None = None
        if db.exists():
            if not replace:
                raise BackupError(f"{db} exists: pass --replace to put the backup in its place (the old database is kept beside it)")
            kept = db.with_name(f"{db.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}")
            snapshot.copy_database(db, kept)
            os.chmod(kept, cfg.file_mode)
        incoming = db.with_name(db.name + ".restoring")
        shutil.copyfile(src / DB_NAME, incoming)
        os.chmod(incoming, cfg.file_mode)
        with open(incoming, "rb+") as f:
            os.fsync(f.fileno())
        for suffix in ("-wal", "-shm"):  # the old database's journal must not be replayed into the new one
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        os.replace(incoming, db)
        _fsync_dir(db.parent)
        for rel in manifest["files"]:
            if rel == DB_NAME:
                continue
            target = cfg.files_path / rel.removeprefix("files/")
            if not target.exists():
                target.parent.mkdir(mode=cfg.dir_mode, parents=True, exist_ok=True)
                shutil.copyfile(src / rel, target)
                os.chmod(target, cfg.file_mode)
        return kept
    finally:
        lock.release()

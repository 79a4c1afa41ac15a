"""The data directory on disk: its permissions, the server's lock on it, and a write probe.

- The directory is created with storage.dir_mode (0700) and the database file with
  storage.file_mode (0600); SQLite gives its -wal and -shm files the database file's mode.
  An existing directory or database keeps its mode; a warning names what it grants beyond
  the configured mode.
- One `chatd serve` per data directory: it holds an exclusive lock (flock) on
  `chatd.lock` in the directory, which records its PID, for its whole life. The lock is
  the kernel's: it goes away with the process, however that ends. The `chatd user`
  commands take no lock of their own; they write through SQLite's locking beside a
  running server.
- write_probe: one small committed write, to learn whether the database can be written.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger("chatd.store")

LOCK_NAME = "chatd.lock"


class StartupError(Exception):
    """The data directory or the database cannot be used: the message says which and why."""


class DataDirInUse(StartupError):
    pass


def parse_mode(value: str) -> int:
    """An octal permission mode written as text ("0600", "600", "0o600")."""
    text = value.strip().lower().removeprefix("0o")
    if not text or len(text) > 4 or any(ch not in "01234567" for ch in text):
        raise ValueError(f"expected an octal mode such as 0600, got {value!r}")
    return int(text, 8)


def _extra_bits(path: Path, allowed: int) -> int:
    return os.stat(path).st_mode & 0o777 & ~allowed


def make_data_dir(path: Path, dir_mode: int) -> None:
    """Create the data directory with dir_mode (its parents as the umask says), or check an existing one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, dir_mode)
        except FileExistsError:
            if not path.is_dir():
                raise StartupError(f"the data directory {path} exists but is not a directory") from None
            extra = _extra_bits(path, dir_mode)
            if extra:
                log.warning(
                    "the data directory %s has mode %04o, which grants %04o beyond storage.dir_mode %04o: "
                    "local users other than chatd's may reach the database; it is left as it is (chmod %o %s)",
                    path, os.stat(path).st_mode & 0o777, extra, dir_mode, dir_mode, path,
                )
        else:
            os.chmod(path, dir_mode)  # exactly, whatever the umask
    except OSError as exc:
        raise StartupError(f"cannot create the data directory {path}: {exc.strerror or exc}") from None


def make_private_file(path: Path, file_mode: int, *, what: str = "file") -> bool:
    """Create an empty file with file_mode unless it exists. Returns whether it was created.

    An existing file keeps its mode; a warning names what it grants beyond file_mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, file_mode)
    except FileExistsError:
        try:
            extra = _extra_bits(path, file_mode)
        except OSError:
            return False
        if extra and path.is_file():
            log.warning(
                "the %s %s has mode %04o, which grants %04o beyond storage.file_mode %04o (chmod %o %s)",
                what, path, os.stat(path).st_mode & 0o777, extra, file_mode, file_mode, path,
            )
        return False
    except OSError as exc:
        raise StartupError(f"cannot create the {what} {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, file_mode)  # exactly, whatever the umask
    finally:
        os.close(fd)
    return True


class DataDirLock:
    """An exclusive flock on DATA_DIR/chatd.lock, holding the PID of the server that has it."""

    def __init__(self, fd: int, path: Path):
        self.fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: Path, file_mode: int) -> DataDirLock:
        path = data_dir / LOCK_NAME
        make_private_file(path, file_mode, what="lock file")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise StartupError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                who = f"pid {holder}" if holder else "a process whose pid is not recorded yet"
                raise DataDirInUse(
                    f"the data directory {data_dir} is in use by another chatd serve ({who}; lock file {path}); "
                    "run one server per data directory"
                ) from None
            raise StartupError(f"cannot lock {path}: {exc.strerror or exc}") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            os.close(fd)
            raise StartupError(f"cannot write the lock file {path}: {exc.strerror or exc}") from None
        return cls(fd, path)

    def release(self) -> None:
        """Let the next server start. The file stays: removing it could let two servers lock two different files."""
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def write_probe(conn: sqlite3.Connection) -> None:
    """Commit one small write that changes nothing: it reaches the disk (the WAL) as any commit does.

    Raises sqlite3.Error when the database cannot be written (read-only, disk full, I/O error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        probe_op(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        raise


def probe_op(conn: sqlite3.Connection) -> None:
    """Dirty one page and put it back as it was: the commit still writes the page.

    (An UPDATE to the same value would write nothing: SQLite skips unchanged cells.)"""
    conn.execute("UPDATE search_state SET indexed_upto = indexed_upto + 1")
    conn.execute("UPDATE search_state SET indexed_upto = indexed_upto - 1")


# Errors of SQLite that mean "this database cannot be written now", as opposed to a bug.
WRITE_FAILURES = {
    getattr(sqlite3, name)
    for name in ("SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_PERM", "SQLITE_CORRUPT", "SQLITE_NOTADB")
    if hasattr(sqlite3, name)
}


def is_write_failure(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and (code & 0xFF) in WRITE_FAILURES

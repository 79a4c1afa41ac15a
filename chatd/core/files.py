"""Who may fetch an uploaded file: its uploader, or a user who can read a message that names it.

A message names a file when its content holds the file's key (chatd.store.uploads keeps
the index, file_refs); whether the user can read that message is chatd.core.message_reads'
rule, the one chat_message_get follows. Anyone else is told the file does not exist.

A message may name only files its sender may fetch (check_keys, in the send and edit
ops): knowing a file's key is not enough to get it by sending it to oneself.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import ChatError
from ..store import uploads
from . import message_reads


def may_read(conn: sqlite3.Connection, user_id: int, sha256: str) -> dict[str, Any] | None:
    """The file's size, mime, width and height when user_id may fetch it; None otherwise."""
    meta = uploads.info(conn, sha256)
    if meta is None:
        return None
    if uploads.has_upload(conn, user_id, sha256):
        return meta
    for msg_id in uploads.referencing(conn, sha256, user_id):
        try:
            message_reads.readable(conn, msg_id, user_id)
        except ChatError:
            continue
        return meta
    return None


def check_keys(conn: sqlite3.Connection, user_id: int, content: bytes | None) -> None:
    """Refuse content that names a file the user may not fetch (or that does not exist): not_found."""
    for sha in sorted(uploads.keys_in(content)):
        if may_read(conn, user_id, sha) is None:
            raise ChatError("not_found", f"no such file: chatd-file:{sha[:12]}…; upload it first (POST /api/v1/files)", field="content")

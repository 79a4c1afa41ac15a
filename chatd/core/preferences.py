"""A user's preferences that others may read: the language they want messages translated into
(chat_translation_language_set / _get). chatd ships no translation engine: bots and clients
that translate read it (docs/protocol.md, "Translation language")."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from ..errors import ChatError
from ..store import users
from .effects import Outcome, Users

# A BCP 47 language tag as clients send them (zh-CN, en, pt-BR, zh-Hant-TW), or '' for none.
_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,4}")


def checked_language(language: str) -> str:
    if language and not _TAG.fullmatch(language):
        raise ChatError("bad_request", "a BCP 47 language tag such as zh-CN or en, or empty for none", field="language")
    return language


def op_translation_language_set(ctx: Any, user_id: int, language: str) -> Outcome:
    users.set_translation_language(ctx.conn, user_id, language)
    out = Outcome({"language": language})
    out.push("chat_translation_language_update", {"language": language}, Users((user_id,)))
    return out


def translation_languages(conn: sqlite3.Connection, user_ids: list[int]) -> dict[str, Any]:
    found = users.translation_languages(conn, user_ids)
    return {"languages": [{"user_id": uid, "language": found[uid]} for uid in dict.fromkeys(user_ids) if uid in found]}

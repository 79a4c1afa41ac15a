"""A user's preferences others may read (chatd.core.preferences)."""

from __future__ import annotations

from typing import Any

from ..core import preferences
from . import Call, handler


@handler("chat_translation_language_set")
async def translation_language_set(call: Call) -> dict[str, Any]:
    language = preferences.checked_language(call.data.language)
    return await call.write(preferences.op_translation_language_set, call.user_id, language)  # type: ignore[no-any-return]


@handler("chat_translation_language_get")
async def translation_language_get(call: Call) -> dict[str, Any]:
    return await call.ctx.readers.read(preferences.translation_languages, call.data.user_ids)  # type: ignore[no-any-return]

"""What only bots may do (docs/bots.md): stream messages and offer slash commands. Pure: no trio,
no sqlite3."""

from __future__ import annotations

from typing import Any

from ..errors import ChatError

BOT_ONLY = {
    "chat_stream_begin": "only bots stream messages (chatd bot add)",
    "chat_bot_commands_set": "only bots offer commands (chatd bot add)",
}


def require_bot(user: dict[str, Any], wire: str) -> None:
    """Raises forbidden unless the user is a bot account."""
    if not user.get("is_bot"):
        raise ChatError("forbidden", BOT_ONLY[wire])

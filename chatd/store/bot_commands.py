"""The slash commands each bot offers (docs/bots.md), and the bots in a conversation."""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from .users import USER_COLS, public_user, user_row


def replace(conn: sqlite3.Connection, bot_id: int, commands: list[dict[str, Any]]) -> None:
    conn.execute("DELETE FROM bot_commands WHERE bot_id = ?", (bot_id,))
    conn.executemany(
        "INSERT INTO bot_commands (bot_id, name, position, description, params) VALUES (?, ?, ?, ?, ?)",
        [(bot_id, c["name"], i, c["description"], msgspec.json.encode(c["params"]).decode()) for i, c in enumerate(commands)],
    )


def bots_in(conn: sqlite3.Connection, conv_id: int) -> list[int]:
    """The bots that are members of a conversation."""
    rows = conn.execute("SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id WHERE m.conv_id = ? AND u.is_bot = 1 AND u.disabled = 0", (conv_id,))
    return [r[0] for r in rows]


def of_bots(conn: sqlite3.Connection, bot_ids: list[int]) -> list[dict[str, Any]]:
    """Their commands, each with its bot, by bot then in the bot's order."""
    if not bot_ids:
        return []
    marks = ",".join("?" * len(bot_ids))
    cols = "u." + USER_COLS.replace(", ", ", u.")
    rows = conn.execute(
        f"SELECT c.name, c.description, c.params, {cols} FROM bot_commands c JOIN users u ON u.id = c.bot_id "
        f"WHERE c.bot_id IN ({marks}) ORDER BY c.bot_id, c.position",
        bot_ids,
    ).fetchall()
    return [{"bot": public_user(user_row(r[3:])), "name": r[0], "description": r[1], "params": msgspec.json.decode(r[2])} for r in rows]  # type: ignore[arg-type]


def has(conn: sqlite3.Connection, bot_id: int, name: str) -> bool:
    return conn.execute("SELECT 1 FROM bot_commands WHERE bot_id = ? AND name = ?", (bot_id, name)).fetchone() is not None

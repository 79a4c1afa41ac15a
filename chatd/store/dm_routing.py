"""Who answers a bot's DM (docs/bots.md, "Handover"): the bot, or a human agent who took it over
(chat_dm_handover) until it is released (chat_dm_release). One row per bot DM that was ever
handed over; a DM without a row is answered by its bot. Each change adds one to `version`, made
by a conditional UPDATE on the version and mode this transaction read, so two agents taking the
same DM at once cannot both win."""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from ..errors import ChatError
from .users import get_users, public_user

# The migration (chatd.store.migrations): the routing of each bot DM handed over at least once,
# and the agents of each bot (`chatd bot agents`), besides `bots.handover_agents`.
MIGRATION = """
CREATE TABLE IF NOT EXISTS dm_routing (
    conv_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    bot_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mode TEXT NOT NULL DEFAULT 'bot',
    agent_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    bot_mode TEXT NOT NULL DEFAULT 'on',
    version INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL,
    changed_by INTEGER,
    note TEXT
);
CREATE INDEX IF NOT EXISTS dm_routing_agent ON dm_routing(agent_id) WHERE mode = 'agent';
CREATE TABLE IF NOT EXISTS bot_agents (
    bot_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (bot_id, user_id)
) WITHOUT ROWID;
"""

# Joined into a DM's access check and send (chatd.store.dm): the routing of a DM handed over now.
JOIN = "LEFT JOIN dm_routing r ON r.conv_id = c.id AND r.mode = 'agent'"
COLS = "r.user_id, r.bot_id, r.agent_id, r.bot_mode"


class Routed(NamedTuple):
    """A DM handed over now: its user, its bot, the agent answering for the bot, and whether the
    bot still gets the DM's pushes (bot_mode observe) or not (off)."""

    user_id: int
    bot_id: int
    agent_id: int
    bot_hears: bool

    @classmethod
    def of(cls, cols: tuple[Any, ...]) -> Routed | None:
        """From the COLS of a row (None: the DM is not handed over)."""
        user_id, bot_id, agent_id, bot_mode = cols
        if bot_id is None or agent_id is None:
            return None
        return cls(user_id, bot_id, agent_id, bot_mode == "observe")

    def hearing(self) -> list[tuple[int, int]]:
        """Who hears the DM now, each with the user it is talking to (a push's `peer`): the user
        (talking to the bot, as ever), the bot if it observes, and the agent (talking to the user)."""
        out = [(self.user_id, self.bot_id)]
        if self.bot_hears:
            out.append((self.bot_id, self.user_id))
        out.append((self.agent_id, self.user_id))
        return out

    def across(self, me: int) -> tuple[int, ...]:
        """Those on the other side of the DM from `me`: the bot's side (the agent, and the bot
        if it observes) for the user; the user for anyone else."""
        if me == self.user_id:
            return tuple(uid for uid, _ in self.hearing() if uid != self.user_id)
        return (self.user_id,)


def routed(conn: sqlite3.Connection, conv_id: int) -> Routed | None:
    """The routing of a DM handed over now (None: its bot answers it)."""
    row = conn.execute(f"SELECT {COLS} FROM (SELECT ? AS id) c {JOIN}", (conv_id,)).fetchone()
    return Routed.of(row)


_STATE = "SELECT user_id, bot_id, mode, agent_id, bot_mode, version, changed_at, note FROM dm_routing WHERE conv_id = ?"


def state(conn: sqlite3.Connection, conv_id: int) -> dict[str, Any] | None:
    row = conn.execute(_STATE, (conv_id,)).fetchone()
    if row is None:
        return None
    user_id, bot_id, mode, agent_id, bot_mode, version, changed_at, note = row
    return {"user_id": user_id, "bot_id": bot_id, "mode": mode, "agent_id": agent_id, "bot_mode": bot_mode, "version": version, "changed_at": changed_at, "note": note}


def wire(conn: sqlite3.Connection, conv_id: int, st: dict[str, Any] | None, user_id: int = 0, bot_id: int = 0) -> dict[str, Any]:
    """The DMRouting of the registry (a DM never handed over: mode bot, version 0)."""
    if st is None:
        st = {"user_id": user_id, "bot_id": bot_id, "mode": "bot", "agent_id": None, "bot_mode": "on", "version": 0, "changed_at": 0, "note": None}
    agent = get_users(conn, [st["agent_id"]]).get(st["agent_id"]) if st["agent_id"] else None
    return {
        "conv_id": conv_id, "user_id": st["user_id"], "bot_id": st["bot_id"], "mode": st["mode"],
        "agent": public_user(agent) if agent else None, "bot_mode": st["bot_mode"], "version": st["version"],
        "changed_at": st["changed_at"], "note": st["note"],
    }


def of_convs(conn: sqlite3.Connection, conv_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The routing of those of these DMs ever handed over (for their conversation entries)."""
    if not conv_ids:
        return {}
    marks = ",".join("?" * len(conv_ids))
    rows = conn.execute(f"SELECT conv_id FROM dm_routing WHERE conv_id IN ({marks})", conv_ids).fetchall()
    return {conv_id: wire(conn, conv_id, state(conn, conv_id)) for (conv_id,) in rows}


def hand_over(ctx: Any, conv_id: int, user_id: int, bot_id: int, agent_id: int, bot_mode: str, version: int, note: str | None) -> None:
    """Route the DM to the agent, if it is still at `version` and answered by its bot (or by an
    agent whose account is gone)."""
    cur = ctx.conn.execute(
        "INSERT INTO dm_routing (conv_id, user_id, bot_id, mode, agent_id, bot_mode, version, changed_at, changed_by, note) "
        "VALUES (?, ?, ?, 'agent', ?, ?, 1, ?, ?, ?) ON CONFLICT(conv_id) DO UPDATE SET mode = 'agent', agent_id = excluded.agent_id, "
        "bot_mode = excluded.bot_mode, version = version + 1, changed_at = excluded.changed_at, changed_by = excluded.changed_by, "
        "note = excluded.note WHERE dm_routing.version = ? AND (dm_routing.mode = 'bot' OR dm_routing.agent_id IS NULL)",
        (conv_id, user_id, bot_id, agent_id, bot_mode, ctx.now, agent_id, note, version),
    )
    if cur.rowcount != 1:
        raise ChatError("conflict", "the conversation's routing changed meanwhile", field="bot_id")


def release(ctx: Any, conv_id: int, by: int, version: int, note: str | None) -> None:
    """Route the DM back to its bot, if it is still at `version` and handed over."""
    cur = ctx.conn.execute(
        "UPDATE dm_routing SET mode = 'bot', agent_id = NULL, bot_mode = 'on', version = version + 1, changed_at = ?, changed_by = ?, "
        "note = ? WHERE conv_id = ? AND version = ? AND mode = 'agent'",
        (ctx.now, by, note, conv_id, version),
    )
    if cur.rowcount != 1:
        raise ChatError("conflict", "the conversation's routing changed meanwhile", field="bot_id")


# -- the agents of one bot (`chatd bot agents NAME [USER ...]`) ------------------------------------


def bot_agents(conn: sqlite3.Connection, bot_id: int) -> frozenset[int]:
    return frozenset(r[0] for r in conn.execute("SELECT user_id FROM bot_agents WHERE bot_id = ?", (bot_id,)))


def bot_agent_names(conn: sqlite3.Connection, bot_id: int) -> list[str]:
    rows = conn.execute("SELECT u.name FROM bot_agents a JOIN users u ON u.id = a.user_id WHERE a.bot_id = ? ORDER BY u.name", (bot_id,))
    return [r[0] for r in rows]


def set_bot_agents(conn: sqlite3.Connection, bot_id: int, names: list[str]) -> None:
    """The bot's agents are these users (by name; not_found names the first unknown one)."""
    ids = []
    for name in names:
        row = conn.execute("SELECT id, is_bot FROM users WHERE name = ?", (name,)).fetchone()
        if row is None or row[1]:
            raise ChatError("not_found", f"no user named {name!r} (a bot cannot be an agent)", field="name")
        ids.append(row[0])
    conn.execute("DELETE FROM bot_agents WHERE bot_id = ?", (bot_id,))
    conn.executemany("INSERT OR IGNORE INTO bot_agents (bot_id, user_id) VALUES (?, ?)", [(bot_id, uid) for uid in ids])

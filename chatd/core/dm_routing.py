"""Handover of a bot's DM to a human agent and back (chat_dm_handover, chat_dm_release;
docs/bots.md, "Handover"): the writer ops. Who may is chatd.policy.bots; the state is
chatd.store.dm_routing; what the routing changes for the DM's pushes and sends is decided where
every DM's are (chatd.store.dm's access check, chatd.core.kinds' pair pushes).

Each op changes the routing by a conditional UPDATE on what it read, pushes
`chat_dm_routing_changed` to every party, and a handover ends the bot's streams running in the DM
(the `HandedOver` effect, applied at its commit: no delta of the bot is taken after it)."""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy.bots import require_handover, require_release
from ..store import conversations as conv_store
from ..store import dm as dm_store
from ..store import dm_routing
from ..store.users import get_users
from .effects import HandedOver, Outcome, Users


def _bot(conn: Any, user_id: int, bot_id: int) -> dict[str, Any] | None:
    """The user row of `bot_id` (None: no such user); not_found without the user."""
    if user_id == bot_id:
        raise ChatError("bad_request", "a direct message needs another user: peer and bot_id differ", field="bot_id")
    users = get_users(conn, [user_id, bot_id])
    if user_id not in users:
        raise ChatError("not_found", f"no user with id {user_id}", field="peer")
    return users.get(bot_id)


def _conv(conn: Any, user_id: int, bot_id: int) -> int:
    conv_id = dm_store.find_conv(conn, user_id, bot_id)
    if conv_id is None:
        raise ChatError("not_found", "no conversation between this user and this bot yet", field="peer")
    return conv_id


def _changed(ctx: Any, out: Outcome, conv_id: int, by: int, previous: int | None) -> dict[str, Any]:
    """The routing as it is now: the response's, and chat_dm_routing_changed to every party."""
    routing = dm_routing.wire(ctx.conn, conv_id, dm_routing.state(ctx.conn, conv_id))
    seq = conv_store.last_seq(ctx.conn, conv_id)
    agent = routing["agent"]["id"] if routing["agent"] else None
    parties = {routing["user_id"], routing["bot_id"], by} | {a for a in (agent, previous) if a is not None}
    out.push("chat_dm_routing_changed", {**routing, "seq": seq, "previous_agent_id": previous, "by": by}, Users(tuple(parties)))
    return {"routing": routing, "seq": seq, "changed": True}


def op_handover(ctx: Any, actor: dict[str, Any], user_id: int, bot_id: int, agents: frozenset[str], bot_mode: str, note: str | None) -> Outcome:
    conn = ctx.conn
    bot = _bot(conn, user_id, bot_id)
    require_handover(actor, agents, user_id, bot, dm_routing.bot_agents(conn, bot_id) if bot else frozenset())
    conv_id = _conv(conn, user_id, bot_id)
    st = dm_routing.state(conn, conv_id)
    if st is not None and st["mode"] == "agent" and st["agent_id"] is not None:
        if st["agent_id"] == actor["id"]:  # held by this agent already: as it stands
            return Outcome({"routing": dm_routing.wire(conn, conv_id, st), "seq": conv_store.last_seq(conn, conv_id), "changed": False})
        raise ChatError("conflict", "another agent is handling this conversation", field="bot_id")
    dm_routing.hand_over(ctx, conv_id, user_id, bot_id, actor["id"], bot_mode, 0 if st is None else st["version"], note)
    out = Outcome()
    out.effects.append(HandedOver(conv_id, actor["id"]))
    out.result = _changed(ctx, out, conv_id, actor["id"], None)
    return out


def op_release(ctx: Any, actor: dict[str, Any], user_id: int, bot_id: int, note: str | None) -> Outcome:
    conn = ctx.conn
    bot = _bot(conn, user_id, bot_id)
    if bot is None or not bot["is_bot"]:
        raise ChatError("not_found", "no bot with this id", field="bot_id")
    conv_id = _conv(conn, user_id, bot_id)
    st = dm_routing.state(conn, conv_id)
    holder = st["agent_id"] if st is not None and st["mode"] == "agent" else None  # (None too: an agent whose account is gone)
    require_release(actor, holder)
    assert st is not None
    dm_routing.release(ctx, conv_id, actor["id"], st["version"], note)
    out = Outcome()
    out.result = _changed(ctx, out, conv_id, actor["id"], holder)
    return out

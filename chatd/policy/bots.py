"""What only bots may do (docs/bots.md): stream messages and offer slash commands; and who may
hand a bot's DM over to a human agent and back, and what the bot may not do meanwhile. Pure: no trio,
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


# -- handover (docs/bots.md, "Handover"): who may take a bot's DM over, and give it back ------------


def require_handover(
    actor: dict[str, Any], agents: frozenset[str] | set[str], user_id: int, bot: dict[str, Any] | None, bot_agents: frozenset[int] = frozenset()
) -> None:
    """Raises unless `actor` may take over the DM between user `user_id` and `bot`: server admins,
    the users named in `[bots] handover_agents` and the bot's own agents (`bot_agents`, user ids:
    `chatd bot agents`) may, never a bot (the bot itself included) and never the DM's own user;
    `bot` must be a bot account (not_found otherwise)."""
    if bot is None or not bot.get("is_bot"):
        raise ChatError("not_found", "no bot with this id", field="bot_id")
    if actor.get("is_bot"):
        raise ChatError("forbidden", "a bot cannot take over a conversation", field="bot_id")
    if actor["id"] == user_id:
        raise ChatError("forbidden", "the DM's own user cannot take it over", field="peer")
    if not (actor.get("is_admin") or actor["name"].lower() in agents or actor["id"] in bot_agents):
        raise ChatError("forbidden", "only server admins, the users named in [bots] handover_agents and the bot's agents (chatd bot agents) take over a bot's DM", field="bot_id")


def require_release(actor: dict[str, Any], agent_id: int | None) -> None:
    """Raises unless `actor` may give the DM back to its bot: it is handed over (`agent_id`, the
    agent answering it; None when its bot answers: conflict), and the actor is that agent or a
    server admin."""
    if agent_id is None:
        raise ChatError("conflict", "the conversation is not handed over: its bot answers it", field="bot_id")
    if actor["id"] != agent_id and not actor.get("is_admin"):
        raise ChatError("forbidden", "only the agent handling the conversation, or a server admin, releases it", field="bot_id")


def require_bot_may_send(sender_id: int, bot_id: int | None) -> None:
    """A bot may not send into its DM while it is handed over (`bot_id`: the bot of a DM handed
    over now, None otherwise)."""
    if bot_id is not None and sender_id == bot_id:
        raise ChatError("handed_over", "an agent is handling this conversation: the bot may not send into it until it is released")

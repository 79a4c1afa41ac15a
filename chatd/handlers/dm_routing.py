"""Handover of a bot's DM to a human agent and back (chat_dm_handover, chat_dm_release;
docs/bots.md, "Handover"). The ops are chatd.core.dm_routing."""

from __future__ import annotations

from typing import Any

from ..core import dm_routing
from . import Call, handler


@handler("chat_dm_handover")
async def handover(call: Call) -> dict[str, Any]:
    d, bots = call.data, call.ctx.cfg.bots
    agents = frozenset(name.lower() for name in bots.handover_agents)
    return await call.write(dm_routing.op_handover, call.session.user, d.peer, d.bot_id, agents, bots.handover_bot_mode, d.note)  # type: ignore[no-any-return]


@handler("chat_dm_release")
async def release(call: Call) -> dict[str, Any]:
    d = call.data
    return await call.write(dm_routing.op_release, call.session.user, d.peer, d.bot_id, d.note)  # type: ignore[no-any-return]

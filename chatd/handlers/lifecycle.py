"""Connection lifecycle: login, heartbeat, ping."""

from __future__ import annotations

from typing import Any

from .. import auth
from ..errors import ChatError
from ..store.db import now_ms
from ..store.users import public_user
from . import Call, handler


@handler("login")
async def login(call: Call) -> dict[str, Any]:
    session, ctx, data = call.session, call.ctx, call.data
    if session.user is not None:
        raise ChatError("already_logged_in", "this connection is already logged in")
    address = session.conn.peer.rpartition(":")[0]  # peer is "host:port"
    user, token = await auth.login(ctx, username=data.username, password=data.password, token=data.token, device=data.device, address=address, via="ws")
    if session.conn.closing:
        raise ChatError("unavailable", "the connection is closing")
    session.user = user
    session.device = data.device
    session.codec = call.codec
    session.token = token
    if ctx.hub.add(session):
        await ctx.services.user_presence.announce(user["id"], True)
    cfg = ctx.cfg.server
    out = {
        "user": public_user(user),
        "session_id": session.id,
        "token": token,
        "server_time": now_ms(),
        "heartbeat_interval_s": cfg.heartbeat_interval_s,
        "heartbeat_timeout_s": cfg.heartbeat_timeout_s,
    }
    vapid_public_key = ctx.services.push.public_key  # for Web Push subscriptions (docs/push.md)
    if vapid_public_key:
        out["vapid_public_key"] = vapid_public_key
    return out


@handler("heartbeat")
async def heartbeat(call: Call) -> dict[str, Any]:
    return {"server_time": now_ms()}


@handler("ping")
async def ping(call: Call) -> dict[str, Any]:
    return {"pong": True, "server_time": now_ms()}

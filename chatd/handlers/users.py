"""Finding users (user_search)."""

from __future__ import annotations

from typing import Any

from ..store import users as users_store
from . import Call, handler


@handler("user_search")
async def user_search(call: Call) -> dict[str, Any]:
    d = call.data
    return {"users": await call.ctx.readers.read(users_store.search, d.query, d.limit)}

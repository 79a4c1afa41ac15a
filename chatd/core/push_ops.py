"""Push devices and push settings (docs/push.md): the writer ops and reads of the device_push
commands. Delivery is chatd.services.push's."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..store import push as store
from .effects import Outcome


def op_register(ctx: Any, user_id: int, token: str, kind: str, endpoint: str, keys: tuple[str, str], pushkey: str, app_id: str, most: int) -> Outcome:
    return Outcome({"device": store.register(ctx, user_id, token, kind, endpoint, keys, pushkey, app_id, most)})


def op_unregister(ctx: Any, user_id: int, device_id: int) -> Outcome:
    store.unregister(ctx.conn, user_id, device_id)
    return Outcome({"device_id": device_id})


def op_settings_set(ctx: Any, user_id: int, dnd: bool | None, groups: str | None, previews: bool | None, default_previews: bool) -> Outcome:
    store.set_settings(ctx.conn, user_id, dnd, groups, previews)
    return Outcome({"settings": store.settings(ctx.conn, user_id, default_previews)})


def listing(conn: sqlite3.Connection, user_id: int, default_previews: bool) -> dict[str, Any]:
    return {"devices": store.devices(conn, user_id), "settings": store.settings(conn, user_id, default_previews)}

"""Push devices and settings (device_push; chatd.core.push_ops, docs/push.md)."""

from __future__ import annotations

from typing import Any

from ..core import push_ops
from ..errors import ChatError
from ..policy.push import missing_device_field
from ..push import webpush
from . import Call, handler


@handler("push_device_register")
async def register(call: Call) -> dict[str, Any]:
    d, ctx = call.data, call.ctx
    missing = missing_device_field(d.kind, d.p256dh, d.auth, d.pushkey, d.app_id)
    if missing is not None:
        raise ChatError("bad_request", missing[1], field=missing[0])
    keys = webpush.check_keys(d.p256dh, d.auth) if d.kind != "gateway" else ("", "")
    cfg = ctx.cfg.push
    await webpush.resolve(d.endpoint, cfg.allow_private_endpoints, cfg.connect_timeout_s)  # refused here, and checked again at every delivery
    out = await call.write(push_ops.op_register, call.user_id, call.session.token, d.kind, d.endpoint, keys, d.pushkey, d.app_id, cfg.max_devices_per_user)
    push = ctx.services.push
    push.registered(call.user_id)
    return {**out, "vapid_public_key": push.vapid.public_key if push.vapid else ""}


@handler("push_device_unregister")
async def unregister(call: Call) -> dict[str, Any]:
    return await call.write(push_ops.op_unregister, call.user_id, call.data.device_id)  # type: ignore[no-any-return]


@handler("push_device_list")
async def device_list(call: Call) -> dict[str, Any]:
    ctx = call.ctx
    out = await ctx.readers.read(push_ops.listing, call.user_id, ctx.cfg.push.previews)
    push = ctx.services.push
    return {**out, "vapid_public_key": push.vapid.public_key if push.vapid else ""}


@handler("push_settings_set")
async def settings_set(call: Call) -> dict[str, Any]:
    d = call.data
    if d.dnd is None and d.groups is None and d.previews is None:
        raise ChatError("bad_request", "give at least one of dnd, groups, previews", field="dnd")
    return await call.write(push_ops.op_settings_set, call.user_id, d.dnd, d.groups, d.previews, call.ctx.cfg.push.previews)  # type: ignore[no-any-return]

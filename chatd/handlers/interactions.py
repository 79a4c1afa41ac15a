"""A reader's button clicks and form submissions, pushed to the message's sender (docs/bots.md)."""

from __future__ import annotations

from typing import Any

from ..core import interactions
from ..core.effects import Users
from ..core.validate import check_rate
from . import Call, handler


@handler("chat_button_click")
async def button_click(call: Call) -> dict[str, Any]:
    check_rate(call.session)
    d = call.data
    sender, data = await call.ctx.readers.read(interactions.click, d.msg_id, call.session.user, d.value)
    call.push("chat.button.click", data, Users((sender,)), skip_origin=False)
    return {"msg_id": d.msg_id, "delivered": call.ctx.hub.online(sender)}


@handler("chat_form_submit")
async def form_submit(call: Call) -> dict[str, Any]:
    check_rate(call.session)
    d = call.data
    sender, data = await call.ctx.readers.read(interactions.submit, d.msg_id, call.session.user, d.values)
    call.push("chat.form.submit", data, Users((sender,)), skip_origin=False)
    return {"msg_id": d.msg_id, "values": data["values"], "delivered": call.ctx.hub.online(sender)}

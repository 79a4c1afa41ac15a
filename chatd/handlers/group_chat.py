"""Group chat: chat_group_send, history, search, conversations, mark_read, mute_set,
pin_set, typing, edit, recall, delete and react. The semantics are those of every
conversation with members (chatd.chat); the group kind supplies the membership check."""

from __future__ import annotations

from typing import Any

from .. import chat
from . import Call, handler
from .group_common import GROUP


@handler("chat_group_send")
async def send(call: Call) -> dict[str, Any]:
    return await chat.send(call, GROUP, call.data.group_id)


@handler("chat_group_history")
async def history(call: Call) -> dict[str, Any]:
    return await chat.history(call, GROUP, call.data.group_id)


@handler("chat_group_search")
async def search(call: Call) -> dict[str, Any]:
    return await chat.search(call, GROUP, call.data.group_id)


@handler("chat_group_conversations")
async def conversations(call: Call) -> dict[str, Any]:
    return await chat.conversations(call, GROUP)


@handler("chat_group_mark_read")
async def mark_read(call: Call) -> dict[str, Any]:
    return await chat.mark_read(call, GROUP, call.data.group_id)


@handler("chat_group_mute_set")
async def mute_set(call: Call) -> dict[str, Any]:
    return await chat.set_flag(call, GROUP, call.data.group_id, "muted", call.data.muted)


@handler("chat_group_pin_set")
async def pin_set(call: Call) -> dict[str, Any]:
    return await chat.set_flag(call, GROUP, call.data.group_id, "pinned", call.data.pinned)


@handler("chat_group_typing")
async def typing(call: Call) -> dict[str, Any]:
    return await chat.typing(call, GROUP, call.data.group_id)


@handler("chat_group_edit")
async def edit(call: Call) -> dict[str, Any]:
    return await chat.edit(call, GROUP, call.data.group_id)


@handler("chat_group_recall")
async def recall(call: Call) -> dict[str, Any]:
    return await chat.recall(call, GROUP, call.data.group_id)


@handler("chat_group_delete")
async def delete(call: Call) -> dict[str, Any]:
    return await chat.delete(call, GROUP, call.data.group_id)


@handler("chat_group_react")
async def react(call: Call) -> dict[str, Any]:
    return await chat.react(call, GROUP, call.data.group_id)

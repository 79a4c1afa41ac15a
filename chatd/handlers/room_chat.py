"""Room chat: chat_room_send, history, search, conversations, mark_read, mute_set, pin_set,
typing, edit, recall, delete and react. The semantics are those of every conversation with
members (chatd.chat); the room kind supplies the membership check and sends message events
and typing to the connections present in the room."""

from __future__ import annotations

from typing import Any

from .. import chat
from . import Call, handler
from .room_common import ROOM, presence_of


@handler("chat_room_send")
async def send(call: Call) -> dict[str, Any]:
    return await chat.send(call, ROOM, call.data.room_id)


@handler("chat_room_history")
async def history(call: Call) -> dict[str, Any]:
    return await chat.history(call, ROOM, call.data.room_id)


@handler("chat_room_search")
async def search(call: Call) -> dict[str, Any]:
    return await chat.search(call, ROOM, call.data.room_id)


@handler("chat_room_conversations")
async def conversations(call: Call) -> dict[str, Any]:
    out = await chat.conversations(call, ROOM)
    presence = presence_of(call.server)
    for conv in out["conversations"]:
        conv["present_count"] = presence.count(conv["conv_id"])
    return out


@handler("chat_room_mark_read")
async def mark_read(call: Call) -> dict[str, Any]:
    return await chat.mark_read(call, ROOM, call.data.room_id)


@handler("chat_room_mute_set")
async def mute_set(call: Call) -> dict[str, Any]:
    return await chat.set_flag(call, ROOM, call.data.room_id, "muted", call.data.muted)


@handler("chat_room_pin_set")
async def pin_set(call: Call) -> dict[str, Any]:
    return await chat.set_flag(call, ROOM, call.data.room_id, "pinned", call.data.pinned)


@handler("chat_room_typing")
async def typing(call: Call) -> dict[str, Any]:
    return await chat.typing(call, ROOM, call.data.room_id)


@handler("chat_room_edit")
async def edit(call: Call) -> dict[str, Any]:
    return await chat.edit(call, ROOM, call.data.room_id)


@handler("chat_room_recall")
async def recall(call: Call) -> dict[str, Any]:
    return await chat.recall(call, ROOM, call.data.room_id)


@handler("chat_room_delete")
async def delete(call: Call) -> dict[str, Any]:
    return await chat.delete(call, ROOM, call.data.room_id)


@handler("chat_room_react")
async def react(call: Call) -> dict[str, Any]:
    return await chat.react(call, ROOM, call.data.room_id)

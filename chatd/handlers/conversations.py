"""The chat verbs of every conversation kind, registered from one table: chat_dm_send,
chat_group_send, chat_room_send, ... (the kind's prefix + the verb), each one the verb of
chatd.core.verbs bound to its kind (chatd.core.kinds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..core import verbs
from ..core.kinds import KINDS, Kind
from . import Call, register_for_kinds

_VERBS: dict[str, Callable[[Call, Kind], Awaitable[dict[str, Any]]]] = {
    "send": verbs.send,
    "history": verbs.history,
    "search": verbs.search,
    "conversations": verbs.conversations,
    "mark_read": verbs.mark_read,
    "mute_set": verbs.mute_set,
    "pin_set": verbs.pin_set,
    "typing": verbs.typing,
    "control": verbs.control,
    "edit": verbs.edit,
    "recall": verbs.recall,
    "recall_batch": verbs.recall_batch,
    "delete": verbs.delete,
    "react": verbs.react,
}


register_for_kinds(KINDS, _VERBS, lambda kind, verb: verb in kind.verbs)

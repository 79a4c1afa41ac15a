"""Slash commands (docs/bots.md): a bot says which commands it offers; a client lists those of
the bots in a conversation; a user's command is a message ("/name args") in the conversation,
and the bot it names also gets it parsed, as `chat.bot.command`."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from ..errors import ChatError
from ..policy import roles
from ..store import bot_commands as store
from ..store import dm as dm_store
from ..store import dm_routing
from ..store import messages
from . import verbs
from .effects import Outcome, Users
from .kinds import DM, Kind

NAME = re.compile(r"[a-z0-9_]{1,32}")


class Param(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    description: Annotated[str, msgspec.Meta(max_length=200)] = ""
    required: bool = False


class Spec(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: Annotated[str, msgspec.Meta(max_length=200)] = ""
    params: Annotated[list[Param], msgspec.Meta(max_length=20)] = []


def checked(commands: list[Any]) -> list[dict[str, Any]]:
    """A bot's commands as it gave them, each checked: names unique, of a-z, 0-9 and _."""
    out, seen = [], set()
    for i, raw in enumerate(commands):
        try:
            c = msgspec.convert(raw, Spec)
        except msgspec.ValidationError as exc:
            raise ChatError("bad_request", f"commands[{i}]: {exc}", field=f"commands[{i}]") from None
        if not NAME.fullmatch(c.name):
            raise ChatError("bad_request", "a command's name is 1 to 32 of a-z, 0-9 and _", field=f"commands[{i}].name")
        if c.name in seen:
            raise ChatError("bad_request", f"the command {c.name!r} is given twice", field=f"commands[{i}].name")
        seen.add(c.name)
        out.append({"name": c.name, "description": c.description, "params": [{"name": p.name, "description": p.description, "required": p.required} for p in c.params]})
    return out


def op_set(ctx: Any, bot_id: int, commands: list[dict[str, Any]]) -> Outcome:
    store.replace(ctx.conn, bot_id, commands)
    return Outcome({"commands": commands})


def _bots(conn: Any, kind: Kind, target: int, user_id: int) -> list[int]:
    """The bots of a conversation: a DM's peer (a user who exists), or the members that are bots."""
    if kind is DM:
        dm_store.require_peer(conn, user_id, target)
        return [target]
    return store.bots_in(conn, target)


def available(conn: Any, kind: Kind, target: int, user_id: int) -> dict[str, Any]:
    if kind is not DM:
        kind.store.access(conn, target, user_id, roles.READ)
    return {"commands": store.of_bots(conn, _bots(conn, kind, target, user_id))}


def _silenced(conn: Any, kind: Kind, conv_id: int, bot_id: int) -> bool:
    """The bot's DM is handed over to an agent and the bot gets none of its pushes (docs/bots.md)."""
    if kind is not DM:
        return False
    routed = dm_routing.routed(conn, conv_id)
    return routed is not None and routed.bot_id == bot_id and not routed.bot_hears


def op_command(ctx: Any, kind: Kind, target: int, new: messages.NewMessage, bot_id: int, name: str, args: str) -> Outcome:
    """The command's message, sent as any message is (every check of a send first), and the
    command to its bot. A bot that does not offer it fails the op, which writes nothing then."""
    out = verbs.op_send(ctx, kind, target, new)
    msg, duplicate = out.result
    if bot_id not in _bots(ctx.conn, kind, target, new.sender_id) or not store.has(ctx.conn, bot_id, name):
        raise ChatError("not_found", f"no bot in this conversation offers /{name}", field="name")
    if not duplicate and not _silenced(ctx.conn, kind, msg["conv_id"], bot_id):
        data = {"bot_id": bot_id, "name": name, "args": args, "msg_id": msg["id"], "kind": kind.name, "conv_id": msg["conv_id"], "user_id": new.sender_id}
        out.push("chat.bot.command", data, Users((bot_id,)), skip_origin=False)
    return out

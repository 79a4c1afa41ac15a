"""What the group handlers share: the group kind for the chat layer, and applying a
management op's outcome (member cache, system messages, conversation and request pushes).
Not a handler module: it registers no commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import chat
from ..errors import ChatError
from ..store import group as group_store
from ..store.group_admin import Outcome

if TYPE_CHECKING:
    from ..server import Server
    from . import Call


def _on_read(server: Server, conv_id: int, old: int, new: int) -> None:
    server.group_receipts.mark(conv_id, old, new)


GROUP = chat.ConvKind(
    name="group",
    id_field="group_id",
    access=group_store.require_member,
    update_cmd="chat_group_conversation_update",
    extra=group_store.extra,
    on_read=_on_read,
)


async def submit(call: Call, op: Callable[..., Any], *args: Any) -> Outcome:
    """Run a management op. The member cache follows its outcome as it commits, before
    anything committed after it is pushed: a member added in the same instant as a message
    gets that message, one removed does not."""
    cache = call.server.members

    def follow(out: Outcome) -> None:
        if out.removed:
            cache.remove(out.group_id, out.removed)
        if out.added:
            cache.add(out.group_id, out.added)

    return await call.server.writer.submit(op, *args, on_commit=follow)  # type: ignore[no-any-return]


async def submit_removal(call: Call, group_id: int, user_id: int, op: Callable[..., Any], *args: Any) -> Outcome:
    """Run an op that removes a member. The member also leaves the cache before the op is
    submitted, so nothing committed in the same batch is pushed to them; if the op
    fails, the group's cached members are forgotten and read again on next use."""
    cache = call.server.members
    cache.remove(group_id, [user_id])
    try:
        return await submit(call, op, *args)
    except ChatError:
        cache.forget(group_id)
        raise


async def apply(call: Call, out: Outcome) -> None:
    """After a management op committed (and the member cache followed it, see submit):
    after the response, push its system messages to every member's devices (removed users
    included, so they learn why), each changed user's conversation entry, and request
    updates to those who may decide them and, once decided, to the requester."""
    server, gid = call.server, out.group_id
    cache = server.members
    audience: set[int] | list[int] = []
    if out.system:
        audience = set(await cache.get(gid)) | set(out.removed)
    views: dict[int, dict[str, Any] | None] = {**out.views, **{u: None for u in out.removed}}

    def fanout() -> None:
        hub = server.hub
        for msg in out.system:
            hub.push_users(audience, "chat_message", chat.message_push(GROUP, "new", msg))
        chat.push_views(call, GROUP, gid, views)
        for req in out.requests:
            targets = set(out.deciders)
            if req["status"] != "pending":
                targets.add(req["user"]["id"])
                if req["inviter_id"]:
                    targets.add(req["inviter_id"])
            hub.push_users(targets, "chat_group_request_update", {"request": req}, exclude=call.session)

    call.after(fanout)


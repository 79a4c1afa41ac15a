"""Friends, blocks, the DM whitelist and the privacy settings: the writer ops.

Friend requests pass the social gate (chatd.core.social_gate: a user who blocked you, or who
takes no friend requests, answers privacy_restricted) and the hourly limit
(`social.friend_requests_per_hour`, counted in the database so a restart does not reset it).
A request to someone who already asked you accepts theirs. Every change to a request or a
friendship is pushed to every device of both users (but the connection that made it, which has
the response); a block, a whitelist entry or a setting only to the user's own other devices:
the other user is told nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ChatError
from ..policy.social import Action
from ..store import social as store
from . import social_gate
from .effects import Live, Notify, Outcome, Users

if TYPE_CHECKING:
    from ..net.hub import Hub
    from ..services import Services

HOUR_MS = 3_600_000

# list name -> its push and the field that says whether the user is listed
LIST_PUSH = {"blocks": ("chat_block_update", "blocked"), "dm_whitelist": ("chat_dm_whitelist_update", "listed")}


def with_online(hub: Hub, entry: dict[str, Any]) -> dict[str, Any]:
    entry["online"] = hub.online(entry["user"]["id"])
    return entry


def _friend_payload(services: Services, hub: Hub, event: str, user_id: int, entry: dict[str, Any] | None) -> dict[str, Any]:
    return {"event": event, "user_id": user_id, "friend": None if entry is None else with_online(hub, dict(entry))}


def _friend_update(ctx: Any, out: Outcome, event: str, owner: int, other: int) -> None:
    """chat_friend_update to the owner's devices (but the requesting connection), with the
    owner's own entry for `other` (their remark, the friend's online state at delivery)."""
    entry = None if event == "removed" else store.friend(ctx.conn, owner, other)
    out.push("chat_friend_update", Live(_friend_payload, (event, other, entry)), Users((owner,)))


def _request_update(out: Outcome, req: dict[str, Any]) -> None:
    out.push("chat_friend_request_update", {"request": req}, Users((req["from_user"]["id"], req["to_user"]["id"])))


def _befriend(ctx: Any, out: Outcome, requester: int, accepter: int) -> dict[str, Any]:
    """Accept requester's pending request: friends both sides, both told. Returns the request."""
    store.decide_request(ctx, requester, accepter, "accepted")
    store.add_friendship(ctx, requester, accepter)
    req = store.request(ctx.conn, requester, accepter, ctx.now)
    assert req is not None
    _request_update(out, req)
    _friend_update(ctx, out, "added", accepter, requester)
    _friend_update(ctx, out, "added", requester, accepter)
    return req


def _pending_from(ctx: Any, requester: int, me: int) -> dict[str, Any]:
    req = store.request(ctx.conn, requester, me, ctx.now)
    if req is None:
        raise ChatError("not_found", f"user {requester} has not asked to be your friend", field="user_id")
    if req["status"] != "pending":
        raise ChatError("conflict", f"this request was {req['status']} already", field="user_id")
    return req


# --- friends ------------------------------------------------------------------------------


def op_friend_add(ctx: Any, me: int, target: int, message: str, ttl_ms: int, per_hour: int) -> Outcome:
    conn = ctx.conn
    store.require_target(conn, me, target)
    if store.friend(conn, me, target) is not None:
        raise ChatError("conflict", "you are friends already", field="user_id")
    out = Outcome()
    theirs = store.request(conn, target, me, ctx.now)
    if theirs is not None and theirs["status"] == "pending":  # they asked first: this accepts
        social_gate.require(conn, me, target, Action.DM_CHANGE, "user_id")  # unless they blocked you since
        out.result = {"request": _befriend(ctx, out, target, me), "friends": True}
        return out
    sent, oldest = store.sends_since(conn, me, ctx.now - HOUR_MS)
    if sent >= per_hour:
        raise ChatError(
            "rate_limited", f"at most {per_hour} friend requests an hour", field="user_id", retry_after_ms=max(1, oldest + HOUR_MS - ctx.now)
        )
    social_gate.require(conn, me, target, Action.FRIEND_REQUEST, "user_id")
    store.record_send(ctx, me, ctx.now - HOUR_MS)
    store.put_request(ctx, me, target, message, ttl_ms)
    req = store.request(conn, me, target, ctx.now)
    assert req is not None
    _request_update(out, req)
    out.effects.append(Notify("friend_request", (target,), sender_id=me))  # the target's offline devices
    out.result = {"request": req, "friends": False}
    return out


def op_friend_accept(ctx: Any, me: int, requester: int) -> Outcome:
    _pending_from(ctx, requester, me)
    out = Outcome()
    req = _befriend(ctx, out, requester, me)
    out.result = {"request": req, "friend": store.friend(ctx.conn, me, requester)}
    return out


def op_friend_reject(ctx: Any, me: int, requester: int) -> Outcome:
    _pending_from(ctx, requester, me)
    store.decide_request(ctx, requester, me, "rejected")
    req = store.request(ctx.conn, requester, me, ctx.now)
    out = Outcome({"request": req})
    _request_update(out, req)  # type: ignore[arg-type]
    return out


def op_friend_remove(ctx: Any, me: int, other: int) -> Outcome:
    store.require_target(ctx.conn, me, other, enabled=False)
    if not store.remove_friendship(ctx, me, other):
        raise ChatError("not_found", "this user is not your friend", field="user_id")
    out = Outcome({"user_id": other})
    _friend_update(ctx, out, "removed", me, other)
    _friend_update(ctx, out, "removed", other, me)
    return out


def op_remark_set(ctx: Any, me: int, other: int, remark: str) -> Outcome:
    store.require_target(ctx.conn, me, other, enabled=False)
    if not store.set_remark(ctx, me, other, remark):
        raise ChatError("not_found", "this user is not your friend", field="user_id")
    out = Outcome({"friend": store.friend(ctx.conn, me, other)})
    _friend_update(ctx, out, "remark", me, other)
    return out


# --- blocks and the DM whitelist ------------------------------------------------------------


def op_list_add(ctx: Any, name: str, me: int, other: int) -> Outcome:
    """Block a user, or put them on the DM whitelist. A disabled account may be blocked, not listed."""
    store.require_target(ctx.conn, me, other, enabled=name != "blocks")
    if not store.list_add(ctx, name, me, other):
        raise ChatError("conflict", "this user is on the list already", field="user_id")
    out = _listed(name, me, other, True)
    if name == "blocks":  # no pending request survives a block (either could still accept one)
        for requester, target in ((other, me), (me, other)):
            req = store.request(ctx.conn, requester, target, ctx.now)
            if req is not None and req["status"] == "pending":
                store.decide_request(ctx, requester, target, "rejected")
                ended = store.request(ctx.conn, requester, target, ctx.now)
                out.push("chat_friend_request_update", {"request": ended}, Users((me,)))  # the blocked user is told nothing
    return out


def op_list_remove(ctx: Any, name: str, me: int, other: int) -> Outcome:
    store.require_target(ctx.conn, me, other, enabled=False)
    if not store.list_remove(ctx, name, me, other):
        raise ChatError("not_found", "this user is not on the list", field="user_id")
    return _listed(name, me, other, False)


def _listed(name: str, me: int, other: int, listed: bool) -> Outcome:
    cmd, flag = LIST_PUSH[name]
    out = Outcome({"user_id": other, flag: listed})
    out.push(cmd, {"user_id": other, flag: listed}, Users((me,)))
    return out


# --- privacy --------------------------------------------------------------------------------


def op_privacy_set(ctx: Any, me: int, policy: str | None, friend_requests: bool | None) -> Outcome:
    """A field left out (None) keeps its value; the policy was checked by the caller."""
    now = store.privacy(ctx.conn, me)
    settings = {
        "policy": now["policy"] if policy is None else policy,
        "friend_requests": now["friend_requests"] if friend_requests is None else friend_requests,
    }
    store.set_privacy(ctx, me, settings["policy"], settings["friend_requests"])
    out = Outcome(settings)
    out.push("chat_dm_privacy_update", dict(settings), Users((me,)))
    return out

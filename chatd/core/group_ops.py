"""What only groups have: creation with members, approval of invitations and join requests,
joining by id or invite code. The rest of group membership is chatd.core.membership.

A request (an invitation by a plain member while approval is on, or a join
request) is pushed as chat_group_request_update to those who may decide it
(owner and admins) and, once decided, to the requester and the inviter.
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import roles
from ..policy.social import NEUTRAL_CODE, NEUTRAL_MESSAGE, Action
from ..store import conversations as conv_store
from ..store import group as group_store
from ..store import membership as rows
from . import membership, social_gate
from .effects import Outcome, Users
from .kinds import GROUP


def _requests(ctx: Any, out: Outcome, group_id: int, requests: list[dict[str, Any]]) -> None:
    """Each request made or decided to those who may decide it, and once decided to the requester and inviter."""
    if not requests:
        return
    deciders = group_store.admin_ids(ctx.conn, group_id)
    for req in requests:
        targets = set(deciders)
        if req["status"] != "pending":
            targets.add(req["user"]["id"])
            if req["inviter_id"]:
                targets.add(req["inviter_id"])
        out.push("chat_group_request_update", {"request": req}, Users(tuple(sorted(targets))))


def _check_room(ctx: Any, group_id: int, adding: int, max_members: int) -> None:
    if rows.member_count(ctx.conn, group_store.TABLE, group_id) + adding > max_members:
        raise ChatError("conflict", f"the group would have more than {max_members} members")


def _add(ctx: Any, out: Outcome, group_id: int, actor: int, user_ids: list[int], via: str) -> list[dict[str, Any]]:
    """Add members; their pending requests are approved with it. Returns those requests."""
    membership.add_members(ctx, GROUP, out, group_id, actor, user_ids, via)
    return group_store.settle_requests(ctx, group_id, user_ids, actor)


def op_create(ctx: Any, creator: int, d: Any, max_members: int) -> Outcome:
    others = [u for u in rows.live_users(ctx.conn, d.members, "members") if u != creator]
    social_gate.require_all(ctx.conn, creator, others, Action.GROUP_INVITE, "members")
    if len(others) + 1 > max_members:
        raise ChatError("bad_request", f"a group has at most {max_members} members", field="members")
    columns = {"avatar": d.avatar, "description": d.description, "join_by_id": d.join_by_id, "approval": d.approval}
    gid, out = membership.create(ctx, GROUP, creator, d.name, others, columns)
    out.result = {"group": group_store.info(ctx.conn, gid, "owner")}
    return out


def op_approval_set(ctx: Any, actor: int, group_id: int, approval: bool) -> Outcome:
    membership.access(ctx, GROUP, group_id, actor, roles.DECIDE_REQUESTS)
    out = Outcome({"group_id": group_id, "approval": approval})
    if group_store.set_approval(ctx.conn, group_id, approval):
        (who,) = membership.names(ctx, actor)
        text = f"{who} turned {'on' if approval else 'off'} approval of new members"
        membership.system(ctx, GROUP, out, group_id, actor, "approval_set", text, {"approval": approval, "by": actor})
    return out


def op_invite(ctx: Any, actor: int, d: Any, max_members: int) -> Outcome:
    """Who may add without approval adds at once; other members too, unless approval is on: then it waits."""
    gid = d.group_id
    acc = membership.access(ctx, GROUP, gid, actor, roles.INVITE)
    ids = rows.live_users(ctx.conn, d.user_ids, "user_ids")
    already = conv_store.members_in(ctx.conn, gid, ids)
    new = [u for u in ids if u not in already]
    social_gate.require_all(ctx.conn, actor, new, Action.GROUP_INVITE, "user_ids")
    out = Outcome()
    pending: list[dict[str, Any]] = []
    settled: list[dict[str, Any]] = []
    direct = roles.allowed(GROUP.policy, membership.actor_of(acc), roles.INVITE_DIRECT, ctx.now)
    if new and group_store.info(ctx.conn, gid, acc.role)["approval"] and not direct:
        made = [group_store.pending_request(ctx, gid, u, actor, "invite", d.message) for u in new]
        pending = [req for req, _ in made]
        settled = [req for req, fresh in made if fresh]
        new = []
    elif new:
        _check_room(ctx, gid, len(new), max_members)
        settled = _add(ctx, out, gid, actor, new, "invite")
    _requests(ctx, out, gid, settled)
    out.result = {"group_id": gid, "added": new, "pending": pending, "already": sorted(already)}
    return out


def _resolve_join(ctx: Any, d: Any) -> tuple[int, str]:
    if d.invite_code:
        gid = group_store.by_invite_code(ctx.conn, d.invite_code)
        if gid is None:
            raise ChatError("not_found", "no group has this invite code", field="invite_code")
        if d.group_id is not None and d.group_id != gid:
            raise ChatError("not_found", "this invite code is not the group's", field="invite_code")
        return gid, "code"
    if d.group_id is None:
        raise ChatError("bad_request", "give group_id or invite_code", field="group_id")
    if not group_store.info(ctx.conn, d.group_id, None)["join_by_id"]:
        raise ChatError("forbidden", "this group is joined by invitation or invite code only")
    return d.group_id, "id"


def op_join(ctx: Any, user_id: int, d: Any, max_members: int) -> Outcome:
    """Join by group id (groups with join_by_id) or invite code; with approval on, ask to join."""
    gid, via = _resolve_join(ctx, d)
    out = Outcome({"group_id": gid, "joined": True, "request": None})
    if conv_store.members_in(ctx.conn, gid, [user_id]):
        return out
    if group_store.info(ctx.conn, gid, None)["approval"]:
        req, fresh = group_store.pending_request(ctx, gid, user_id, 0, "join", d.message)
        out.result.update(joined=False, request=req)
        _requests(ctx, out, gid, [req] if fresh else [])
        return out
    _check_room(ctx, gid, 1, max_members)
    _requests(ctx, out, gid, _add(ctx, out, gid, user_id, [user_id], via))
    return out


def op_decide(ctx: Any, actor: int, request_id: int, approve: bool, max_members: int) -> Outcome:
    req = group_store.request_view(ctx.conn, request_id)
    gid = req["group_id"]
    membership.access(ctx, GROUP, gid, actor, roles.DECIDE_REQUESTS)
    if req["status"] != "pending":
        raise ChatError("conflict", f"the request was already {req['status']}", field="request_id")
    out = Outcome()
    user_id = req["user"]["id"]
    decided: list[dict[str, Any]] = []
    if approve and not conv_store.members_in(ctx.conn, gid, [user_id]):
        # A block or the invitee's privacy may refuse the inviter since: the decider is told neutrally.
        if req["kind"] == "invite" and req["inviter_id"] and not social_gate.check(ctx.conn, req["inviter_id"], user_id, Action.GROUP_INVITE).ok:
            raise ChatError(NEUTRAL_CODE, NEUTRAL_MESSAGE, field="request_id")
        _check_room(ctx, gid, 1, max_members)
        decided = _add(ctx, out, gid, actor, [user_id], "request")  # settles this request too
    if not any(r["request_id"] == request_id for r in decided):
        decided.append(group_store.decide_request(ctx, request_id, "approved" if approve else "rejected", actor))
    _requests(ctx, out, gid, decided)
    out.result = {"request": next(r for r in decided if r["request_id"] == request_id)}
    return out

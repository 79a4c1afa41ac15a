"""Membership of the kinds with members (groups, rooms), written once: create, update, add
members, kick, mute a member, set a role or hand over ownership, leave.

Each op checks the actor with the kind's access check and role policy
(chatd.policy.roles), changes rows through chatd.store.membership and the kind's
store, records what happened as a system message where the kind keeps its
membership in the history, and returns an Outcome whose effects the pipeline
applies in commit order: the member cache and room presence follow (Joined,
Left), then the system message goes to the kind's audience (and to removed
users, so they learn why), then each changed user gets their own entry. What is
really per kind (group requests and approval, room bans) is declared on the
kind or lives in chatd.core.group_ops and chatd.core.room_ops.
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import roles
from ..protocol import content as ct
from ..store import conversations as conv_store
from ..store import membership as rows
from .effects import Joined, Left, Outcome
from .kinds import Kind


def access(ctx: Any, kind: Kind, conv_id: int, user_id: int, capability: str) -> conv_store.Access:
    return kind.store.access(ctx.conn, conv_id, user_id, capability, ctx.now)  # type: ignore[no-any-return]


def actor_of(acc: conv_store.Access) -> roles.Actor:
    return roles.Actor(acc.user_id, acc.role, acc.server_admin, acc.muted_until)


def names(ctx: Any, *ids: int) -> list[str]:
    found = rows.display_names(ctx.conn, list(ids))
    return [found.get(i, str(i)) for i in ids]


def system(ctx: Any, kind: Kind, out: Outcome, conv_id: int, actor: int, event: str, text: str, data: dict[str, Any], also: tuple[int, ...] = ()) -> dict[str, Any]:
    """Store a system message and push it to the kind's audience (and to `also`)."""
    content = ct.dumps(ct.System(event=event, text=text, data=data))
    msg = conv_store.system_message(ctx, conv_id, actor, content)
    kind.message(out, "new", msg, also=also, skip_origin=False)
    return msg


def views(ctx: Any, kind: Kind, out: Outcome, conv_id: int, user_ids: list[int]) -> None:
    """These members' own entries to their devices."""
    kind.update(out, conv_id, kind.store.views(ctx.conn, conv_id, user_ids))


def removed(kind: Kind, out: Outcome, conv_id: int, user_ids: list[int]) -> None:
    """They are no longer members: the cache and presence follow, their devices drop the entry."""
    out.effects.append(Left(conv_id, tuple(user_ids)))
    kind.update(out, conv_id, dict.fromkeys(user_ids))


# --- create, update ---------------------------------------------------------------------


def create(ctx: Any, kind: Kind, creator: int, name: str, members: list[int], columns: dict[str, Any]) -> tuple[int, Outcome]:
    """A new conversation of the kind: `creator` its owner, `members` plain members, `columns` the
    kind's own row. Returns (conv_id, outcome); the outcome's result is left to the caller."""
    conv_id = rows.create_conversation(ctx, kind.name, name)
    kind.store.insert_row(ctx.conn, conv_id, {**columns, "owner_id": creator, "created_by": creator, "member_count": 0})
    rows.add(ctx, kind.store.TABLE, conv_id, [creator], role="owner")
    if members:
        rows.add(ctx, kind.store.TABLE, conv_id, members)
    everyone = [creator, *members]
    out = Outcome()
    out.effects.append(Joined(conv_id, tuple(everyone)))
    (who,) = names(ctx, creator)
    text = f"{who} created the {kind.policy.noun} {name}"
    system(ctx, kind, out, conv_id, creator, f"{kind.name}_created", text, {"name": name, "member_ids": everyone, "by": creator})
    views(ctx, kind, out, conv_id, everyone)
    return conv_id, out


def op_update(ctx: Any, kind: Kind, actor: int, d: Any) -> Outcome:
    """Change the name and the kind's own fields (kind.store.apply_update) of a conversation."""
    conv_id = getattr(d, kind.id_field)
    acc = access(ctx, kind, conv_id, actor, roles.UPDATE)
    current = kind.store.info(ctx.conn, conv_id, acc.role)
    changes: dict[str, Any] = {}
    if d.name is not None and d.name != current["name"]:
        rows.rename(ctx.conn, conv_id, d.name)
        changes["name"] = d.name
    changes.update(kind.store.apply_update(ctx.conn, conv_id, current, {f: getattr(d, f) for f in kind.store.UPDATABLE}))
    out = Outcome()
    if changes:
        (who,) = names(ctx, actor)
        what = ", ".join(k.replace("_", " ") for k in changes)
        system(ctx, kind, out, conv_id, actor, f"{kind.name}_updated", f"{who} changed the {kind.policy.noun}'s {what}", {"changes": changes, "by": actor})
    out.result = {kind.name: kind.store.info(ctx.conn, conv_id, acc.role)}
    return out


# --- joining, leaving -------------------------------------------------------------------


def add_members(ctx: Any, kind: Kind, out: Outcome, conv_id: int, actor: int, user_ids: list[int], via: str, **member: Any) -> None:
    """Add users as members (`member`: role, muted_until for rows.add) and let them see the
    conversation. Kinds that keep membership in the history record it: what was said before
    counts as read by who joined on their own (via id or code); being added is news."""
    rows.add(ctx, kind.store.TABLE, conv_id, user_ids, **member)
    out.effects.append(Joined(conv_id, tuple(user_ids)))
    if kind.records_joins:
        *who, by = names(ctx, *user_ids, actor)
        joined = ", ".join(who)
        text = {"invite": f"{by} added {joined}", "request": f"{joined} joined (approved by {by})"}.get(via, f"{joined} joined")
        msg = system(ctx, kind, out, conv_id, actor, "member_joined", text, {"user_ids": user_ids, "by": actor, "via": via})
        read = msg["seq"] if via in ("id", "code") else msg["seq"] - 1
    else:
        read = conv_store.last_seq(ctx.conn, conv_id)
    rows.set_read(ctx.conn, conv_id, user_ids, read)
    views(ctx, kind, out, conv_id, user_ids)


def op_leave(ctx: Any, kind: Kind, user_id: int, conv_id: int) -> Outcome:
    """Leave. Where the kind says so, the owner hands over first; the last one out empties it."""
    acc = access(ctx, kind, conv_id, user_id, roles.READ)
    table = kind.store.TABLE
    if kind.owner_must_transfer and acc.role == "owner" and rows.member_count(ctx.conn, table, conv_id) > 1:
        raise ChatError("owner_must_transfer", f"hand the {kind.policy.noun} over to another member ({kind.wire('member_role_set')}) before leaving")
    out = Outcome({kind.id_field: conv_id})
    if kind.records_joins:
        (who,) = names(ctx, user_id)
        system(ctx, kind, out, conv_id, user_id, "member_left", f"{who} left", {"user_id": user_id}, also=(user_id,))
    left = rows.remove(ctx.conn, table, conv_id, user_id)
    removed(kind, out, conv_id, [user_id])
    if left == 0:
        kind.store.emptied(ctx, conv_id)
    return out


# --- acting on another member -----------------------------------------------------------


def _other(ctx: Any, kind: Kind, acc: conv_store.Access, user_id: int, capability: str) -> str:
    """The other member's role, once the actor may act on them (ranks above them)."""
    if user_id == acc.user_id:
        raise ChatError("bad_request", f"you cannot do this to yourself (to leave, use {kind.leave_cmd})", field="user_id")
    role, _ = rows.target(ctx.conn, acc.conv_id, user_id, kind.policy.noun)
    if capability != roles.TRANSFER_OWNER:
        roles.require_outranks(kind.policy, actor_of(acc), role, capability)
    return role


def op_kick(ctx: Any, kind: Kind, actor: int, conv_id: int, user_id: int, ban_ms: int = 0) -> Outcome:
    """Remove a member; in kinds with bans they cannot rejoin for ban_ms."""
    acc = access(ctx, kind, conv_id, actor, roles.KICK)
    _other(ctx, kind, acc, user_id, roles.KICK)
    rows.remove(ctx.conn, kind.store.TABLE, conv_id, user_id)
    out = Outcome({kind.id_field: conv_id, "user_id": user_id})
    data: dict[str, Any] = {"user_id": user_id, "by": actor}
    if kind.bans:
        until = ctx.now + ban_ms if ban_ms > 0 else 0
        kind.store.sanction(ctx.conn, conv_id, user_id, "banned_until", until, actor)
        out.result["banned_until"] = data["banned_until"] = until
    removed(kind, out, conv_id, [user_id])
    by, who = names(ctx, actor, user_id)
    system(ctx, kind, out, conv_id, actor, "member_kicked", f"{by} removed {who}", data, also=(user_id,))
    return out


def op_mute_member(ctx: Any, kind: Kind, actor: int, conv_id: int, user_id: int, until: int) -> Outcome:
    """Mute a member until `until` (ms since the epoch); 0, or a time that has passed, unmutes."""
    acc = access(ctx, kind, conv_id, actor, roles.MUTE_MEMBER)
    _other(ctx, kind, acc, user_id, roles.MUTE_MEMBER)
    until = until if until > ctx.now else 0
    rows.set_muted(ctx.conn, conv_id, user_id, until)
    if kind.bans:  # kept apart from membership: leaving and rejoining does not lift it
        kind.store.sanction(ctx.conn, conv_id, user_id, "muted_until", until, actor)
    out = Outcome({kind.id_field: conv_id, "user_id": user_id, "muted": bool(until), "muted_until": until})
    by, who = names(ctx, actor, user_id)
    verb, event = ("muted", "member_muted") if until else ("unmuted", "member_unmuted")
    system(ctx, kind, out, conv_id, actor, event, f"{by} {verb} {who}", {"user_id": user_id, "by": actor, "until": until})
    return out


def op_role_set(ctx: Any, kind: Kind, actor: int, conv_id: int, user_id: int, role: str) -> Outcome:
    """Make a member an admin or a member again, or hand the conversation over (role owner: the
    old owner, if still a member, becomes an admin)."""
    capability = roles.TRANSFER_OWNER if role == "owner" else roles.SET_ROLE
    acc = access(ctx, kind, conv_id, actor, capability)
    current = _other(ctx, kind, acc, user_id, capability)
    out = Outcome({kind.id_field: conv_id, "user_id": user_id, "role": role})
    if current == role:
        return out
    if current == "owner":
        raise ChatError("bad_request", f"the owner's role changes by handing the {kind.policy.noun} to another member", field="user_id")
    conn, table = ctx.conn, kind.store.TABLE
    rows.set_role(conn, conv_id, user_id, role)
    changed = [user_id]
    if role == "owner":
        old = rows.owner_of(conn, table, conv_id)
        if rows.role_of(conn, conv_id, old) == "owner":
            rows.set_role(conn, conv_id, old, "admin")
            changed.append(old)
        rows.set_owner(conn, table, conv_id, user_id)
        by, who = names(ctx, actor, user_id)
        text = f"{by} handed the {kind.policy.noun} over to {who}"
        system(ctx, kind, out, conv_id, actor, "owner_transferred", text, {"from": old, "to": user_id, "by": actor})
    else:
        by, who = names(ctx, actor, user_id)
        title = "an admin" if role == "admin" else "a member"
        system(ctx, kind, out, conv_id, actor, "role_changed", f"{by} made {who} {title}", {"user_id": user_id, "role": role, "by": actor})
    views(ctx, kind, out, conv_id, changed)
    return out

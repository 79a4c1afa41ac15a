"""The home screen: every conversation of every kind in one list (chat_conversations), and the
user's own changes to it: an order of their own (chat_conversation_sort_set), leaving one out
until its next message (chat_conversation_remove) and clearing its badge
(chat_conversation_dismiss); and the unread ones since a time, of some message types, cleared
on request (chat_conversations_unread).

The list is ordered as each kind's own list: pinned first, then sort_order (higher first),
then newest activity. Each entry is its kind's entry (chatd.store.<kind>.listed, which also
leaves out channels the user cannot see) with `avatar` (a channel's: its community's icon),
`kind`, `target` (kind:id, as chat_message_forward names conversations), `sort_order` and
`at`: who mentioned the user in the newest unread mention (by the user's remark for them, if
any), and at which seq.
"""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..policy import roles
from ..protocol import content as ct
from ..store import community as community_store
from ..store import conversations as conv_store
from ..store import social as social_store
from .effects import Outcome, Users
from .kinds import KINDS, Kind
from .verbs import op_mark_read

BY_NAME = {k.name: k for k in KINDS}
UPDATE = "chat_conversation_list_update"
_KIND, _SORT, _MENTION, _ALL_MENTION = 13, 12, 8, 6  # columns of conv_store.member_rows
_SPARE = 5  # rows fetched beyond a page (see home)


def parse_target(target: str, field: str = "target") -> tuple[Kind, int]:
    """"group:5" -> (GROUP, 5): a kind and the id its requests name a conversation by (a DM: the
    other user's id)."""
    kind, _, ident = target.partition(":")
    if kind not in BY_NAME or not (ident.isascii() and ident.isdigit()) or len(ident) > 18:
        raise ChatError("bad_request", f"a target is kind:id with kind one of {', '.join(BY_NAME)}", field=field)
    return BY_NAME[kind], int(ident)


_NAMED_BY = (("peer", "dm"), ("group_id", "group"), ("room_id", "room"), ("channel_id", "channel"))


def named_target(d: Any) -> tuple[Kind, int]:
    """The conversation a request names by exactly one of peer, group_id, room_id, channel_id."""
    named = [(BY_NAME[kind], getattr(d, field)) for field, kind in _NAMED_BY if getattr(d, field, None) is not None]
    if len(named) != 1:
        raise ChatError("bad_request", "name the conversation by one of peer, group_id, room_id, channel_id", field="peer")
    return named[0]


def unread_filter(since: int, types: list[str]) -> conv_store.Unread:
    """What chat_conversations_unread keeps: unread messages sent after `since`, of `types`."""
    wanted = tuple(dict.fromkeys(types))
    unknown = sorted(set(wanted) - ct.CLIENT_TYPES - {"forward"})
    if unknown:
        raise ChatError("bad_request", f"not a message type: {unknown[0]}", field="types")
    return conv_store.Unread(since, wanted)


def target_of(kind_name: str, entry: dict[str, Any]) -> str:
    if kind_name == "dm":
        return f"dm:{entry['peer']['id'] if entry.get('peer') else 0}"
    return f"{kind_name}:{entry['conv_id']}"


def home(conn: Any, user_id: int, kinds: list[str], unread_only: bool, limit: int, offset: int, unread: conv_store.Unread | None = None) -> dict[str, Any]:
    """A page of the list: up to `limit` entries from position `offset` of the user's rows (a
    channel the user cannot see takes a position and shows nothing; next_offset skips it).
    Rows are fetched a few beyond the page: the first of them says whether there are more, and
    the others stand in for rows that show nothing, without another query."""
    out: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    position = offset
    rows: list[tuple[Any, ...]] = []  # fetched rows from `position` on
    ran_out = False  # no rows after those in `rows`
    while len(out) < limit:
        want = limit - len(out)
        if len(rows) <= want and not ran_out:
            fetch = want + _SPARE
            rows = conv_store.member_rows(conn, user_id, kinds, unread_only=unread_only, limit=fetch, offset=position, unread=unread)
            ran_out = len(rows) < fetch
        take, rows = rows[:want], rows[want:]
        if not take:
            break
        made: dict[int, dict[str, Any]] = {}
        for name in {r[_KIND] for r in take}:
            for entry in BY_NAME[name].store.listed(conn, user_id, [r for r in take if r[_KIND] == name]):
                made[entry["conv_id"]] = entry
        for r in take:
            position += 1
            entry = made.get(r[0])
            if entry is not None and not ((unread_only or unread) and not entry["unread"]):
                out.append((r, entry))
    more = bool(rows)
    # The newest mention: the user's own (mention_seq) or an @all (all_mention_seq), but not an
    # @all of someone the user blocked (it marks nothing for them).
    wanted = [(r[0], seq) for r, e in out if e["mentioned"] for seq in (r[_MENTION], r[_ALL_MENTION]) if seq]
    who = conv_store.mentioners(conn, wanted)
    blocked = social_store.blocked_among(conn, user_id, [sender for sender, _ in who.values()])
    remarks = social_store.remarks(conn, user_id, [sender for sender, _ in who.values()])  # the user's own names for them
    icons = community_store.icons(conn, [e["community_id"] for _, e in out if "community_id" in e])
    page = []
    for r, entry in out:
        if "avatar" not in entry:  # a channel shows its community's icon; a DM has none (users have no avatar)
            entry["avatar"] = icons.get(entry.get("community_id", 0), "")
        at = None
        if entry["mentioned"]:
            for seq in sorted({r[_MENTION], r[_ALL_MENTION]}, reverse=True):
                found = who.get((r[0], seq))
                if found is not None and (seq == r[_MENTION] or found[0] not in blocked):
                    at = {"seq": seq, "mentioner_id": found[0], "mentioner_name": remarks.get(found[0], found[1])}
                    break
        entry.update(kind=r[_KIND], target=target_of(r[_KIND], entry), sort_order=r[_SORT], at=at)
        page.append(entry)
    return {"conversations": page, "has_more": more, "next_offset": position}


def _changed(out: Outcome, user_id: int, kind: Kind, target: int, **fields: Any) -> None:
    out.push(UPDATE, {"target": f"{kind.name}:{target}", "kind": kind.name, **fields}, Users((user_id,)))


def op_sort_set(ctx: Any, kind: Kind, target: int, user_id: int, sort_order: int) -> Outcome:
    acc = kind.store.access(ctx.conn, target, user_id, roles.READ, ctx.now)
    conv_store.set_sort_order(ctx.conn, acc, sort_order)
    out = Outcome({"target": f"{kind.name}:{target}", "sort_order": sort_order})
    _changed(out, user_id, kind, target, sort_order=sort_order, removed=False)
    return out


def op_remove(ctx: Any, kind: Kind, target: int, user_id: int) -> Outcome:
    acc = kind.store.access(ctx.conn, target, user_id, roles.READ, ctx.now)
    conv_store.remove_from_list(ctx.conn, acc)
    out = Outcome({"target": f"{kind.name}:{target}", "removed": True})
    _changed(out, user_id, kind, target, sort_order=None, removed=True)
    return out


def op_dismiss(ctx: Any, kind: Kind, target: int, user_id: int) -> Outcome:
    """Everything read, as the kind's mark_read to the newest message: one call, no fetching."""
    return op_mark_read(ctx, kind, target, user_id, None)


def op_dismiss_all(ctx: Any, user_id: int, targets: list[tuple[Kind, int]]) -> Outcome:
    """op_dismiss of each (one the user can no longer read is left as it is)."""
    out = Outcome([])
    for kind, target in targets:
        try:
            done = op_mark_read(ctx, kind, target, user_id, None)
        except ChatError:
            continue
        out.result.append(f"{kind.name}:{target}")
        out.effects.extend(done.effects)
    return out

"""chatd.store.community and its permission snapshots on a real SQLite file: a community's
rows, members in every channel, overwrites, and the cache keyed by (community, version)."""

from __future__ import annotations

from chatd.policy.community_perms import Capability as C
from chatd.store import community, community_cache, community_roles

from .test_search_index import _db, _user


def _community(tmp_path):
    ctx = _db(tmp_path)
    a, b = _user(ctx, "a"), _user(ctx, "b")
    cid = community.create(ctx, a, "社区", "", "", True, "open")
    cat = community.create_category(ctx, cid, "Text", 0)
    general = community.create_channel(ctx, cid, "general", cat, 0)
    return ctx, a, b, cid, cat, general


def test_members_have_a_row_in_every_channel_and_leave_them_at_once(tmp_path):
    ctx, a, b, cid, cat, general = _community(tmp_path)
    conn = ctx.conn
    other = community.create_channel(ctx, cid, "other", None, 1)
    assert community.add_member(ctx, cid, b) == [general, other]
    rows = conn.execute("SELECT conv_id FROM members WHERE user_id = ? ORDER BY conv_id", (b,)).fetchall()
    assert [r[0] for r in rows] == [general, other]
    assert community.row(conn, cid)["member_count"] == 2
    community.remove_member(conn, cid, b)
    assert conn.execute("SELECT COUNT(*) FROM members WHERE user_id = ?", (b,)).fetchone()[0] == 0
    assert community.row(conn, cid)["member_count"] == 1


def test_snapshot_follows_the_version(tmp_path):
    ctx, a, b, cid, cat, general = _community(tmp_path)
    conn = ctx.conn
    community.add_member(ctx, cid, b)
    cache = community_cache.CommunityCache()
    snap = cache.get(conn, cid)
    assert snap.viewers(general, [a, b]) == [a, b]
    assert cache.get(conn, cid) is snap  # same version: no reload
    everyone = snap.community.everyone_id
    community.set_overwrite(conn, cid, "category", cat, "role", everyone, 0, int(C.VIEW_CHANNEL))
    snap2 = cache.get(conn, cid)
    assert snap2 is not snap and snap2.version > snap.version
    assert snap2.viewers(general, [a, b]) == [a]  # the owner sees everything
    # The channel is synced: it follows the category; its own overwrite unsyncs it.
    community.set_overwrite(conn, cid, "channel", general, "member", b, int(C.VIEW_CHANNEL), 0)
    snap3 = cache.get(conn, cid)
    assert snap3.channels[general].synced is False and snap3.viewers(general, [a, b]) == [a, b]


def test_a_time_out_decision_expires_by_itself(tmp_path):
    ctx, a, b, cid, cat, general = _community(tmp_path)
    conn = ctx.conn
    community.add_member(ctx, cid, b)
    community.set_timeout(conn, cid, b, ctx.now + 1000)
    snap = community_cache.CommunityCache().get(conn, cid)
    assert not snap.decision(b, general, ctx.now).allows(C.SEND)
    assert snap.can_view(b, general)
    assert snap.decision(b, general, ctx.now + 1000).allows(C.SEND)


def test_discover_matches_cjk_names_and_disband_removes_everything(tmp_path):
    ctx, a, b, cid, cat, general = _community(tmp_path)
    conn = ctx.conn
    community.create(ctx, a, "private", "", "", False, "invite")
    found = community.discover(conn, "社", 10, 0)
    assert [c["community_id"] for c in found["communities"]] == [cid] and found["total"] == 1
    assert community.discover(conn, "", 10, 0)["total"] == 1
    community.disband(conn, cid)
    assert conn.execute("SELECT COUNT(*) FROM conversations WHERE id = ?", (general,)).fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM community_members WHERE community_id = ?", (cid,)).fetchone()[0] == 0
    assert community_cache.CommunityCache().get(conn, cid) is None


def test_a_version_a_rolled_back_transaction_made_is_never_made_again(tmp_path):
    ctx, a, b, cid, cat, general = _community(tmp_path)
    conn = ctx.conn
    community.add_member(ctx, cid, b)
    cache = community_cache.CommunityCache()
    everyone = cache.get(conn, cid).community.everyone_id
    conn.execute("BEGIN IMMEDIATE")  # a batch hides the channel, and the writer caches what it sees
    community.set_overwrite(conn, cid, "category", cat, "role", everyone, 0, int(C.VIEW_CHANNEL))
    assert cache.get(conn, cid).viewers(general, [a, b]) == [a]
    conn.execute("ROLLBACK")  # the batch never commits
    community.set_overwrite(conn, cid, "category", cat, "role", everyone, int(C.SEND), 0)  # another change commits
    assert cache.get(conn, cid).viewers(general, [a, b]) == [a, b]


def test_a_new_version_keeps_the_assignments_unless_they_changed(tmp_path):
    ctx, a, b, cid, cat, general = _community(tmp_path)
    conn = ctx.conn
    community.add_member(ctx, cid, b)
    mods = community_roles.insert(ctx, cid, "Mods", 1, int(C.VIEW_CHANNEL), {})
    community_roles.assign(conn, cid, b, [mods], [])
    cache = community_cache.CommunityCache()
    first = cache.get(conn, cid)
    assert first.member(b).role_ids == {mods}
    community_roles.update(conn, cid, mods, "Moderators", int(C.VIEW_CHANNEL | C.SEND), {})  # no assignment changed
    second = cache.get(conn, cid)
    assert second is not first and second.assignments[1] is first.assignments[1]  # not read again
    assert second.member(b).role_ids == {mods} and second.community.roles[mods].name == "Moderators"
    community_roles.assign(conn, cid, b, [], [mods])
    third = cache.get(conn, cid)
    assert third.assignments[1] is not second.assignments[1] and third.member(b).role_ids == frozenset()

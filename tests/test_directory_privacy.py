"""The DM privacy policy `department` over the wire: the target's departments and the
departments under them, from the enterprise directory's tree; a move in the tree moves who gets
in; the refusal is the one neutral privacy_restricted."""

from __future__ import annotations

from .test_community_chat import fails, text
from .test_directory import dept, upsert


async def test_the_department_policy_follows_the_tree(harness, users):
    b, c = users["bob"], users["carol"]
    await harness.add_user("dave")
    await harness.add_user("erin")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1, harness.client("dave") as d1, harness.client("erin") as e1:
        eng = await dept(a1, "Engineering")
        backend = await dept(a1, "Backend", eng)
        sales = await dept(a1, "Sales")
        await upsert(a1, "bob", "Bob", [eng])
        await upsert(a1, "carol", "Carol", [backend])
        await upsert(a1, "dave", "Dave", [sales])
        await upsert(a1, "alice", "Alice", [sales, eng], primary_department_id=sales)
        assert (await b1.request("chat_dm_privacy_set", {"policy": "department"}))["policy"] == "department"
        assert (await c1.request("chat_dm_privacy_set", {"policy": "department"}))["policy"] == "department"
        # Carol (Backend) does not let in Engineering above her.
        await fails(b1, "chat_dm_send", {"peer": c, "content": text("from above")}, "privacy_restricted")
        # Bob (Engineering) lets in Engineering and Backend, under it; alice is in Engineering too.
        await c1.request("chat_dm_send", {"peer": b, "content": text("from backend")})
        await a1.request("chat_dm_send", {"peer": b, "content": text("from alice")})
        err = await fails(d1, "chat_dm_send", {"peer": b, "content": text("from sales")}, "privacy_restricted")
        assert err.field == "peer"
        await fails(e1, "chat_dm_send", {"peer": b, "content": text("not in the directory")}, "privacy_restricted")
        gid = (await d1.request("chat_group_create", {"name": "sales"}))["group"]["group_id"]
        await fails(d1, "chat_group_invite", {"group_id": gid, "user_ids": [b]}, "privacy_restricted")
        # Carol wrote to bob: that DM is open to his answer whatever her policy.
        await b1.request("chat_dm_send", {"peer": c, "content": text("answered")})
        # Moving Sales under Engineering lets dave in; moving Backend out shuts carol's new DMs.
        await a1.request("enterprise_department_update", {"department_id": sales, "parent_id": eng})
        await d1.request("chat_dm_send", {"peer": b, "content": text("now in engineering")})
        await a1.request("enterprise_department_update", {"department_id": backend, "parent_id": 0})
        gid2 = (await c1.request("chat_group_create", {"name": "backend"}))["group"]["group_id"]
        await fails(c1, "chat_group_invite", {"group_id": gid2, "user_ids": [b]}, "privacy_restricted")
        await fails(e1, "chat_dm_send", {"peer": b, "content": text("still not")}, "privacy_restricted")

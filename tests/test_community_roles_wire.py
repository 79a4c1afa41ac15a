"""Community roles over real sockets: create, list, update, delete and assign, within the
role hierarchy, with community.member_changed to every device; the known exploit of moving a
higher role down and then editing it fails at the first step and writes nothing."""

from __future__ import annotations

from .test_community_chat import fails, setup


async def _roles(client, cid) -> list[tuple[str, int, list[str]]]:
    listed = (await client.request("community_role_list", {"community_id": cid}))["roles"]
    return [(r["name"], r["position"], r["allow"]) for r in listed]


async def test_roles_crud_assign_and_the_hierarchy(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2, harness.client("carol") as c1:
        cid, cat, ch = await setup(a1, b1)
        await c1.request("community_join", {"community_id": cid})
        err = await fails(b1, "community_role_create", {"community_id": cid, "name": "x"}, "forbidden")
        assert err.missing == "manage_roles"
        await fails(a1, "community_role_create", {"community_id": cid, "name": "x", "allow": ["fly"]}, "bad_request")
        await fails(a1, "community_role_create", {"community_id": cid, "name": "x" * 10000}, "bad_request")
        await fails(a1, "community_role_create", {"community_id": cid, "name": "x", "position": 5}, "bad_request")
        mod = (await a1.request("community_role_create", {"community_id": cid, "name": "版主", "allow": ["kick", "mute", "manage_roles"]}))["role"]
        assert (mod["position"], mod["allow"], mod["member_count"]) == (1, ["manage_roles", "kick", "mute"], 0)
        out = await a1.request("community_role_set", {"community_id": cid, "user_id": b, "add": [mod["role_id"]]})
        assert out["role_ids"] == [mod["role_id"]]
        push = await b2.next_push("community.member_changed", where=lambda d: d["event"] == "roles")
        assert push["data"]["user_id"] == b
        # bob's role lets him time carol out, and create a role below his own.
        await b1.request("community_member_mute_set", {"community_id": cid, "user_id": c, "duration_ms": 0})
        helper = (await b1.request("community_role_create", {"community_id": cid, "name": "Helper", "allow": ["kick"]}))["role"]
        assert helper["position"] == 1
        assert await _roles(c1, cid) == [("版主", 2, ["manage_roles", "kick", "mute"]), ("Helper", 1, ["kick"]),
                                         ("@everyone", 0, ["view_channel", "send", "read_history", "invite"])]
        err = await fails(b1, "community_role_create", {"community_id": cid, "name": "Admin", "allow": ["administrator"]}, "forbidden")
        assert err.missing == "administrator"
        await fails(b1, "community_role_create", {"community_id": cid, "name": "Peer", "position": 3}, "forbidden")
        await fails(b1, "community_role_set", {"community_id": cid, "user_id": c, "add": [mod["role_id"]]}, "forbidden")  # not below him
        await fails(b1, "community_role_set", {"community_id": cid, "user_id": a, "add": [helper["role_id"]]}, "forbidden")  # the owner
        everyone = (await c1.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]
        await fails(a1, "community_role_set", {"community_id": cid, "user_id": c, "add": [everyone]}, "bad_request")
        await fails(a1, "community_role_set", {"community_id": cid, "user_id": c, "add": [99999]}, "not_found")
        await fails(a1, "community_role_set", {"community_id": cid, "user_id": 99999, "add": [helper["role_id"]]}, "not_found")
        assert (await b1.request("community_role_set", {"community_id": cid, "user_id": c, "add": [helper["role_id"]]}))["role_ids"] == [helper["role_id"]]
        # Update: rename, capabilities, move; @everyone stays.
        up = await b1.request("community_role_update", {"community_id": cid, "role_id": helper["role_id"], "name": "Helpers", "allow": ["kick", "mute"]})
        assert (up["role"]["name"], up["role"]["allow"], up["role"]["member_count"]) == ("Helpers", ["kick", "mute"], 1)
        await fails(a1, "community_role_update", {"community_id": cid, "role_id": everyone, "position": 1}, "bad_request")
        await fails(a1, "community_role_update", {"community_id": cid, "role_id": everyone, "name": "all"}, "bad_request")
        moved = await a1.request("community_role_update", {"community_id": cid, "role_id": helper["role_id"], "position": 2})
        assert moved["role"]["position"] == 2
        assert [(n, p) for n, p, _ in await _roles(a1, cid)] == [("Helpers", 2), ("版主", 1), ("@everyone", 0)]
        # Now carol's Helpers outranks bob: he can no longer act on her.
        await fails(b1, "community_member_mute_set", {"community_id": cid, "user_id": c, "duration_ms": 1000}, "forbidden")
        # Delete: below one's own only; never @everyone.
        await fails(b1, "community_role_delete", {"community_id": cid, "role_id": helper["role_id"]}, "forbidden")
        await fails(a1, "community_role_delete", {"community_id": cid, "role_id": everyone}, "bad_request")
        await fails(a1, "community_role_delete", {"community_id": cid, "role_id": 99999}, "not_found")
        out = await a1.request("community_role_delete", {"community_id": cid, "role_id": helper["role_id"]})
        assert out == {"community_id": cid, "role_id": helper["role_id"], "deleted": True}
        push = await c1.next_push("community.member_changed", where=lambda d: d["event"] == "roles" and d["user_id"] == c)
        assert [(n, p) for n, p, _ in await _roles(a1, cid)] == [("版主", 1), ("@everyone", 0)]
        assert (await a1.request("community_members", {"community_id": cid}))["members"][2]["role_ids"] == []
        await b1.request("community_member_mute_set", {"community_id": cid, "user_id": c, "duration_ms": 0})
        await fails(c1, "community_role_list", {"community_id": 99999}, "not_found")


async def test_moving_a_higher_role_down_to_edit_it_fails_and_writes_nothing(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)
        mod = (await a1.request("community_role_create", {"community_id": cid, "name": "Mod", "allow": ["manage_roles"]}))["role"]
        boss = (await a1.request("community_role_create", {"community_id": cid, "name": "Boss", "allow": ["kick"], "position": 2}))["role"]
        await a1.request("community_role_set", {"community_id": cid, "user_id": b, "add": [mod["role_id"]]})
        before = await _roles(a1, cid)
        assert [(n, p) for n, p, _ in before] == [("Boss", 2), ("Mod", 1), ("@everyone", 0)]
        await fails(b1, "community_role_update", {"community_id": cid, "role_id": boss["role_id"], "position": 1}, "forbidden")
        await fails(b1, "community_role_update", {"community_id": cid, "role_id": boss["role_id"], "allow": ["kick", "manage_roles"]}, "forbidden")
        await fails(b1, "community_role_update", {"community_id": cid, "role_id": mod["role_id"], "position": 2}, "forbidden")
        await fails(b1, "community_role_update", {"community_id": cid, "role_id": mod["role_id"], "allow": ["manage_roles", "kick"]}, "forbidden")
        await fails(b1, "community_role_set", {"community_id": cid, "user_id": b, "add": [boss["role_id"]]}, "forbidden")
        await fails(b1, "community_role_delete", {"community_id": cid, "role_id": boss["role_id"]}, "forbidden")
        assert await _roles(a1, cid) == before


async def test_reorder_moves_only_roles_below_ones_own(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)
        x = (await a1.request("community_role_create", {"community_id": cid, "name": "X"}))["role"]["role_id"]
        y = (await a1.request("community_role_create", {"community_id": cid, "name": "Y", "position": 2}))["role"]["role_id"]
        mod = (await a1.request("community_role_create", {"community_id": cid, "name": "Mod", "allow": ["manage_roles"], "position": 3}))["role"]["role_id"]
        boss = (await a1.request("community_role_create", {"community_id": cid, "name": "Boss", "position": 4}))["role"]["role_id"]
        await a1.request("community_role_set", {"community_id": cid, "user_id": b, "add": [mod]})
        out = await b1.request("community_role_reorder", {"community_id": cid, "role_ids": [y, x, mod, boss]})
        assert [r["name"] for r in out["roles"]] == ["Boss", "Mod", "X", "Y", "@everyone"]
        before = (await a1.request("community_role_list", {"community_id": cid}))["roles"]
        await fails(b1, "community_role_reorder", {"community_id": cid, "role_ids": [y, x, boss, mod]}, "forbidden")  # Boss down
        await fails(b1, "community_role_reorder", {"community_id": cid, "role_ids": [y, mod, x, boss]}, "forbidden")  # X up to Mod's level
        await fails(b1, "community_role_reorder", {"community_id": cid, "role_ids": [y, x, mod]}, "bad_request")
        await fails(b1, "community_role_reorder", {"community_id": cid, "role_ids": [y, y, mod, boss]}, "bad_request")
        await fails(b1, "community_role_reorder", {"community_id": cid, "role_ids": [y, x, mod, 99999]}, "not_found")
        assert (await a1.request("community_role_list", {"community_id": cid}))["roles"] == before
        out = await a1.request("community_role_reorder", {"community_id": cid, "role_ids": [boss, mod, x, y]})
        assert [r["name"] for r in out["roles"]] == ["Y", "X", "Mod", "Boss", "@everyone"]

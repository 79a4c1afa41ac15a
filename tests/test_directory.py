"""The enterprise directory over the wire: departments (tree, moves, cycles, deletes), members
(linked to chatd users), the search (pinyin that reads surnames right, initials, prefixes),
who may write, and a deactivated member's connections closed before the answer."""

from __future__ import annotations

import pytest

from chatd.client import ClientError
from chatd.store import directory as dir_store

from .conftest import PASSWORD



async def fails(client, cmd, data, code, field=None):
    with pytest.raises(ClientError) as exc:
        await client.request(cmd, data)
    assert exc.value.code == code, exc.value.error
    if field is not None:
        assert exc.value.error.get("field") == field, exc.value.error
    return exc.value.error


async def dept(client, name, parent=None):
    data = {"name": name} if parent is None else {"name": name, "parent_id": parent}
    return (await client.request("enterprise_department_create", data))["department"]["id"]


async def tree(client, root=None):
    data = {} if root is None else {"department_id": root}
    return [(d["name"], d["depth"], d["member_count"], d["total_count"]) for d in (await client.request("enterprise_department_list", data))["departments"]]


async def upsert(client, username, name, depts=(), **fields):
    data = {"username": username, "name": name, "department_ids": list(depts), **fields}
    return (await client.request("enterprise_member_upsert", data))["member"]


async def left_for_good(harness, connections, name, password):
    """Every one of these connections was closed (4003, with the reason); the account logs in no more."""
    for conn in connections:
        closed = await conn.wait_closed()
        assert closed.reason.code == 4003 and "left the directory" in closed.reason.reason
    async with harness.client() as anon:
        with pytest.raises(ClientError) as exc:
            await anon.login(name, password)
        assert exc.value.code == "auth_failed"


async def found(client, query, **extra):
    return [m["name"] for m in (await client.request("enterprise_member_search", {"query": query, **extra}))["members"]]


async def test_departments_form_a_tree(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        eng = await dept(a, "Engineering")
        backend = await dept(a, "Backend", eng)
        db = await dept(a, "Databases", backend)
        sales = await dept(a, "Sales")
        await fails(a, "enterprise_department_create", {"name": "Backend", "parent_id": eng}, "conflict", "name")
        await fails(a, "enterprise_department_create", {"name": "X", "parent_id": 999}, "not_found", "parent_id")
        await upsert(a, "bob", "Bob", [backend])
        await upsert(a, "carol", "Carol", [db, eng], primary_department_id=db)
        # Every user reads the tree, depth first, with the members of each and of its subtree.
        assert await tree(b) == [("Engineering", 0, 1, 2), ("Backend", 1, 1, 2), ("Databases", 2, 1, 1), ("Sales", 0, 0, 0)]
        assert await tree(b, backend) == [("Backend", 0, 1, 2), ("Databases", 1, 1, 1)]
        # A move that would make a cycle is refused, and changes nothing.
        await fails(a, "enterprise_department_update", {"department_id": eng, "parent_id": db}, "conflict", "parent_id")
        await fails(a, "enterprise_department_update", {"department_id": eng, "parent_id": eng}, "conflict", "parent_id")
        await fails(a, "enterprise_department_update", {"department_id": eng}, "bad_request")
        await fails(a, "enterprise_department_update", {"department_id": 999, "name": "Y"}, "not_found", "department_id")
        # Rename and move (with its subtree and members).
        moved = (await a.request("enterprise_department_update", {"department_id": backend, "parent_id": sales, "name": "Platform"}))["department"]
        assert moved["parent_id"] == sales and moved["name"] == "Platform" and moved["total_count"] == 2
        assert await tree(b) == [("Engineering", 0, 1, 1), ("Sales", 0, 0, 2), ("Platform", 1, 1, 2), ("Databases", 2, 1, 1)]
        top = (await a.request("enterprise_department_update", {"department_id": db, "parent_id": 0}))["department"]
        assert top["parent_id"] is None
        # A department that is not empty is deleted only with move_members_up.
        await fails(a, "enterprise_department_delete", {"department_id": sales}, "conflict")
        await fails(b, "enterprise_department_delete", {"department_id": db}, "forbidden")
        out = await a.request("enterprise_department_delete", {"department_id": backend, "move_members_up": True})
        assert out == {"department_id": backend, "moved_members": 1}
        assert await tree(b) == [("Databases", 0, 1, 1), ("Engineering", 0, 1, 1), ("Sales", 0, 1, 1)]
        bob = (await b.request("enterprise_member_list", {"department_id": sales}))["members"][0]
        assert bob["user"]["id"] == users["bob"] and bob["departments"] == [{"id": sales, "name": "Sales", "primary": True}]
        out = await a.request("enterprise_department_delete", {"department_id": db, "move_members_up": True})
        assert out["moved_members"] == 1  # carol leaves the top-level department, stays in Engineering
        carol = (await b.request("enterprise_member_list", {"department_id": eng}))["members"][0]
        assert [d["name"] for d in carol["departments"]] == ["Engineering"]
        await fails(b, "enterprise_department_list", {"department_id": db}, "not_found", "department_id")


async def test_members_are_chatd_users(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        eng = await dept(a, "Engineering")
        qa = await dept(a, "QA", eng)
        out = await a.request(
            "enterprise_member_upsert",
            {"username": "zhangsan", "name": "张三", "title": "Engineer", "department_ids": [qa], "email": "zs@example.com", "phone": "+86 138-0013-8000", "employee_no": "E1024", "manager_id": users["alice"]},
        )
        assert out["created"] is True
        m = out["member"]
        assert m["user"]["name"] == "zhangsan" and m["user"]["display_name"] == "张三" and m["active"] is True
        assert (m["title"], m["email"], m["employee_no"], m["manager_id"]) == ("Engineer", "zs@example.com", "E1024", users["alice"])
        # The same username matches the same user: no second account.
        again = await a.request("enterprise_member_upsert", {"username": "zhangsan", "name": "张三", "department_ids": [eng, qa], "primary_department_id": qa})
        assert again["created"] is False and again["member"]["user"]["id"] == m["user"]["id"]
        assert again["member"]["departments"] == [{"id": qa, "name": "QA", "primary": True}, {"id": eng, "name": "Engineering", "primary": False}]
        assert again["member"]["title"] == ""  # an upsert replaces the entry
        # An existing user by id.
        bob = (await a.request("enterprise_member_upsert", {"user_id": users["bob"], "name": "Bob Lee", "department_ids": [eng]}))["member"]
        assert bob["user"]["id"] == users["bob"] and bob["user"]["display_name"] == "Bob Lee"
        # Errors change nothing.
        await fails(a, "enterprise_member_upsert", {"username": "x1", "name": "X", "department_ids": [eng, 999]}, "not_found", "department_ids[1]")
        await fails(a, "enterprise_member_upsert", {"username": "x1", "name": "X", "department_ids": [eng], "primary_department_id": qa}, "bad_request", "primary_department_id")
        await fails(a, "enterprise_member_upsert", {"user_id": 999, "name": "X"}, "not_found", "user_id")
        await fails(a, "enterprise_member_upsert", {"user_id": users["bob"], "username": "bob", "name": "X"}, "bad_request")
        await fails(a, "enterprise_member_upsert", {"username": "x1", "name": "X", "manager_id": 999}, "not_found", "manager_id")
        await fails(b, "enterprise_member_upsert", {"username": "x1", "name": "X"}, "forbidden")
        assert await found(b, "x") == []
        # Lists: a department, or its subtree, a page at a time.
        page = await b.request("enterprise_member_list", {"department_id": eng, "limit": 1})
        assert page["total"] == 2 and page["has_more"] is True and [x["name"] for x in page["members"]] == ["Bob Lee"]
        page = await b.request("enterprise_member_list", {"department_id": qa, "recursive": True})
        assert [x["name"] for x in page["members"]] == ["张三"] and page["has_more"] is False
        rec = await b.request("enterprise_member_list", {"department_id": eng, "recursive": True, "offset": 1})
        assert [x["name"] for x in rec["members"]] == ["张三"] and rec["total"] == 2
        await fails(b, "enterprise_member_list", {"department_id": 999}, "not_found", "department_id")
        # Removal.
        await fails(b, "enterprise_member_remove", {"user_id": users["bob"]}, "forbidden")
        assert await a.request("enterprise_member_remove", {"user_id": users["bob"]}) == {"user_id": users["bob"], "deactivated": False}
        await fails(a, "enterprise_member_remove", {"user_id": users["bob"]}, "not_found", "user_id")
        assert await found(a, "bob") == []
        assert (await b.request("ping", {})) is not None  # bob is still a chatd user, connected


GOLDEN = [("曾国藩", "zeng"), ("单田芳", "shan"), ("解缙", "xie"), ("区伟", "ou"), ("仇英", "qiu"), ("查良镛", "zha"), ("朴槿惠", "piao")]


async def test_search_by_pinyin_initials_and_prefixes(harness, users):
    async with harness.client("alice") as a, harness.client("bob") as b:
        eng = await dept(a, "Engineering")
        ops = await dept(a, "运维")
        await upsert(a, "zhangsan", "张三", [eng], title="Backend Engineer", email="san.zhang@example.com", phone="138-0013-8000", employee_no="E1024")
        await upsert(a, "zhangsi", "张思", [ops], title="运维工程师")
        await upsert(a, "jsmith", "John Smith", [eng], title="Designer")
        for i, (name, _) in enumerate(GOLDEN):
            await upsert(a, f"golden{i}", name, [eng])
        for query in ("zhangsan", "zhang s", "zhangs", "zs", "张s", "张三", "ZHANG SAN", "三", "san.zhang@", "1380013", "8000", "e10", "backend eng"):
            assert "张三" in await found(b, query), query
        assert await found(b, "zhangsan") == ["张三"]
        assert sorted(await found(b, "zhang")) == ["张三", "张思"]
        assert await found(b, "张", department_id=ops) == ["张思"]
        assert await found(b, "运维") == ["张思"]  # by title
        assert await found(b, "js") == ["John Smith"]
        assert await found(b, "john sm") == ["John Smith"]
        assert await found(b, "smi") == ["John Smith"]
        # Surnames read as surnames, by full pinyin, by prefix as the user types, and by initials.
        for name, surname in GOLDEN:
            assert name in await found(b, surname), (name, surname)
            assert name in await found(b, surname[:2]), (name, surname)
        assert await found(b, "zengguofan") == ["曾国藩"]
        assert await found(b, "zgf") == ["曾国藩"]
        assert await found(b, "曾g") == ["曾国藩"]
        assert await found(b, "shantianfang") == ["单田芳"]
        assert await found(b, "ceng") == [] and await found(b, "dantian") == [] and await found(b, "jiejin") == []
        # Nothing matching, punctuation only, or too long: an empty list or bad_request.
        assert await found(b, "qqqq") == []
        assert await found(b, "\"*(") == []
        await fails(b, "enterprise_member_search", {"query": ""}, "bad_request", "query")
        await fails(b, "enterprise_member_search", {"query": "x" * 65}, "bad_request", "query")
        await fails(b, "enterprise_member_search", {"query": "z", "department_id": 999}, "not_found", "department_id")


async def test_directory_admins_write_and_deactivation_closes_connections(harness, users):
    def grant(ctx):
        dir_store.set_directory_admin(ctx.conn, "carol", True)

    async with harness.client("carol") as c, harness.client("bob") as b1, harness.client("bob") as b2:
        await fails(c, "enterprise_department_create", {"name": "HR"}, "forbidden")
        await harness.server.writer.submit(grant)
        hr = await dept(c, "HR")
        await upsert(c, "bob", "Bob", [hr])
        await upsert(c, "alice", "Alice", [hr])
        await fails(c, "enterprise_member_remove", {"user_id": users["alice"], "deactivate": True}, "forbidden", "user_id")
        await fails(c, "enterprise_member_remove", {"user_id": users["carol"], "deactivate": True}, "bad_request", "user_id")
        out = await c.request("enterprise_member_remove", {"user_id": users["bob"], "deactivate": True})
        assert out == {"user_id": users["bob"], "deactivated": True}
        await left_for_good(harness, (b1, b2), "bob", PASSWORD)


async def test_a_short_prefix_with_many_matches_lists_names_first(harness, users):
    from chatd.store import directory_search

    many = directory_search.RANK_MAX + 20

    def seed(ctx):
        for i in range(many):
            uid, _ = dir_store.find_or_create_user(ctx.conn, f"z{i:03d}", f"张{i:03d}")
            dir_store.put_member(ctx, uid, {"name": f"张{i:03d}", "title": "Engineer"}, [], None)
        for i in range(30):  # matched by their title only
            uid, _ = dir_store.find_or_create_user(ctx.conn, f"t{i:03d}", f"Tom {i:03d}")
            dir_store.put_member(ctx, uid, {"name": f"Tom {i:03d}", "title": "Zookeeper"}, [], None)

    await harness.server.writer.submit(seed)
    async with harness.client("bob") as b:
        names = await found(b, "z", limit=50)
        assert len(names) == 50 and names == sorted(names) and all(n.startswith("张") for n in names)
        assert await found(b, "zookeeper", limit=50) == [f"Tom {i:03d}" for i in range(30)]  # few: ranked, then by name
        assert await found(b, "张007") == ["张007"]

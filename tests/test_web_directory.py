"""The web client's directory view in a real browser (tests/browser.py): the department tree,
the people of a department with their titles, search as you type by pinyin and initials, and a
person's button that starts a DM."""

from __future__ import annotations

from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser")

from .browser import Chatd, expect

pytest_plugins = ["tests.browser"]  # the fixtures: browser, chatd, pages


def test_the_directory_view(pages: tuple[Any, Any], chatd: Chatd) -> None:
    _, bob = pages
    ta = chatd.token("alice")  # an administrator
    eng = chatd.command(ta, "enterprise_department_create", {"name": "Engineering"})["department"]["id"]
    backend = chatd.command(ta, "enterprise_department_create", {"name": "Backend", "parent_id": eng})["department"]["id"]
    chatd.command(ta, "enterprise_department_create", {"name": "Sales"})
    zs = chatd.command(ta, "enterprise_member_upsert", {"username": "zhangsan", "name": "张三", "title": "Engineer", "department_ids": [backend]})["member"]
    chatd.command(ta, "enterprise_member_upsert", {"username": "zengguofan", "name": "曾国藩", "title": "CTO", "department_ids": [eng]})
    bob.click(".to-directory")
    tree = bob.locator(".department")
    expect(tree).to_have_count(3)
    expect(tree.nth(0)).to_contain_text("Engineering")
    expect(tree.nth(0).locator(".count")).to_have_text("2")
    expect(tree.nth(1)).to_contain_text("Backend")
    # a department lists its people (of its subtree too), with their titles
    tree.nth(0).click()
    people = bob.locator(".person")
    expect(people).to_have_count(2)
    expect(bob.locator(f'.person[data-user="{zs["user"]["id"]}"] .job')).to_have_text("Engineer · Backend")
    # search as you type: initials, pinyin with the surname read right, Han and a letter
    for query, name in (("zs", "张三"), ("zeng", "曾国藩"), ("张s", "张三")):
        bob.fill(".directory-search", query)
        expect(people).to_have_count(1)
        expect(people.nth(0).locator(".who")).to_have_text(name)
    bob.fill(".directory-search", "ceng")
    expect(people).to_have_count(0)
    # a person's button starts a DM
    bob.fill(".directory-search", "zhangsan")
    people.nth(0).locator(".start-dm").click()
    expect(bob.locator(".compose")).to_be_visible()
    assert bob.evaluate("location.hash") == f"#dm:{zs['user']['id']}"

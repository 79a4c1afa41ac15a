"""The web client's community view in a real browser (tests/browser.py): channels and categories
made, renamed and deleted, a role made and given, a category's overwrites, time-outs, handing the
community over, and requests to join, each seen by the other user live."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser")

from .browser import IMG, Chatd, expect, text

pytest_plugins = ["tests.browser"]  # the fixtures: browser, chatd, pages


def open_community(page: Any, channel: int) -> None:
    page.click(f'.entry[data-target="channel:{channel}"] a')
    page.click(".to-community")
    expect(page.locator(".community .channels")).to_be_visible()


def test_channels_roles_and_members_of_a_community(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta, tb = chatd.token("alice"), chatd.token("bob")
    made = chatd.command(ta, "community_create", {"name": "开源社区", "public": True, "join_mode": "open"})
    general = made["channel_id"]
    chatd.command(tb, "community_join", {"community_id": made["community"]["community_id"]})
    open_community(alice, general)
    expect(alice.locator(".community h2")).to_have_text("开源社区")
    expect(alice.locator('.community-members li[data-user="1"] .role')).to_have_text("owner")
    # the community's own settings
    alice.fill("input[name=community-name]", "开源社区 Open")
    alice.fill("input[name=community-description]", "为开源爱好者")
    alice.select_option("select[name=community-join-mode]", "request")
    alice.click(".community-settings button[type=submit]")
    expect(alice.locator(".community h2")).to_have_text("开源社区 Open")
    expect(alice.locator(".community-settings .saved")).to_be_visible()
    assert chatd.command(tb, "community_info", {"community_id": made["community"]["community_id"]})["community"]["join_mode"] == "request"
    # a category only a new role sees: @everyone denied view_channel, the role allowed it
    alice.fill("input[name=category-name]", "Staff 员工")
    alice.press("input[name=category-name]", "Enter")
    staff = alice.locator(".category", has_text="Staff 员工")
    expect(staff).to_be_visible()
    alice.click(".new-role")
    alice.fill("input[name=role-name]", "Mod 版主")
    alice.check("input[name=cap-kick]")
    alice.click(".save-role")
    mod = alice.locator(".roles li", has_text="Mod 版主")
    expect(mod.locator(".caps-list")).to_have_text("Remove members")
    # a second role, made below it, moves above it and back
    alice.click(".new-role")
    alice.fill("input[name=role-name]", "Helper")
    alice.click(".save-role")
    alice.locator(".roles li", has_text="Helper").locator(".role-up").click()
    expect(alice.locator(".roles .role-name")).to_have_text(["Helper", "Mod 版主", "@everyone"])
    alice.locator(".roles li", has_text="Helper").locator(".role-down").click()
    expect(alice.locator(".roles .role-name")).to_have_text(["Mod 版主", "Helper", "@everyone"])
    staff.locator(".permissions").first.click()
    alice.select_option("select[name=overwrite-role]", label="@everyone")
    alice.select_option("select[name=ow-view_channel]", "deny")
    alice.click(".save-overwrite")
    expect(alice.locator(".overwrites")).to_have_count(0)
    staff.locator(".permissions").first.click()
    alice.select_option("select[name=overwrite-role]", label="Mod 版主")
    alice.select_option("select[name=ow-view_channel]", "allow")
    alice.click(".save-overwrite")
    expect(alice.locator(".overwrites")).to_have_count(0)
    alice.fill("input[name=channel-name]", "mods")
    alice.select_option("select[name=channel-category]", label="Staff 员工")
    alice.click(".new-channel button[type=submit]")
    link = staff.locator("a", has_text="# mods")
    expect(link).to_be_visible()
    mods = int(link.get_attribute("href").split(":")[1])
    # bob, without the role, does not see it ...
    open_community(bob, general)
    expect(bob.locator(".community h2")).to_have_text("开源社区 Open")
    expect(bob.locator(".community .description")).to_have_text("为开源爱好者")
    expect(bob.locator(".community-settings")).to_have_count(0)  # bob may not change them
    expect(bob.locator(".channels [data-channel]")).to_have_count(1)
    expect(bob.locator(".roles li", has_text="Mod 版主")).to_be_visible()
    expect(bob.locator(".new-channel")).to_have_count(0)  # bob may not manage channels
    # ... until alice gives it to him: the channel appears in his view and his list at once
    alice.select_option('.community-members li[data-user="2"] select[name=give-role]', label="Mod 版主")
    expect(alice.locator('.community-members li[data-user="2"] .chip')).to_have_text("Mod 版主✕")
    expect(bob.locator(f'.channels [data-channel="{mods}"]')).to_be_visible()
    expect(bob.locator(f'.entry[data-target="channel:{mods}"]')).to_be_visible()
    expect(bob.locator('.community-members li[data-user="2"] .chip')).to_have_text("Mod 版主")
    # renamed, seen by bob
    alice.locator(f'[data-channel="{mods}"] .rename').click()
    alice.fill(f'[data-channel="{mods}"] input[name=new-name]', "moderators 版主")
    alice.press(f'[data-channel="{mods}"] input[name=new-name]', "Enter")
    expect(bob.locator(f'.channels [data-channel="{mods}"] a')).to_have_text("# moderators 版主")
    expect(alice.locator(f'.entry[data-target="channel:{mods}"] .title')).to_have_text("moderators 版主")
    # a time-out, seen by bob on himself
    alice.click('.community-members li[data-user="2"] .time-out')
    expect(bob.locator('.community-members li[data-user="2"] .timed-out')).to_be_visible()
    alice.emulate_media(color_scheme="light")
    alice.screenshot(path=str(IMG / "web-community.png"))
    alice.click('.community-members li[data-user="2"] .time-out')  # lifted
    expect(bob.locator('.community-members li[data-user="2"] .timed-out')).to_have_count(0)
    # the role taken back: the channel is gone from bob's list
    alice.click('.community-members li[data-user="2"] .take-role')
    expect(bob.locator(f'.entry[data-target="channel:{mods}"]')).to_have_count(0)
    expect(bob.locator(".channels [data-channel]")).to_have_count(1)
    # given a topic and moved to the open category: bob sees it again, under its new category
    alice.locator(f'[data-channel="{mods}"] .rename').click()
    alice.fill(f'[data-channel="{mods}"] input[name=new-topic]', "值班 on duty")
    alice.select_option(f'[data-channel="{mods}"] select[name=move-to]', label="Text Channels")
    alice.press(f'[data-channel="{mods}"] input[name=new-topic]', "Enter")
    moved = bob.locator(".category", has_text="Text Channels").locator(f'[data-channel="{mods}"]')
    expect(moved.locator(".note")).to_have_text("值班 on duty")
    expect(bob.locator(f'.entry[data-target="channel:{mods}"]')).to_be_visible()
    # the channel and the emptied category deleted
    alice.locator(f'[data-channel="{mods}"] .delete').click()
    expect(alice.locator(f'[data-channel="{mods}"]')).to_have_count(0)
    staff.locator(".delete").first.click()
    expect(alice.locator(".category", has_text="Staff 员工")).to_have_count(0)
    # handed over: bob now manages channels, alice may leave
    alice.click('.community-members li[data-user="2"] .hand-over')
    alice.click('.community-members li[data-user="2"] .confirm-hand-over')
    expect(bob.locator(".new-channel")).to_be_visible()
    expect(bob.locator('.community-members li[data-user="2"] .role')).to_have_text("owner")
    expect(alice.locator(".community .leave")).to_be_visible()
    alice.click(".community .leave")
    expect(alice.locator(f'.entry[data-target="channel:{general}"]')).to_have_count(0)


def test_a_request_to_join_approved_in_the_browser(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta, tb = chatd.token("alice"), chatd.token("bob")
    made = chatd.command(ta, "community_create", {"name": "读书会", "public": True, "join_mode": "request"})
    community, general = made["community"]["community_id"], made["channel_id"]
    chatd.command(ta, "community_send", {"channel_id": general, "content": text("欢迎")})
    open_community(alice, general)
    expect(alice.locator(".joining .note")).to_have_text("Nobody is waiting to join.")
    assert chatd.command(tb, "community_join", {"community_id": community, "message": "我想加入"})["joined"] is False
    request = alice.locator('.joining li[data-user="2"]')
    expect(request).to_contain_text("我想加入")
    request.locator(".approve").click()
    expect(request).to_have_count(0)
    expect(alice.locator('.community-members li[data-user="2"]')).to_be_visible()
    expect(bob.locator(f'.entry[data-target="channel:{general}"] .preview')).to_have_text("欢迎")
    # the channel searched from within (community_search), one Chinese character
    bob.click(f'.entry[data-target="channel:{general}"] a')
    bob.click(".show-search")
    bob.fill("input[name=search-here]", "欢")
    bob.press("input[name=search-here]", "Enter")
    expect(bob.locator(".scoped-search .result mark")).to_have_text("欢")
    bob.click(".scoped-search .result")
    expect(bob.locator(".msg.highlight .text")).to_have_text("欢迎")
    alice.click(".make-invite")
    expect(alice.locator(".invite-code")).to_have_text(re.compile(r"^\S{6,}$"))


def test_invite_codes_typed_in_the_home_screen(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta = chatd.token("alice")
    made = chatd.command(ta, "community_create", {"name": "内部 Team", "join_mode": "invite"})
    general = made["channel_id"]
    open_community(alice, general)
    alice.click(".make-invite")
    code = alice.locator(".invite-code").inner_text()
    # a community's code joins it and opens it
    bob.click(".communities summary")
    bob.fill("input[name=invite-code]", code)
    bob.press("input[name=invite-code]", "Enter")
    expect(bob.locator(".community h2")).to_have_text("内部 Team")
    expect(bob.locator(f'.entry[data-target="channel:{general}"]')).to_be_visible()
    expect(alice.locator('.community-members li[data-user="2"]')).to_be_visible()  # live for alice
    # a group's code joins the group
    group = chatd.command(ta, "chat_group_create", {"name": "码农", "members": []})["group"]["group_id"]
    group_code = chatd.command(ta, "chat_group_update", {"group_id": group, "invite_code": True})["group"]["invite_code"]
    bob.fill("input[name=invite-code]", group_code)
    bob.press("input[name=invite-code]", "Enter")
    expect(bob.locator(".conversation h2")).to_have_text("码农")
    bob.fill("input[name=invite-code]", "no-such-code")
    bob.press("input[name=invite-code]", "Enter")
    expect(bob.locator(".join-code .error")).to_contain_text("not_found")
    # the owner deletes the community (a second click confirms): gone for bob too
    bob.evaluate(f"location.hash = '#community:{made['community']['community_id']}'")
    expect(bob.locator(".community h2")).to_have_text("内部 Team")
    alice.click(".community .disband")
    alice.click(".community .confirm-disband")
    expect(alice.locator(f'.entry[data-target="channel:{general}"]')).to_have_count(0)
    expect(bob.locator(f'.entry[data-target="channel:{general}"]')).to_have_count(0)
    expect(bob.locator(".community")).to_have_count(0)

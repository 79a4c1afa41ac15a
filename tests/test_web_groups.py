"""The web client in a real browser (tests/browser.py): the home list and a group, presence,
desktop notifications, a community channel, rooms, and hostile messages shown safely."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.browser")  # its asserts explain themselves, as the tests' do

from .browser import EXPECT_MS, IMG, Chatd, expect, log_in, message, new_context, open_dm, send, text

pytest_plugins = ["tests.browser"]  # the fixtures: browser, chatd, pages


def test_the_home_list_and_a_group(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta, tb = chatd.token("alice"), chatd.token("bob")
    group = chatd.command(ta, "chat_group_create", {"name": "Team 团队", "members": [2]})["group"]["group_id"]
    chatd.command(ta, "chat_dm_send", {"peer": 2, "content": text("dm first")})
    chatd.command(ta, "chat_group_send", {"group_id": group, "content": text("@bob look"), "mentions": [2]})
    # bob's list, live: newest activity first, unread counts, the mention mark
    entries = bob.locator(".entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_have_attribute("data-target", f"group:{group}")
    expect(entries.nth(0).locator(".mention")).to_be_visible()
    expect(entries.nth(1).locator(".unread")).to_have_text("1")
    # pinned (on another device of bob's) goes first; muted is marked
    chatd.command(tb, "chat_dm_pin_set", {"peer": 1, "pinned": True})
    expect(entries.nth(0)).to_have_attribute("data-target", "dm:1")
    expect(entries.nth(0).locator(".pin")).to_be_visible()
    chatd.command(tb, "chat_group_mute_set", {"group_id": group, "muted": True})
    expect(bob.locator(f'.entry[data-target="group:{group}"] .mute')).to_be_visible()
    bob.screenshot(path=str(IMG / "web-home.png"))
    # the keyboard: arrows move along the list, Enter opens
    bob.focus(".entry a")
    bob.keyboard.press("ArrowDown")
    expect(bob.locator(f'.entry[data-target="group:{group}"] a')).to_be_focused()
    bob.keyboard.press("ArrowUp")
    expect(bob.locator('.entry[data-target="dm:1"] a')).to_be_focused()
    bob.keyboard.press("ArrowDown")
    bob.keyboard.press("Enter")
    expect(bob.locator(".conversation h2")).to_have_text("Team 团队")
    # the group: senders named from its members, a reply with a mention picked from them
    expect(message(bob, "@bob look").locator(".sender")).to_have_text("alice")
    expect(bob.locator(f'.entry[data-target="group:{group}"] .mention')).to_have_count(0)
    message(bob, "@bob look").locator(".do-reply").click()
    bob.fill(".compose", "@al")
    bob.click(".mention-picker button")
    expect(bob.locator(".compose")).to_have_value("@alice ")
    expect(bob.locator(".compose")).to_be_focused()
    bob.keyboard.type("thanks 谢谢")
    bob.press(".compose", "Enter")
    expect(alice.locator(f'.entry[data-target="group:{group}"] .mention')).to_be_visible()
    alice.locator(f'.entry[data-target="group:{group}"] a').click()
    reply = message(alice, "@alice thanks 谢谢")
    expect(reply.locator(".quote")).to_have_text("@bob look")
    expect(reply.locator(".sender")).to_have_text("bob")
    expect(message(bob, "@alice thanks 谢谢").locator(".read-by")).to_have_text("Read by 1")  # alice read it
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=str(IMG / "web-group-dark.png"))
    # delete for me: gone for bob only
    message(bob, "@bob look").locator(".do-delete").click()
    expect(message(bob, "@bob look")).to_have_count(0)
    bob.reload()
    expect(message(bob, "@alice thanks 谢谢")).to_have_count(1)
    expect(message(bob, "@alice thanks 谢谢").locator(".read-by")).to_have_text("Read by 1")  # chat_group_read_counts
    expect(message(bob, "@bob look")).to_have_count(0)
    expect(message(alice, "@bob look")).to_have_count(1)


RECORD_NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  static permission = 'default';
  static requestPermission() { window.Notification.permission = 'granted'; return Promise.resolve('granted'); }
  constructor(title, options) { window.__notes.push({title, body: options.body, tag: options.tag}); }
  close() {}
};
"""


def test_presence_groups_and_desktop_notifications(browser: Any, chatd: Chatd) -> None:
    contexts = [new_context(browser) for _ in range(2)]
    alice, bob = (ctx.new_page() for ctx in contexts)
    bob.add_init_script(RECORD_NOTIFICATIONS)  # the browser's notifications, recorded
    log_in(alice, chatd.url, "alice")
    log_in(bob, chatd.url, "bob")
    bob.click(".notify")  # asks for the permission once
    expect(bob.locator(".notify")).to_have_count(0)
    open_dm(alice, 2)
    send(alice, "are you there?")
    dm = bob.locator('.entry[data-target="dm:1"]')
    expect(dm.locator(".presence.on")).to_have_count(1)
    notes = lambda n: bob.wait_for_function(f"() => window.__notes.length >= {n}", timeout=EXPECT_MS) and bob.evaluate("window.__notes")  # noqa: E731
    assert notes(1)[0] == {"title": "alice", "body": "are you there?", "tag": "dm:1"}
    # a new group, made in the browser
    alice.click(".new-group summary")
    alice.fill("input[name=group-name]", "Lunch 午饭")
    alice.fill("input[name=group-members]", "2")
    alice.click(".new-group button[type=submit]")
    expect(alice.locator(".conversation h2")).to_have_text("Lunch 午饭")
    target = alice.evaluate("location.hash.slice(1)")
    alice.click(".show-members")
    expect(alice.locator(".members li .role")).to_have_text(["owner", ""])
    alice.fill("input[name=invite]", "3")
    alice.press("input[name=invite]", "Enter")
    members = alice.locator(".members li")
    expect(members).to_have_count(3)
    expect(members.locator("span").first).to_have_text("alice")
    # the owner makes bob an admin and removes carol
    alice.click('.members li[data-user="2"] .set-role')
    expect(alice.locator('.members li[data-user="2"] .role')).to_have_text("admin")
    alice.click('.members li[data-user="3"] .kick')
    expect(members).to_have_count(2)
    alice.click(".show-members")
    send(alice, "who is hungry?")
    expect(bob.locator(f'.entry[data-target="{target}"]')).to_be_visible()
    assert notes(2)[1] == {"title": "Lunch 午饭", "body": "who is hungry?", "tag": target}
    # muted: no notification (the DM's, sent after it, is the next one)
    chatd.command(chatd.token("bob"), "chat_group_mute_set", {"group_id": int(target.split(":")[1]), "muted": True})
    expect(bob.locator(f'.entry[data-target="{target}"] .mute')).to_be_visible()
    send(alice, "pizza?")
    alice.click('.entry[data-target="dm:2"] a')
    send(alice, "and you?")
    assert [n["body"] for n in notes(3)] == ["are you there?", "who is hungry?", "and you?"]
    # bob leaves the group; alice goes offline
    bob.click(f'.entry[data-target="{target}"] a')
    expect(message(bob, "pizza?")).to_have_count(1)
    bob.click(".leave")
    expect(bob.locator(f'.entry[data-target="{target}"]')).to_have_count(0)
    contexts[0].close()
    expect(dm.locator(".presence.on")).to_have_count(0)
    contexts[1].close()


def test_a_community_channel(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta, tb = chatd.token("alice"), chatd.token("bob")
    made = chatd.command(ta, "community_create", {"name": "开源社区", "public": True, "join_mode": "open"})
    community, channel = made["community"]["community_id"], made["channel_id"]
    chatd.command(tb, "community_join", {"community_id": community})
    chatd.command(ta, "community_send", {"channel_id": channel, "content": text("大家好")})
    entry = bob.locator(f'.entry[data-target="channel:{channel}"]')
    expect(entry.locator(".unread")).to_have_text("1")
    entry.locator("a").click()
    expect(message(bob, "大家好").locator(".sender")).to_have_text("alice")
    expect(entry.locator(".unread")).to_have_count(0)
    send(bob, "你好 alice")
    alice.click(f'.entry[data-target="channel:{channel}"] a')
    expect(message(alice, "你好 alice").locator(".sender")).to_have_text("bob")
    message(alice, "你好 alice").locator("button.react", has_text="🎉").click()
    expect(message(bob, "你好 alice").locator(".reaction")).to_have_text("🎉 1")
    alice.type(".compose", "…")
    expect(bob.locator(".typing")).to_contain_text("alice typing")


def test_messages_are_shown_safely(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    token = chatd.token("alice")
    trap = "<img src=x onerror=\"window.__pwned=1\"> <b>not bold</b> javascript:window.__pwned=1"
    chatd.command(token, "chat_dm_send", {"peer": 2, "content": text(trap)})
    rich = '<p><b>bold</b> <a href="https://example.org/">ok</a> <a href="javascript:window.__pwned=1">bad</a></p><script>window.__pwned=1</script>'
    chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "html", "text": rich}})
    md = "**md** <i>raw</i> `co*de*` [ok](https://example.org/md)\n- one\n- _two_"  # (the server refuses a javascript: link)
    chatd.command(token, "chat_dm_send", {"peer": 2, "content": {"type": "markdown", "text": md}})
    bob.click('.entry[data-target="dm:1"] a')
    expect(bob.locator(".msg")).to_have_count(3)
    expect(bob.locator(".msg .text").first).to_have_text(trap)  # text, not markup
    expect(bob.locator(".messages img")).to_have_count(0)
    expect(bob.locator(".rich b")).to_have_text("bold")  # the server's sanitized html
    assert bob.locator(".rich:not(.markdown) a").evaluate_all("els => els.map((a) => a.getAttribute('href'))") == ["https://example.org/", None]
    expect(bob.locator(".messages script")).to_have_count(0)
    # Markdown: elements made one by one; raw HTML stays text, only http(s) links are links.
    rendered = bob.locator(".markdown")
    expect(rendered.locator("strong")).to_have_text("md")
    expect(rendered.locator("i")).to_have_count(0)
    expect(rendered).to_contain_text("<i>raw</i>")
    expect(rendered.locator("code")).to_have_text("co*de*")
    assert rendered.locator("a").evaluate_all("els => els.map((a) => a.getAttribute('href'))") == ["https://example.org/md"]
    expect(rendered.locator("li em")).to_have_text("two")
    assert bob.evaluate("window.__pwned") is None


def test_rooms_found_joined_and_caught_up(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    alice.click(".rooms summary")
    alice.fill("input[name=room-query]", "大厅 lobby")
    alice.click(".create-room")
    expect(alice.locator(".conversation h2")).to_have_text("大厅 lobby")
    room = alice.evaluate("location.hash.slice(1)")
    send(alice, "welcome")
    # bob finds the room by part of its name; opening it joins it
    bob.click(".rooms summary")
    bob.fill("input[name=room-query]", "大厅")
    bob.press("input[name=room-query]", "Enter")
    bob.click(".room-list a")
    expect(message(bob, "welcome")).to_have_count(1)
    send(alice, "live in the room")
    expect(message(bob, "live in the room")).to_have_count(1)
    # after a drop the connection is put back in the room and what was said meanwhile caught up
    bob.context.set_offline(True)
    expect(bob.locator(".banner")).to_be_visible()
    send(alice, "said while bob was away")
    bob.context.set_offline(False)
    expect(message(bob, "said while bob was away")).to_have_count(1)
    send(alice, "and live again")
    expect(message(bob, "and live again")).to_have_count(1)
    expect(bob.locator(".msg")).to_have_count(5)  # the room's first message, then the four
    seqs = bob.locator(".msg").evaluate_all("els => els.map((e) => Number(e.dataset.seq))")
    assert seqs == [1, 2, 3, 4, 5], seqs
    expect(bob.locator(f'.entry[data-target="{room}"]')).to_be_visible()
    bob.click(".leave")
    expect(bob.locator(f'.entry[data-target="{room}"]')).to_have_count(0)


def test_a_community_is_made_found_and_joined(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    alice.click(".communities summary")
    alice.fill('input[name="community-query"]', "Makers 创客")
    alice.click(".create-community")
    expect(alice.locator(".conversation")).to_be_visible()
    assert alice.evaluate("location.hash").startswith("#channel:")
    send(alice, "welcome, makers")
    bob.click(".communities summary")
    bob.fill('input[name="community-query"]', "创客")
    bob.press('input[name="community-query"]', "Enter")
    expect(bob.locator(".community-list li")).to_have_count(1)
    bob.click(".join-community")
    expect(message(bob, "welcome, makers")).to_have_count(1)


def test_group_settings_mute_hand_over_and_approval(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta, tc = chatd.token("alice"), chatd.token("carol")
    group = chatd.command(ta, "chat_group_create", {"name": "Team", "members": [2]})["group"]["group_id"]
    target = f"group:{group}"
    for page in pages:
        page.click(f'.entry[data-target="{target}"] a')
    alice.click(".show-members")
    # renamed by the owner, seen by bob
    alice.fill("input[name=rename]", "Team 新名字")
    alice.press("input[name=rename]", "Enter")
    expect(bob.locator(".conversation h2")).to_have_text("Team 新名字")
    # bob muted: his sends are refused until he is unmuted
    bob_row = alice.locator('.members li[data-user="2"]')
    bob_row.locator(".mute-member").click()
    expect(bob_row.locator(".muted-mark")).to_be_visible()
    bob.fill(".compose", "can I talk?")
    bob.press(".compose", "Enter")
    expect(bob.locator(".error")).to_contain_text("muted")
    bob_row.locator(".mute-member").click()
    expect(bob_row.locator(".muted-mark")).to_have_count(0)
    send(bob, "back again")
    # handed over (a second click confirms): bob is the owner, alice an admin, live on both sides
    bob_row.locator(".hand-over").click()
    bob_row.locator(".confirm-hand-over").click()
    expect(bob_row.locator(".role")).to_have_text("owner")
    expect(alice.locator('.members li[data-user="1"] .role')).to_have_text("admin")
    bob.click(".show-members")
    expect(bob.locator('.members li[data-user="2"] .role')).to_have_text("owner")
    expect(bob.locator(".admin input[name=rename]")).to_have_value("Team 新名字")
    # the new owner turns approval on; carol's request to join waits for him and he lets her in
    bob.check(".admin input[name=approval]")
    expect(bob.locator('.admin .saved[data-what="approval"]')).to_be_visible()
    bob.check(".admin input[name=join-by-id]")
    expect(bob.locator('.admin .saved[data-what="join_by_id"]')).to_be_visible()
    bob.click(".admin .new-code")
    code = bob.locator(".admin .invite-code")
    expect(code).to_have_text(re.compile(r"^\S{4,}$"))
    assert chatd.command(ta, "chat_group_info", {"group_id": group})["group"]["invite_code"] == code.inner_text()
    assert chatd.command(tc, "chat_group_join", {"group_id": group, "message": "让我进来"})["joined"] is False
    request = bob.locator('.requests li[data-user="3"]')
    expect(request).to_contain_text("让我进来")
    request.locator(".approve").click()
    expect(bob.locator(".members li")).to_have_count(3)
    expect(bob.locator(".requests")).to_have_count(0)


def test_room_roles_mute_rename_and_kick(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    room = chatd.command(chatd.token("alice"), "chat_room_create", {"name": "Lobby"})["room"]["room_id"]
    bob.evaluate(f"location.hash = '#room:{room}'")  # opening a room joins it
    expect(bob.locator(".conversation h2")).to_have_text("Lobby")
    alice.click(f'.entry[data-target="room:{room}"] a')
    alice.click(".show-members")
    bob_row = alice.locator('.members li[data-user="2"]')
    bob_row.locator(".set-role").click()
    expect(bob_row.locator(".role")).to_have_text("admin")
    bob_row.locator(".mute-member").click()
    expect(bob_row.locator(".muted-mark")).to_be_visible()
    bob.fill(".compose", "hello?")
    bob.press(".compose", "Enter")
    expect(bob.locator(".error")).to_contain_text("muted")
    alice.fill("input[name=rename]", "大厅 Lobby")
    alice.press("input[name=rename]", "Enter")
    expect(bob.locator(".conversation h2")).to_have_text("大厅 Lobby")
    bob_row.locator(".kick").click()
    expect(bob.locator(f'.entry[data-target="room:{room}"]')).to_have_count(0)
    expect(alice.locator(".members li")).to_have_count(1)
    # the owner deletes the room (a second click confirms)
    alice.click(".admin .delete-room")
    alice.click(".admin .confirm-delete")
    expect(alice.locator(f'.entry[data-target="room:{room}"]')).to_have_count(0)
    expect(alice.locator(".conversation")).to_have_count(0)


def test_search_within_a_conversation_jumps_to_the_message(pages: tuple[Any, Any], chatd: Chatd) -> None:
    alice, bob = pages
    ta = chatd.token("alice")
    group = chatd.command(ta, "chat_group_create", {"name": "Plans", "members": [2]})["group"]["group_id"]
    found = chatd.command(ta, "chat_group_send", {"group_id": group, "content": text("明天开会 at ten")})["message"]
    for i in range(40):  # the message is far from the newest page
        chatd.command(ta, "chat_group_send", {"group_id": group, "content": text(f"filler {i}")})
    chatd.command(ta, "chat_dm_send", {"peer": 2, "content": text("开会 in the DM")})  # other conversations'
    other = chatd.command(ta, "chat_group_create", {"name": "Other", "members": [2]})["group"]["group_id"]
    chatd.command(ta, "chat_group_send", {"group_id": other, "content": text("开会 elsewhere")})
    bob.click(f'.entry[data-target="group:{group}"] a')
    expect(message(bob, "filler 39")).to_have_count(1)
    expect(message(bob, "明天开会 at ten")).to_have_count(0)
    bob.click(".show-search")
    for query in ("开会", "会"):  # two characters and one
        bob.fill("input[name=search-here]", query)
        bob.press("input[name=search-here]", "Enter")
        results = bob.locator(".scoped-search .result")
        expect(results).to_have_count(1)
        expect(results.locator("mark")).to_have_text(query)
    results.click()
    assert bob.evaluate("location.hash") == f"#group:{group}/m/{found['id']}"
    shown = bob.locator(".msg.highlight")
    expect(shown.locator(".text")).to_have_text("明天开会 at ten")
    expect(shown).to_be_in_viewport()
    # the DM's own search finds only its own
    bob.click('.entry[data-target="dm:1"] a')
    bob.click(".show-search")
    bob.fill("input[name=search-here]", "会")
    bob.press("input[name=search-here]", "Enter")
    expect(bob.locator(".scoped-search .result .snippet")).to_have_text("开会 in the DM")

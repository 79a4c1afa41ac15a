"""The home screen's list over real sockets: every kind in one list, in the documented order,
channels the user cannot see left out, `at` for a mention, paging, kinds and unread filters,
and the user's own changes (sort order, removal until the next message, dismissing a badge)
told to their other devices."""

from __future__ import annotations


from .test_community_chat import fails, setup, text



def _targets(page: dict) -> list[str]:
    return [c["target"] for c in page["conversations"]]


async def test_every_kind_in_one_list(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        cid, _, ch = await setup(b1, a1, icon="https://example.org/icon.png")  # bob's community, alice in it
        hidden = (await b1.request("community_channel_create", {"community_id": cid, "name": "staff"}))["channel"]["channel_id"]
        await b1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": hidden,
                                                     "target": "member", "target_id": a, "deny": ["view_channel"]})
        gid = (await b1.request("chat_group_create", {"name": "g", "members": [a]}))["group"]["group_id"]
        rid = (await a1.request("chat_room_create", {"name": "大厅"}))["room"]["room_id"]
        await b1.request("community_send", {"channel_id": ch, "content": text("频道")})
        await b1.request("chat_dm_send", {"peer": a, "content": text("私信")})
        await b1.request("chat_group_send", {"group_id": gid, "content": text("@alice 看这里"), "mentions": [a]})
        page = await a1.request("chat_conversations", {})
        assert _targets(page) == [f"group:{gid}", f"dm:{b}", f"channel:{ch}", f"room:{rid}"]  # newest activity first
        assert f"channel:{hidden}" not in _targets(page) and page["has_more"] is False
        group, dm = page["conversations"][0], page["conversations"][1]
        assert (group["kind"], group["group_id"], group["unread"], group["mentioned"]) == ("group", gid, 2, True)  # its creation, the mention
        assert group["at"] == {"seq": group["last_seq"], "mentioner_id": b, "mentioner_name": "bob"}
        # With a remark for bob, alice sees her own name for him.
        await a1.request("chat_friend_add", {"user_id": b})
        await b1.request("chat_friend_accept", {"user_id": a})
        await a1.request("chat_friend_remark_set", {"user_id": b, "remark": "老板"})
        at = next(e for e in (await a1.request("chat_conversations", {}))["conversations"] if e["kind"] == "group")["at"]
        assert at["mentioner_name"] == "老板"
        assert dm["peer"]["id"] == b and dm["peer_online"] is True and dm["at"] is None and dm["avatar"] == ""
        channel = next(e for e in page["conversations"] if e["kind"] == "channel")
        assert channel["avatar"] == "https://example.org/icon.png" and "avatar" in group
        # Filters, and paging by next_offset.
        assert _targets(await a1.request("chat_conversations", {"kinds": ["dm", "room"]})) == [f"dm:{b}", f"room:{rid}"]
        assert _targets(await a1.request("chat_conversations", {"unread_only": True})) == [f"group:{gid}", f"dm:{b}", f"channel:{ch}"]
        first = await a1.request("chat_conversations", {"limit": 3})
        second = await a1.request("chat_conversations", {"limit": 3, "offset": first["next_offset"]})
        assert first["has_more"] is True and second["has_more"] is False
        assert _targets(first) + _targets(second) == _targets(page)
        await fails(a1, "chat_conversations", {"kinds": ["chat"]}, "bad_request")
        # Pinned first, then the user's own order, then activity.
        await a1.request("chat_room_pin_set", {"room_id": rid, "pinned": True})
        await a1.request("chat_conversation_sort_set", {"target": f"channel:{ch}", "sort_order": 5})
        push = await a2.next_push("chat_conversation_list_update")
        assert push["data"] == {"target": f"channel:{ch}", "kind": "channel", "sort_order": 5, "removed": False}
        page = await a1.request("chat_conversations", {})
        assert _targets(page) == [f"room:{rid}", f"channel:{ch}", f"group:{gid}", f"dm:{b}"]
        assert page["conversations"][1]["sort_order"] == 5


async def test_remove_until_the_next_message_and_dismiss(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await b1.request("chat_group_create", {"name": "g", "members": [a]}))["group"]["group_id"]
        await b1.request("chat_dm_send", {"peer": a, "content": text("一")})
        await a1.request("chat_conversation_remove", {"target": f"dm:{b}"})
        push = await a2.next_push("chat_conversation_list_update")
        assert push["data"]["removed"] is True and push["data"]["target"] == f"dm:{b}"
        assert f"dm:{b}" not in _targets(await a1.request("chat_conversations", {}))
        assert (await a1.request("chat_dm_conversations", {}))["conversations"] == []  # the kind's own list too
        assert [m["content"] for m in (await a1.request("chat_dm_history", {"peer": b}))["messages"]] == [text("一")]  # nothing deleted
        await b1.request("chat_dm_send", {"peer": a, "content": text("二")})
        assert f"dm:{b}" in _targets(await a1.request("chat_conversations", {}))  # back with its next message
        # Dismiss: the badge cleared in one call, as a mark_read to the newest message.
        await a1.request("chat_conversation_dismiss", {"target": f"group:{gid}"})  # the group's creation
        for i in range(3):
            await b1.request("chat_group_send", {"group_id": gid, "content": text(f"m{i}")})
        entry = next(e for e in (await a1.request("chat_conversations", {}))["conversations"] if e["kind"] == "group")
        assert entry["unread"] == 3
        done = await a1.request("chat_conversation_dismiss", {"target": f"group:{gid}"})
        assert done == {"target": f"group:{gid}", "last_read_seq": entry["last_seq"]}
        entry = next(e for e in (await a1.request("chat_conversations", {}))["conversations"] if e["kind"] == "group")
        assert entry["unread"] == 0
        push = await a2.next_push("chat_group_conversation_update", where=lambda d: d["conversation"]["last_read_seq"] == entry["last_seq"])
        assert push["data"]["conversation"]["unread"] == 0
        # Errors.
        await fails(a1, "chat_conversation_remove", {"target": "chat:1"}, "bad_request")
        await fails(a1, "chat_conversation_sort_set", {"target": f"group:{gid}", "sort_order": 2**40}, "bad_request")
        await fails(c1, "chat_conversation_dismiss", {"target": f"group:{gid}"}, "not_member")
        await fails(c1, "chat_conversation_remove", {"target": f"dm:{a}"}, "not_found")


async def test_unread_since_of_some_types_and_cleared(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        gid = (await b1.request("chat_group_create", {"name": "g", "members": [a]}))["group"]["group_id"]
        await a1.request("chat_conversation_dismiss", {"target": f"group:{gid}"})
        old = await b1.request("chat_dm_send", {"peer": a, "content": text("早")})
        image = {"type": "image", "url": "https://example.org/i.png"}
        await b1.request("chat_group_send", {"group_id": gid, "content": image})
        await b1.request("chat_group_send", {"group_id": gid, "content": text("看图")})
        got = await a1.request("chat_conversations_unread", {})
        assert _targets(got) == [f"group:{gid}", f"dm:{b}"] and got["cleared"] == []
        got = await a1.request("chat_conversations_unread", {"types": ["image"]})
        assert _targets(got) == [f"group:{gid}"]
        # since: only what came after the DM's message (the group's image, not the DM).
        got = await a1.request("chat_conversations_unread", {"since": old["server_time"]})
        assert _targets(got) == [f"group:{gid}"]
        # clear: listed as they were, then dismissed.
        got = await a1.request("chat_conversations_unread", {"types": ["image"], "clear": True})
        assert got["cleared"] == [f"group:{gid}"] and got["conversations"][0]["unread"] == 2
        assert _targets(await a1.request("chat_conversations_unread", {})) == [f"dm:{b}"]
        await fails(a1, "chat_conversations_unread", {"types": ["system"]}, "bad_request")


async def test_paging_over_many_channels_the_user_cannot_see(harness, users):
    """More hidden channels in a row than the rows a page fetches beyond its size: every page
    still ends where the next starts, and has_more is true only while visible ones are left."""
    a = users["alice"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, _, general = await setup(b1, a1)
        channels, visible = [general], [general]
        for i in range(9):
            ch = (await b1.request("community_channel_create", {"community_id": cid, "name": f"c{i}"}))["channel"]["channel_id"]
            channels.append(ch)
            if i in (0, 8):
                visible.append(ch)
            else:
                await b1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": ch,
                                                             "target": "member", "target_id": a, "deny": ["view_channel"]})
        for ch in channels:  # newest activity first: c8, then the seven alice cannot see, then c0 and general
            await b1.request("community_send", {"channel_id": ch, "content": text(f"in {ch}")})
        whole = _targets(await a1.request("chat_conversations", {}))
        assert whole == [f"channel:{ch}" for ch in reversed(visible)]
        for size in (1, 2):
            seen, offset, more = [], 0, True
            while more:
                page = await a1.request("chat_conversations", {"limit": size, "offset": offset})
                seen += _targets(page)
                offset, more = page["next_offset"], page["has_more"]
                assert page["conversations"] or not more
            assert seen == whole, size


async def test_at_names_the_newest_mention_that_counts(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = (await c1.request("chat_group_create", {"name": "g", "members": [a, b]}))["group"]["group_id"]
        await c1.request("chat_group_member_role_set", {"group_id": gid, "user_id": b, "role": "admin"})  # bob may @all
        await c1.request("chat_group_send", {"group_id": gid, "content": text("@alice"), "mentions": [a]})
        await a1.request("chat_block_add", {"user_id": b})
        await b1.request("chat_group_send", {"group_id": gid, "content": text("@all"), "mentions": [0]})  # marks nothing for alice
        entry = next(e for e in (await a1.request("chat_conversations", {}))["conversations"] if e["kind"] == "group")
        assert entry["mentioned"] is True and entry["at"]["mentioner_id"] == c

"""Community channels and categories over real sockets: create, update, delete, the tree a
member can see, synced channels following their category live, community.channel_changed
to every device that should hear it, and the documented errors (writing nothing)."""

from __future__ import annotations

from .test_community_chat import fails, setup, text


def _tree(listing: dict) -> tuple:
    return (
        [(c["name"], [ch["name"] for ch in c["channels"]]) for c in listing["categories"]],
        [ch["name"] for ch in listing["channels"]],
    )


async def test_channels_and_categories_on_two_devices(harness, users):
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        cid, cat, general = await setup(a1, b1)
        other, _, _ = await setup(a1, b1)
        other_cat = (await a1.request("community_channel_list", {"community_id": other}))["categories"][0]["category_id"]
        ops = (await a1.request("community_category_create", {"community_id": cid, "name": "运营"}))["category"]
        assert ops["position"] == 1
        push = await b2.next_push("community.channel_changed", where=lambda d: d["event"] == "category_created")
        assert push["data"]["category_id"] == ops["category_id"] and push["data"]["channel"] is None
        news = (await a1.request("community_channel_create", {"community_id": cid, "name": "公告", "category_id": ops["category_id"]}))["channel"]
        assert (news["position"], news["synced"], news["category_id"]) == (0, True, ops["category_id"])
        push = await b2.next_push("community.channel_changed", where=lambda d: d["event"] == "created")
        assert push["data"]["channel"] == news
        loose = (await a1.request("community_channel_create", {"community_id": cid, "name": "random", "topic": "anything"}))["channel"]
        assert (loose["category_id"], loose["synced"], loose["topic"]) == (None, False, "anything")
        first = (await a1.request("community_channel_create", {"community_id": cid, "name": "first", "category_id": cat, "position": 0}))["channel"]
        assert first["position"] == 0
        listing = await b1.request("community_channel_list", {"community_id": cid})
        assert _tree(listing) == ([("Text Channels", ["first", "general"]), ("运营", ["公告"])], ["random"])
        # A new channel is every member's: bob sends there and alice's device hears it.
        await b1.request("community_send", {"channel_id": news["channel_id"], "content": text("你好")})
        await a1.next_push("community.message", where=lambda d: d["conv_id"] == news["channel_id"])
        # Errors, each writing nothing.
        err = await fails(b1, "community_channel_create", {"community_id": cid, "name": "mine"}, "forbidden")
        assert err.missing == "manage_channels"
        await fails(b1, "community_category_create", {"community_id": cid, "name": "mine"}, "forbidden")
        await fails(a1, "community_channel_create", {"community_id": cid, "name": "x", "category_id": other_cat}, "not_found")
        await fails(a1, "community_channel_create", {"community_id": cid, "name": "x", "category_id": cat, "position": 3}, "bad_request")
        await fails(a1, "community_channel_create", {"community_id": cid, "name": "x" * 10000}, "bad_request")
        await fails(a1, "community_category_create", {"community_id": cid, "name": "x", "position": -1}, "bad_request")
        await fails(a1, "community_channel_update", {"community_id": other, "channel_id": news["channel_id"], "name": "x"}, "not_found")
        await fails(a1, "community_channel_update", {"community_id": cid, "channel_id": news["channel_id"], "category_id": other_cat}, "not_found")
        await fails(a1, "community_channel_update", {"community_id": cid, "channel_id": news["channel_id"], "position": 5}, "bad_request")
        await fails(a1, "community_channel_update", {"community_id": cid, "channel_id": loose["channel_id"], "synced": True}, "bad_request")
        await fails(a1, "community_category_update", {"community_id": cid, "category_id": other_cat, "name": "x"}, "not_found")
        await fails(a1, "community_category_update", {"community_id": cid, "category_id": ops["category_id"], "position": 2}, "bad_request")
        await fails(a1, "community_category_delete", {"community_id": cid, "category_id": ops["category_id"]}, "conflict")
        await fails(b1, "community_channel_delete", {"community_id": cid, "channel_id": general}, "forbidden")
        await fails(b1, "community_channel_list", {"community_id": 99999}, "not_found")
        assert await b1.request("community_channel_list", {"community_id": cid}) == listing
        # Updates: rename, topic, move; the order follows.
        up = (await a1.request("community_channel_update", {"community_id": cid, "channel_id": general, "name": "大厅", "topic": "t", "position": 0}))["channel"]
        assert (up["name"], up["topic"], up["position"]) == ("大厅", "t", 0)
        push = await b2.next_push("community.channel_changed", where=lambda d: d["event"] == "updated")
        assert push["data"]["channel"] == up
        moved = await a1.request("community_category_update", {"community_id": cid, "category_id": ops["category_id"], "position": 0, "name": "Ops"})
        assert moved["category"] == {"category_id": ops["category_id"], "name": "Ops", "position": 0}
        listing = await b1.request("community_channel_list", {"community_id": cid})
        assert _tree(listing) == ([("Ops", ["公告"]), ("Text Channels", ["大厅", "first"])], ["random"])
        # Delete: those who saw it hear it; its messages go with it.
        await a1.request("community_channel_delete", {"community_id": cid, "channel_id": first["channel_id"]})
        push = await b2.next_push("community.channel_changed", where=lambda d: d["event"] == "deleted")
        assert push["data"]["channel_id"] == first["channel_id"]
        await fails(b1, "community_history", {"channel_id": first["channel_id"]}, "not_found")
        await a1.request("community_channel_delete", {"community_id": cid, "channel_id": news["channel_id"]})
        await a1.request("community_category_delete", {"community_id": cid, "category_id": ops["category_id"]})
        await b2.next_push("community.channel_changed", where=lambda d: d["event"] == "category_deleted")
        listing = await b1.request("community_channel_list", {"community_id": cid})
        assert _tree(listing) == ([("Text Channels", ["大厅"])], ["random"])
        assert listing["categories"][0]["position"] == 0


async def test_synced_channels_follow_their_category_live(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, general = await setup(a1, b1)
        staff = (await a1.request("community_category_create", {"community_id": cid, "name": "Staff"}))["category"]["category_id"]
        everyone = (await a1.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "category", "place_id": staff,
                                                     "target": "role", "target_id": everyone, "deny": ["view_channel"]})
        desk = (await a1.request("community_channel_create", {"community_id": cid, "name": "desk", "category_id": staff}))["channel"]
        assert not [p for p in b1.pending_pushes("community.channel_changed") if p["data"]["event"] == "created"]
        assert _tree(await b1.request("community_channel_list", {"community_id": cid})) == ([("Text Channels", ["general"])], [])
        await fails(b1, "community_send", {"channel_id": desk["channel_id"], "content": text("x")}, "not_found")
        # Moving a synced channel into the category hides it at once; moving it out shows it again.
        await a1.request("community_channel_update", {"community_id": cid, "channel_id": general, "category_id": staff})
        await fails(b1, "community_history", {"channel_id": general}, "not_found")
        await a1.request("community_channel_update", {"community_id": cid, "channel_id": general, "category_id": cat})
        assert (await b1.request("community_history", {"channel_id": general}))["messages"] == []
        # An overwrite of its own unsyncs a channel; synced true drops it again.
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": desk["channel_id"],
                                                     "target": "member", "target_id": b, "allow": ["view_channel"]})
        assert (await b1.request("community_history", {"channel_id": desk["channel_id"]}))["messages"] == []
        resynced = (await a1.request("community_channel_update", {"community_id": cid, "channel_id": desk["channel_id"], "synced": True}))["channel"]
        assert resynced["synced"] is True
        await fails(b1, "community_history", {"channel_id": desk["channel_id"]}, "not_found")
        # Lifting the category's deny shows every synced channel of it.
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "category", "place_id": staff,
                                                     "target": "role", "target_id": everyone})
        assert _tree(await b1.request("community_channel_list", {"community_id": cid})) == ([("Text Channels", ["general"]), ("Staff", ["desk"])], [])


async def test_resyncing_a_channel_is_an_overwrite_edit(harness, users):
    """synced true drops the channel's own overwrites, so it is checked as removing each of them
    (manage_roles in the channel, the hierarchy, only changes one holds): manage_channels alone
    neither lifts a deny set on oneself nor opens a private channel."""
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, general = await setup(a1, b1)
        chan = (await a1.request("community_role_create", {"community_id": cid, "name": "Channels", "allow": ["manage_channels"]}))["role"]["role_id"]
        await a1.request("community_role_set", {"community_id": cid, "user_id": b, "add": [chan]})
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": general,
                                                     "target": "member", "target_id": b, "deny": ["send"]})
        err = await fails(b1, "community_channel_update", {"community_id": cid, "channel_id": general, "synced": True}, "forbidden")
        assert err.missing == "manage_roles"
        listed = (await b1.request("community_channel_list", {"community_id": cid}))["categories"][0]["channels"]
        assert [ch["synced"] for ch in listed] == [False]
        await fails(b1, "community_send", {"channel_id": general, "content": text("x")}, "forbidden")
        # With manage_roles too, he still cannot lift a deny of send he does not hold there.
        await a1.request("community_role_update", {"community_id": cid, "role_id": chan, "allow": ["manage_channels", "manage_roles"]})
        err = await fails(b1, "community_channel_update", {"community_id": cid, "channel_id": general, "synced": True}, "forbidden")
        assert err.missing == "send"
        # The owner may; the channel follows its category again.
        assert (await a1.request("community_channel_update", {"community_id": cid, "channel_id": general, "synced": True}))["channel"]["synced"] is True
        await b1.request("community_send", {"channel_id": general, "content": text("x")})

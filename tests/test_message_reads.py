"""Reading by message id over real sockets: chat_message_get, chat_message_around (with and
without the anchor, a gallery of media types) and chat_message_edits, in a group, a DM and a
community channel; readable exactly where the conversation's history is."""

from __future__ import annotations


from .test_community_chat import fails, setup, text



def image(n: int) -> dict:
    return {"type": "image", "url": f"https://example.org/{n}.png", "width": 10, "height": 10}


async def _group_with(a1, *members) -> int:
    return (await a1.request("chat_group_create", {"name": "g", "members": list(members)}))["group"]["group_id"]


async def test_get_and_around_in_a_group(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        gid = await _group_with(a1, b)
        ids = []  # seq 1.. : text, image, text, image, ...
        for i in range(10):
            content = image(i) if i % 2 else text(f"m{i}")
            ids.append((await a1.request("chat_group_send", {"group_id": gid, "content": content}))["id"])
        got = await b1.request("chat_message_get", {"msg_id": ids[4]})
        assert (got["kind"], got["conv_id"], got["message"]["id"], got["message"]["content"]) == ("group", gid, ids[4], text("m4"))
        page = await b1.request("chat_message_around", {"msg_id": ids[4], "before": 2, "after": 3})
        assert [m["id"] for m in page["messages"]] == ids[2:8]
        assert (page["has_more_before"], page["has_more_after"], page["anchor_seq"]) == (True, True, got["message"]["seq"])
        page = await b1.request("chat_message_around", {"msg_id": ids[4], "before": 4, "after": 5, "include_anchor": False})
        assert [m["id"] for m in page["messages"]] == ids[0:4] + ids[5:10]
        assert (page["has_more_before"], page["has_more_after"]) == (True, False)  # the group's system messages
        page = await b1.request("chat_message_around", {"msg_id": ids[4], "before": 0, "after": 0})
        assert [m["id"] for m in page["messages"]] == [ids[4]] and page["has_more_before"] and page["has_more_after"]
        # A gallery: the images around one, recalled ones left out.
        await a1.request("chat_group_recall", {"group_id": gid, "msg_id": ids[7]})
        page = await b1.request("chat_message_around", {"msg_id": ids[5], "before": 5, "after": 1, "types": ["image"]})
        assert [m["id"] for m in page["messages"]] == [ids[1], ids[3], ids[5], ids[9]]
        assert (page["has_more_before"], page["has_more_after"]) == (False, False)
        page = await b1.request("chat_message_around", {"msg_id": ids[4], "before": 1, "after": 1, "types": ["image"]})
        assert [m["id"] for m in page["messages"]] == [ids[3], ids[5]]  # a text anchor is not an image
        # Errors, and messages that are not the reader's.
        await fails(b1, "chat_message_around", {"msg_id": ids[4], "types": ["text"]}, "bad_request")
        await fails(b1, "chat_message_around", {"msg_id": ids[4], "types": []}, "bad_request")
        await fails(b1, "chat_message_around", {"msg_id": ids[4], "before": 101}, "bad_request")
        await fails(b1, "chat_message_get", {"msg_id": 12345}, "not_found")
        await fails(c1, "chat_message_get", {"msg_id": ids[4]}, "not_found")
        await fails(c1, "chat_message_around", {"msg_id": ids[4]}, "not_found")
        await b1.request("chat_group_delete", {"group_id": gid, "msg_ids": [ids[4]]})  # for bob only
        await fails(b1, "chat_message_get", {"msg_id": ids[4]}, "not_found")
        assert (await a1.request("chat_message_get", {"msg_id": ids[4]}))["message"]["id"] == ids[4]
        page = await b1.request("chat_message_around", {"msg_id": ids[3], "before": 0, "after": 2})
        assert [m["id"] for m in page["messages"]] == [ids[3], ids[5], ids[6]]


async def test_a_dm_is_readable_by_its_two_users_only(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        sent = await a1.request("chat_dm_send", {"peer": b, "content": text("只给你")})
        assert (await b1.request("chat_message_get", {"msg_id": sent["id"]}))["kind"] == "dm"
        # carol has a DM with alice herself: that must not open alice and bob's.
        await c1.request("chat_dm_send", {"peer": a, "content": text("hi")})
        await fails(c1, "chat_message_get", {"msg_id": sent["id"]}, "not_found")
        await fails(c1, "chat_message_around", {"msg_id": sent["id"]}, "not_found")
        await fails(c1, "chat_message_edits", {"msg_id": sent["id"]}, "not_found")
        await a1.request("chat_dm_edit", {"peer": b, "msg_id": sent["id"], "content": text("改了")})
        assert (await b1.request("chat_message_edits", {"msg_id": sent["id"]}))["total"] == 1


async def test_a_channel_message_is_readable_as_its_history_is(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)
        sent = await a1.request("community_send", {"channel_id": ch, "content": text("公告")})
        assert (await b1.request("chat_message_get", {"msg_id": sent["id"]}))["kind"] == "channel"
        # Seeing the channel without read_history: forbidden, as its history answers.
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": ch,
                                                     "target": "member", "target_id": b, "deny": ["read_history"]})
        err = await fails(b1, "chat_message_get", {"msg_id": sent["id"]}, "forbidden")
        assert err.missing == "read_history"
        await fails(b1, "community_history", {"channel_id": ch}, "forbidden")
        # Not seeing it at all: not_found, for the message and its edits alike.
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "channel", "place_id": ch,
                                                     "target": "member", "target_id": b, "deny": ["view_channel"]})
        for cmd in ("chat_message_get", "chat_message_around", "chat_message_edits"):
            await fails(b1, cmd, {"msg_id": sent["id"]}, "not_found")

"""Batch recall on every kind, and a community channel's message verbs (edit, react, delete,
recall, recall_batch) with manage_messages, over real sockets: all or nothing, the pushes in
order, the system notice when others' messages go, and the limit from config."""

from __future__ import annotations

from typing import Any

import pytest

from .test_community_chat import fails, setup, text


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return {"messages": {"recall_batch_max": 3}}


async def _send(client, cmd: str, target: dict, body: str) -> int:
    return (await client.request(cmd, {**target, "content": text(body)}))["id"]


async def test_batch_recall_in_a_group_all_or_nothing(harness, users):
    b = users["bob"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2:
        gid = (await a1.request("chat_group_create", {"name": "g", "members": [b]}))["group"]["group_id"]
        where = {"group_id": gid}
        mine = [await _send(a1, "chat_group_send", where, f"a{i}") for i in range(2)]
        his = [await _send(b1, "chat_group_send", where, f"b{i}") for i in range(3)]
        # bob may not recall alice's: nothing of the batch is recalled, his own included.
        err = await fails(b1, "chat_group_recall_batch", {**where, "msg_ids": [his[0], mine[0]]}, "forbidden")
        page = await b1.request("chat_group_history", {**where, "after_seq": 0})
        assert all(m["recalled_at"] is None for m in page["messages"] if m["id"] in mine + his), err
        # His own: recalled in one go, pushed in the order given, no notice.
        b2.clear_pushes()
        done = await b1.request("chat_group_recall_batch", {**where, "msg_ids": [his[1], his[0], his[1]]})
        assert [m["id"] for m in done["messages"]] == [his[1], his[0]] and all(m["content"] is None for m in done["messages"])
        for expected in (his[1], his[0]):
            push = await a1.next_push("chat_message", where=lambda d: d["event"] == "recall")
            assert push["data"]["message"]["id"] == expected
        # The owner recalls others' messages: a system message says who recalled how many.
        done = await a1.request("chat_group_recall_batch", {**where, "msg_ids": [mine[0], his[2]]})
        assert [m["id"] for m in done["messages"]] == [mine[0], his[2]]
        notice = await b2.next_push("chat_message", where=lambda d: d["event"] == "new" and d["message"]["content"]["type"] == "system")
        content = notice["data"]["message"]["content"]
        assert content["event"] == "messages_recalled" and content["data"] == {"by": users["alice"], "msg_ids": [his[2]]}
        # More ids than messages.recall_batch_max: too_large, nothing recalled.
        await fails(a1, "chat_group_recall_batch", {**where, "msg_ids": [mine[1], 1, 2, 3]}, "too_large")
        assert (await a1.request("chat_message_get", {"msg_id": mine[1]}))["message"]["recalled_at"] is None
        await fails(a1, "chat_group_recall_batch", {**where, "msg_ids": [mine[1], 424242]}, "not_found")
        assert (await a1.request("chat_message_get", {"msg_id": mine[1]}))["message"]["recalled_at"] is None


async def test_batch_recall_in_a_dm_is_of_ones_own(harness, users):
    a, b = users["alice"], users["bob"]  # (alice is a server admin: bob is the one asking)
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        his = [await _send(b1, "chat_dm_send", {"peer": a}, f"m{i}") for i in range(2)]
        hers = await _send(a1, "chat_dm_send", {"peer": b}, "t")
        await fails(b1, "chat_dm_recall_batch", {"peer": a, "msg_ids": [his[0], hers]}, "forbidden")
        done = await b1.request("chat_dm_recall_batch", {"peer": a, "msg_ids": his})
        assert [m["id"] for m in done["messages"]] == his
        for expected in his:
            push = await a1.next_push("chat_message", where=lambda d: d["event"] == "recall")
            assert push["data"]["message"]["id"] == expected and push["data"]["peer"] == b


async def test_a_channel_has_every_message_verb_and_manage_messages_recalls_others(harness, users):
    c = users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("bob") as b2, harness.client("carol") as c1:
        cid, _, ch = await setup(a1, b1)
        await c1.request("community_join", {"community_id": cid})
        where = {"channel_id": ch}
        hers = await _send(a1, "community_send", where, "公告")
        his = await _send(b1, "community_send", where, "我的")
        # Edit and react: pushed as community.message to who sees the channel.
        await b1.request("community_edit", {**where, "msg_id": his, "content": text("改了")})
        push = await c1.next_push("community.message", where=lambda d: d["event"] == "edit")
        assert push["data"]["message"]["content"] == text("改了")
        await fails(b1, "community_edit", {**where, "msg_id": hers, "content": text("x")}, "forbidden")
        await c1.request("community_react", {**where, "msg_id": hers, "emoji": "👍"})
        push = await a1.next_push("community.message", where=lambda d: d["event"] == "react")
        assert push["data"]["message"]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [c]}]
        # Delete for oneself: the user's other devices hear it.
        await b1.request("community_delete", {**where, "msg_ids": [hers]})
        push = await b2.next_push("community.message", where=lambda d: d["event"] == "delete")
        assert push["data"]["msg_ids"] == [hers]
        # Recalling another's message needs manage_messages in the channel.
        err = await fails(c1, "community_recall", {**where, "msg_id": his}, "forbidden")
        assert err.missing == "manage_messages"
        await fails(c1, "community_recall_batch", {**where, "msg_ids": [his]}, "forbidden")
        mods = (await a1.request("community_role_create", {"community_id": cid, "name": "Mods", "allow": ["manage_messages"]}))["role"]
        await a1.request("community_role_set", {"community_id": cid, "user_id": c, "add": [mods["role_id"]]})
        done = await c1.request("community_recall_batch", {**where, "msg_ids": [his, hers]})
        assert [m["id"] for m in done["messages"]] == [his, hers]
        for expected in (his, hers):
            push = await b2.next_push("community.message", where=lambda d: d["event"] == "recall")
            assert push["data"]["message"]["id"] == expected
        notice = await b1.next_push("community.message", where=lambda d: d["event"] == "new" and d["message"]["content"]["type"] == "system")
        assert notice["data"]["message"]["content"]["data"] == {"by": c, "msg_ids": [his, hers]}
        # One's own needs no more than seeing the channel.
        own = await _send(b1, "community_send", where, "再来")
        assert (await b1.request("community_recall", {**where, "msg_id": own}))["message"]["recalled_at"] is not None

"""chat_message_forward over real sockets: one by one and merged, to several conversations of
every kind at once, each target answering for itself; the origin named without its
conversation; what cannot be forwarded; limits and resends."""

from __future__ import annotations

from typing import Any

import pytest

from .test_community_chat import fails, setup, text



@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    return {"messages": {"forward_max_targets": 4}}


async def _group(client, *members) -> int:
    return (await client.request("chat_group_create", {"name": "g", "members": list(members)}))["group"]["group_id"]


async def test_forward_one_by_one_and_merged(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        g1 = await _group(a1, b)
        g2 = await _group(a1, c)
        m1 = (await b1.request("chat_group_send", {"group_id": g1, "content": text("明天开会")}))["message"]
        image = {"type": "image", "url": "https://example.org/p.png", "width": 4, "height": 3}
        m2 = (await a1.request("chat_group_send", {"group_id": g1, "content": image}))["message"]
        c1.clear_pushes()
        done = await a1.request("chat_message_forward", {"msg_ids": [m1["id"], m2["id"]], "targets": [f"dm:{c}", f"group:{g2}", "group:999999"]})
        ok_dm, ok_group, missing = done["results"]
        assert (ok_dm["ok"], ok_group["ok"], missing["ok"]) == (True, True, False)
        assert missing["error"]["code"] == "not_found" and missing["messages"] == []
        for copy, original in zip(ok_dm["messages"], (m1, m2)):
            assert copy["content"] == original["content"] and copy["sender_id"] == a
            assert copy["forwarded"] == {"sender_id": original["sender_id"], "created_at": original["created_at"]}
            assert copy["mentions"] == [] and copy["quote_id"] is None
        for expected in ok_dm["messages"]:  # carol's devices get each copy, as sends
            push = await c1.next_push("chat_message", where=lambda d: d["kind"] == "dm")
            assert push["data"]["message"] == expected
        # The copy names the origin, never its conversation: carol cannot read the original.
        await fails(c1, "chat_message_get", {"msg_id": m1["id"]}, "not_found")
        got = await c1.request("chat_message_get", {"msg_id": ok_group["messages"][0]["id"]})
        assert got["kind"] == "group" and got["message"]["forwarded"]["sender_id"] == b
        # Merged: one record per target, the messages in the order given, with their senders.
        done = await a1.request("chat_message_forward", {"msg_ids": [m2["id"], m1["id"]], "targets": [f"dm:{c}"], "merged": True, "title": "会议记录"})
        (record,) = done["results"][0]["messages"]
        content = record["content"]
        assert content["type"] == "forward" and content["title"] == "会议记录" and "forwarded" not in record
        assert [(i["sender_id"], i["sender_name"], i["content"]) for i in content["items"]] == [(a, "alice", image), (b, "bob", text("明天开会"))]
        found = await c1.request("chat_dm_search", {"query": "开会"})
        assert record["id"] in [r["message"]["id"] for r in found["results"]]
        # A client cannot send a forward record itself (it could forge one).
        await fails(c1, "chat_dm_send", {"peer": a, "content": content}, "bad_request")


async def test_what_cannot_be_forwarded_and_the_limits(harness, users):
    a, b, c = users["alice"], users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        g1 = await _group(a1, b)
        m1 = (await b1.request("chat_group_send", {"group_id": g1, "content": text("x")}))["id"]
        m2 = (await b1.request("chat_group_send", {"group_id": g1, "content": text("y")}))["id"]
        system = (await a1.request("chat_group_history", {"group_id": g1, "after_seq": 0}))["messages"][0]
        assert system["content"]["type"] == "system"
        before = await c1.request("chat_dm_conversations", {})
        await fails(c1, "chat_message_forward", {"msg_ids": [m1], "targets": [f"dm:{a}"]}, "not_found")  # not hers to read
        await fails(a1, "chat_message_forward", {"msg_ids": [system["id"]], "targets": [f"dm:{c}"]}, "bad_request")
        await b1.request("chat_group_recall", {"group_id": g1, "msg_id": m2})
        err = await fails(a1, "chat_message_forward", {"msg_ids": [m1, m2], "targets": [f"dm:{c}"]}, "bad_request")
        assert err.field == "msg_ids"
        targets = [f"dm:{c}", f"group:{g1}", f"dm:{b}", "group:1001", "group:1002"]
        await fails(a1, "chat_message_forward", {"msg_ids": [m1], "targets": targets}, "too_large")
        err = await fails(a1, "chat_message_forward", {"msg_ids": [m1], "targets": ["chat:1"]}, "bad_request")
        assert err.field == "targets[0]"
        assert await c1.request("chat_dm_conversations", {}) == before  # nothing reached carol
        # A resend with the same client_msg_id finds the copies made the first time.
        data = {"msg_ids": [m1], "targets": [f"dm:{c}", f"group:{g1}"], "client_msg_id": "fwd-1"}
        first = await a1.request("chat_message_forward", data)
        again = await a1.request("chat_message_forward", data)
        assert [r["messages"][0]["id"] for r in again["results"]] == [r["messages"][0]["id"] for r in first["results"]]
        # A target's own refusal: carol blocks alice; a channel where alice may not send.
        await c1.request("chat_block_add", {"user_id": a})
        cid, _, ch = await setup(b1, a1)
        everyone = (await b1.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]
        await b1.request("community_role_update", {"community_id": cid, "role_id": everyone, "allow": ["view_channel", "read_history"]})
        done = await a1.request("chat_message_forward", {"msg_ids": [m1], "targets": [f"dm:{c}", f"channel:{ch}", f"group:{g1}"]})
        assert [(r["ok"], r["error"] and r["error"]["code"]) for r in done["results"]] == [(False, "privacy_restricted"), (False, "forbidden"), (True, None)]

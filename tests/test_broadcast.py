"""The server's announcements over real sockets: server admins post, every logged-in connection
hears it (users in no conversation included), everyone pages them; recall; errors."""

from __future__ import annotations


from .test_community_chat import fails, text



async def test_announcements_reach_everyone_and_only_admins_post(harness, users):
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1, harness.client("carol") as c1:
        sent = await a1.request("chat_broadcast_send", {"content": text("今晚十点维护"), "client_msg_id": "b-1"})  # alice is a server admin
        for client in (a2, b1, c1):
            push = await client.next_push("chat_message")
            assert (push["data"]["event"], push["data"]["kind"], push["data"]["message"]) == ("new", "broadcast", sent["message"])
        assert not a1.pending_pushes("chat_message")  # the posting connection has the response
        again = await a1.request("chat_broadcast_send", {"content": text("今晚十点维护"), "client_msg_id": "b-1"})
        assert again["duplicate"] is True and again["id"] == sent["id"]
        # Everyone reads; nobody else writes.
        await fails(b1, "chat_broadcast_send", {"content": text("me too")}, "forbidden")
        await fails(b1, "chat_broadcast_recall", {"msg_id": sent["id"]}, "forbidden")
        page = await c1.request("chat_broadcast_history", {"after_seq": 0})
        assert [m["id"] for m in page["messages"]] == [sent["id"]] and page["conv_id"] == sent["conv_id"]
        assert (await b1.request("chat_message_get", {"msg_id": sent["id"]}))["kind"] == "broadcast"
        assert (await b1.request("chat_conversations", {}))["conversations"] == []  # no entry, no badge
        await fails(b1, "chat_broadcast_history", {"broadcast_id": 12345}, "not_found")
        await fails(a1, "chat_broadcast_send", {"content": text("x"), "mentions": [users["bob"]]}, "bad_request")
        # A recall reaches everyone too.
        done = await a1.request("chat_broadcast_recall", {"msg_id": sent["id"]})
        assert done["message"]["content"] is None
        for client in (b1, c1):
            push = await client.next_push("chat_message", where=lambda d: d["event"] == "recall")
            assert push["data"]["message"]["id"] == sent["id"]

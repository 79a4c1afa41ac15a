"""The translation language preference over real sockets: set by a user (their other devices
told), read by anyone (a bot translating for them), validated."""

from __future__ import annotations

from .test_community_chat import fails


async def test_set_and_read_the_translation_language(harness, users):
    a, b = users["alice"], users["bob"]
    async with harness.client("alice") as a1, harness.client("alice") as a2, harness.client("bob") as b1:
        assert await a1.request("chat_translation_language_set", {"language": "zh-CN"}) == {"language": "zh-CN"}
        push = await a2.next_push("chat_translation_language_update")
        assert push["data"] == {"language": "zh-CN"}
        got = await b1.request("chat_translation_language_get", {"user_ids": [a, b, 424242, a]})
        assert got["languages"] == [{"user_id": a, "language": "zh-CN"}, {"user_id": b, "language": ""}]
        await a1.request("chat_translation_language_set", {"language": ""})
        assert (await b1.request("chat_translation_language_get", {"user_ids": [a]}))["languages"][0]["language"] == ""
        for bad in ("zh_CN", "x", "english language", "zh-" + "a" * 10):
            await fails(a1, "chat_translation_language_set", {"language": bad}, "bad_request")
        await fails(a1, "chat_translation_language_get", {"user_ids": []}, "bad_request")

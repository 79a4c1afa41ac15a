"""Buttons and forms answered by readers, delivered to the bot that sent them (docs/bots.md)."""

from __future__ import annotations

import pytest

from chatd.client import ClientError

from .test_streams import add_bot, as_bot


BUTTONS = {"type": "buttons", "text": "Deploy v1.4?", "buttons": [[
    {"text": "Yes", "action": "callback", "value": "deploy"},
    {"text": "Docs", "action": "url", "value": "https://example.org/docs"},
]]}
FORM = {"type": "form", "text": "Your order", "fields": [
    {"id": "size", "type": "radio", "label": "Size", "options": ["small", "large"]},
    {"id": "gift", "type": "switch", "label": "Gift wrap", "default": False},
    {"id": "note", "type": "textarea", "label": "Note"},
]}


async def test_a_click_and_a_form_reach_the_bot(harness, users):
    token = await add_bot(harness, "shop")
    async with as_bot(harness, token) as bot, harness.client("alice") as alice, harness.client("carol") as carol:
        buttons = await bot.request("chat_dm_send", {"peer": users["alice"], "content": BUTTONS})
        out = await alice.request("chat_button_click", {"msg_id": buttons["id"], "value": "deploy"})
        assert out == {"msg_id": buttons["id"], "delivered": True}
        push = await bot.next_push("chat.button.click")
        assert push["data"]["value"] == "deploy" and push["data"]["user"]["id"] == users["alice"] and push["data"]["kind"] == "dm"
        for value in ("https://example.org/docs", "nope"):  # a URL button is no callback
            with pytest.raises(ClientError) as exc:
                await alice.request("chat_button_click", {"msg_id": buttons["id"], "value": value})
            assert (exc.value.code, exc.value.field) == ("bad_request", "value")
        with pytest.raises(ClientError) as exc:  # not her message to see
            await carol.request("chat_button_click", {"msg_id": buttons["id"], "value": "deploy"})
        assert exc.value.code == "not_found"

        form = await bot.request("chat_dm_send", {"peer": users["alice"], "content": FORM})
        out = await alice.request("chat_form_submit", {"msg_id": form["id"], "values": {"size": "large", "note": "thanks"}})
        assert out["values"] == {"size": "large", "gift": False, "note": "thanks"}
        push = await bot.next_push("chat.form.submit")
        assert push["data"]["values"] == out["values"] and push["data"]["msg_id"] == form["id"]
        for values, code, field in (
            ({"size": "huge"}, "bad_request", "values.size"),
            ({"gift": "yes"}, "bad_request", "values.gift"),
            ({"colour": "red"}, "bad_request", "values.colour"),
            ({"note": "x" * 4001}, "too_large", "values.note"),
            ([1, 2], "bad_request", "values"),
        ):
            with pytest.raises(ClientError) as exc:
                await alice.request("chat_form_submit", {"msg_id": form["id"], "values": values})
            assert (exc.value.code, exc.value.field) == (code, field), values
        with pytest.raises(ClientError) as exc:  # a form is not buttons
            await alice.request("chat_button_click", {"msg_id": form["id"], "value": "deploy"})
        assert exc.value.code == "bad_request"
        assert not bot.pending_pushes("chat.form.submit")  # the refused ones reached nobody

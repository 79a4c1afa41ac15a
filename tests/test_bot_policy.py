"""The policy of what only bots may do (chatd.policy.bots), without a server."""

from __future__ import annotations

import pytest

from chatd.errors import ChatError
from chatd.policy.bots import BOT_ONLY, require_bot
from chatd.protocol.registry import REGISTRY


@pytest.mark.parametrize("wire", sorted(BOT_ONLY))
def test_a_bot_may_and_a_person_may_not(wire):
    assert "forbidden" in REGISTRY.commands[wire].errors
    require_bot({"id": 7, "is_bot": True}, wire)
    for person in ({"id": 2, "is_bot": False}, {"id": 2}):
        with pytest.raises(ChatError) as exc:
            require_bot(person, wire)
        assert exc.value.code == "forbidden"

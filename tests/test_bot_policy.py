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


# -- handover ---------------------------------------------------------------------------------

from chatd.policy.bots import require_bot_may_send, require_handover, require_release  # noqa: E402

BOT = {"id": 9, "name": "helper", "is_bot": True}
AGENTS = frozenset({"agnes"})


def _code(fn, *args) -> str:
    with pytest.raises(ChatError) as exc:
        fn(*args)
    return exc.value.code


def test_who_may_take_a_bots_dm_over():
    require_handover({"id": 1, "name": "root", "is_admin": True}, frozenset(), 2, BOT)
    require_handover({"id": 3, "name": "Agnes"}, AGENTS, 2, BOT)  # names in any case
    assert _code(require_handover, {"id": 4, "name": "bob"}, AGENTS, 2, BOT) == "forbidden"
    assert _code(require_handover, BOT, AGENTS | {"helper"}, 2, BOT) == "forbidden"  # not the bot itself
    assert _code(require_handover, {"id": 8, "name": "other", "is_bot": True, "is_admin": True}, AGENTS, 2, BOT) == "forbidden"
    assert _code(require_handover, {"id": 2, "name": "agnes"}, AGENTS, 2, BOT) == "forbidden"  # not its own user
    assert _code(require_handover, {"id": 3, "name": "agnes"}, AGENTS, 2, {"id": 5, "name": "bob"}) == "not_found"
    assert _code(require_handover, {"id": 3, "name": "agnes"}, AGENTS, 2, None) == "not_found"


def test_who_may_give_it_back():
    require_release({"id": 3, "name": "agnes"}, 3)
    require_release({"id": 1, "name": "root", "is_admin": True}, 3)
    assert _code(require_release, {"id": 4, "name": "agnes2"}, 3) == "forbidden"
    assert _code(require_release, {"id": 3, "name": "agnes"}, None) == "conflict"
    assert _code(require_release, {"id": 1, "name": "root", "is_admin": True}, None) == "conflict"


def test_the_bot_may_not_send_while_handed_over():
    require_bot_may_send(9, None)
    require_bot_may_send(2, 9)
    require_bot_may_send(3, 9)
    assert _code(require_bot_may_send, 9, 9) == "handed_over"


def test_a_bots_own_agents_take_over_its_dms_only():
    carl = {"id": 6, "name": "carl"}
    require_handover(carl, AGENTS, 2, BOT, frozenset({6}))
    assert _code(require_handover, carl, AGENTS, 2, BOT, frozenset({7})) == "forbidden"
    assert _code(require_handover, BOT, AGENTS, 2, BOT, frozenset({9})) == "forbidden"  # never a bot

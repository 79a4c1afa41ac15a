"""Room presence as plain logic: per connection, per user, and what a session's end removes."""

from __future__ import annotations

from chatd.net.hub import Hub
from chatd.services.room_presence import RoomPresence
from chatd.net.session import Session, TokenBucket


def session(hub: Hub, user_id: int) -> Session:
    s = Session(None, TokenBucket(1, 1))
    s.user = {"id": user_id}
    hub.add(s)
    return s


def presence_with_hub() -> tuple[Hub, RoomPresence]:
    hub = Hub(90, 10)
    presence = RoomPresence()
    hub.session_end_hooks.append(presence.session_ended)
    return hub, presence


def test_a_user_is_present_while_one_connection_is_in_the_room():
    hub, presence = presence_with_hub()
    a1, a2, b1 = session(hub, 1), session(hub, 1), session(hub, 2)
    assert presence.enter(a1, 10) is True and presence.enter(a1, 10) is False
    presence.enter(a2, 10)
    presence.enter(b1, 10)
    presence.enter(b1, 11)
    assert presence.users(10) == {1: 2, 2: 1} and presence.count(10) == 2
    assert presence.sessions(10) == [a1, a2, b1]
    presence.leave(a1, 10)
    assert presence.users(10) == {1: 1, 2: 1} and not presence.is_in(a1, 10) and presence.is_in(a2, 10)
    # The hub's session end hook takes a connection out of every room it was in.
    hub.remove(b1)
    assert presence.users(10) == {1: 1} and presence.count(11) == 0 and not presence.is_in(b1, 11)
    presence.leave_user(10, 1)
    assert presence.count(10) == 0 and presence.sessions(10) == []
    presence.leave(a2, 10)  # leaving twice is harmless


def test_clear():
    hub, presence = presence_with_hub()
    s1, s2 = session(hub, 1), session(hub, 2)
    presence.enter(s1, 5)
    presence.enter(s2, 5)
    presence.clear(5)
    assert presence.count(5) == 0 and not presence.is_in(s1, 5)
    hub.remove(s1)
    assert not presence.is_in(s1, 5)

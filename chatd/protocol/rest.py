"""What the REST route (chatd.http.rest, docs/rest.md) does not run: requests that make sense
only on a WebSocket connection, each with the reason it answers. Imports nothing: the route and
the OpenAPI generator (chatd.protocol.openapigen) both read it."""

from __future__ import annotations

_TYPING = (
    "a typing notice says that a connection is typing now (at most one per "
    "limits.typing_interval_ms per connection): a REST request has no connection"
)

WS_ONLY: dict[str, str] = {
    "login": "a WebSocket logs in with its first frame; over HTTP, POST /api/v1/auth/login answers the Bearer token",
    "heartbeat": "a heartbeat keeps a connection alive: a REST request has none",
    "ping": "ping measures a connection's round trip: a REST request has none",
    "chat_dm_typing": _TYPING,
    "chat_group_typing": _TYPING,
    "chat_room_typing": _TYPING,
    "community_typing": _TYPING,
}

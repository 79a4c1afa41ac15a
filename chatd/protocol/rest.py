"""The shape of the REST API (chatd.http.rest, docs/rest.md): the requests it does not run (they
make sense only on a WebSocket connection, each with the reason it answers), and the resource
routes, each a request of the registry behind a method and a path. Imports nothing of chatd: the
server and the OpenAPI generator (chatd.protocol.openapigen) both read it."""

from __future__ import annotations

from typing import Any, NamedTuple

_TYPING = (
    "a typing notice says that a connection is typing now (at most one per "
    "limits.typing_interval_ms per connection): a REST request has no connection"
)

_CALL = "a call is signaled between connections (the devices that ring, answer and exchange offers): a REST request has none"

WS_ONLY: dict[str, str] = {
    "login": "a WebSocket logs in with its first frame; over HTTP, POST /api/v1/auth/login answers the Bearer token",
    "heartbeat": "a heartbeat keeps a connection alive: a REST request has none",
    "ping": "ping measures a connection's round trip: a REST request has none",
    "push_device_register": (
        "a push device belongs to the login token of the connection that registers it (and goes with that token): "
        "register it over the WebSocket connection of the device"
    ),
    "chat_dm_typing": _TYPING,
    "chat_group_typing": _TYPING,
    "chat_room_typing": _TYPING,
    "community_typing": _TYPING,
    **{
        wire: _CALL
        for wire in (
            "rtc_call_invite", "rtc_call_accept", "rtc_call_reject", "rtc_call_hangup", "rtc_call_state", "rtc_offer", "rtc_answer",
            "rtc_ice_candidate", "rtc_multi_join", "rtc_multi_signal", "rtc_multi_leave",
        )
    },
}


class Resource(NamedTuple):
    """A resource route of the REST API: `method path` runs the request `wire`. Each `{name}`
    in the path is the request field `name`; a GET's query parameters and a body's JSON
    object give the other fields; `fixed` fields are set by the route itself."""

    method: str
    path: str
    wire: str
    fixed: tuple[tuple[str, Any], ...] = ()

    @property
    def takes_body(self) -> bool:
        return self.method in ("POST", "PATCH")


# Where each conversation kind's messages live: (path segment, the field that names one, command prefix).
CONVERSATION_KINDS = (
    ("dms", "peer", "chat_dm"),
    ("groups", "group_id", "chat_group"),
    ("rooms", "room_id", "chat_room"),
    ("channels", "channel_id", "community"),
)


def _resources() -> list[Resource]:
    out = [
        Resource("GET", "/api/v1/conversations", "chat_conversations"),
        Resource("GET", "/api/v1/groups", "chat_group_list"),
        Resource("POST", "/api/v1/groups", "chat_group_create"),
        Resource("GET", "/api/v1/groups/{group_id}", "chat_group_info"),
        Resource("PATCH", "/api/v1/groups/{group_id}", "chat_group_update"),
        Resource("GET", "/api/v1/groups/{group_id}/members", "chat_group_members"),
        Resource("POST", "/api/v1/groups/{group_id}/members", "chat_group_invite"),
        Resource("GET", "/api/v1/messages/{msg_id}", "chat_message_get"),
        Resource("GET", "/api/v1/users", "user_search"),
    ]
    for segment, key, prefix in CONVERSATION_KINDS:
        messages = f"/api/v1/{segment}/{{{key}}}/messages"
        reaction = messages + "/{msg_id}/reactions/{emoji}"
        out += [
            Resource("POST", messages, f"{prefix}_send"),
            Resource("GET", messages, f"{prefix}_history"),
            Resource("PATCH", messages + "/{msg_id}", f"{prefix}_edit"),
            Resource("DELETE", messages + "/{msg_id}", f"{prefix}_recall"),
            Resource("PUT", reaction, f"{prefix}_react", (("remove", False),)),
            Resource("DELETE", reaction, f"{prefix}_react", (("remove", True),)),
            Resource("POST", f"/api/v1/{segment}/{{{key}}}/read", f"{prefix}_mark_read"),
        ]
    return out


RESOURCES: list[Resource] = _resources()

"""The REST API (docs/rest.md): POST /api/v1/commands/{wire} runs the WebSocket's handlers, over a real socket."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chatd.errors import CODES
from chatd.http.app import _STATUS
from chatd.protocol import openapigen
from chatd.core.conversation_list import BY_NAME as KIND_NAMES
from chatd.protocol.content import CLIENT_TYPES, URL_PATTERN
from chatd.protocol.requests import REQUESTS
from chatd.protocol.rest import WS_ONLY
from chatd.handlers.group import _STATUSES as GROUP_REQUEST_STATUSES
from chatd.policy.community_perms import Capability, Target, name_of
from chatd.policy.roles import ROLES
from chatd.policy.social import POLICIES
from chatd.store.community import JOIN_MODES
from chatd.store.message_reads import MEDIA_TYPES

from .test_files import png, token_of, upload
from .test_http import Response, error_code, request


async def rest(harness, token: str | None, wire: str, data: Any = None, *, raw: bytes | None = None, content_type: str | None = "application/json") -> Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if content_type:
        headers["Content-Type"] = content_type
    body = raw if raw is not None else json.dumps({} if data is None else data).encode()
    return await request(harness, "POST", f"/api/v1/commands/{wire}", body, headers)


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def test_every_error_code_has_a_status():
    assert set(_STATUS) == set(CODES)


async def test_a_dm_sent_over_rest_reaches_the_peers_websocket(harness, users):
    alice = await token_of(harness, "alice")
    async with harness.client("bob") as bob, harness.client("alice") as alice_ws:
        resp = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": text("hello from a bot"), "client_msg_id": "m1"})
        assert resp.status == 200, resp
        sent = resp.json()
        assert sent["duplicate"] is False and sent["message"]["content"] == text("hello from a bot")
        push = await bob.next_push("chat_message")
        assert push["data"]["message"]["id"] == sent["id"] and push["data"]["peer"] == users["alice"]
        # The sender's own WebSocket devices learn it as usual.
        await alice_ws.next_push("chat_message")
        # The same client_msg_id answers the same message, not a second one.
        again = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": text("hello from a bot"), "client_msg_id": "m1"})
        assert again.status == 200 and again.json()["duplicate"] is True and again.json()["id"] == sent["id"]


async def test_history_pages(harness, users):
    alice = await token_of(harness, "alice")
    for n in range(5):
        assert (await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": text(f"m{n}")})).status == 200
    page = await rest(harness, alice, "chat_dm_history", {"peer": users["bob"], "limit": 2})
    assert page.status == 200, page
    body = page.json()
    assert [m["content"]["text"] for m in body["messages"]] == ["m3", "m4"] and body["has_more"] is True
    older = await rest(harness, alice, "chat_dm_history", {"peer": users["bob"], "limit": 2, "before_seq": body["messages"][0]["seq"]})
    assert [m["content"]["text"] for m in older.json()["messages"]] == ["m1", "m2"]


async def test_a_whole_number_written_as_a_float_is_an_integer(harness, users):
    """JSON (and so JSON Schema, which the OpenAPI document speaks) has one kind of number: 2.0 is 2."""
    alice = await token_of(harness, "alice")
    sent = await rest(harness, alice, "chat_dm_send", {"peer": float(users["bob"]), "content": text("m")})
    assert sent.status == 200, sent
    page = await rest(harness, alice, "chat_dm_history", {"peer": users["bob"], "limit": 1e1})
    assert page.status == 200 and [m["id"] for m in page.json()["messages"]] == [sent.json()["id"]]
    half = await rest(harness, alice, "chat_dm_history", {"peer": users["bob"], "limit": 2.5})
    assert half.status == 400 and error_code(half) == "bad_request" and half.json()["error"]["field"] == "limit"


URLS = [
    ("HTTPS://Example.ORG:443/a/é?q=1#f", True),
    ("https://user:pw@example.org/", True),
    ("http://example.org:65535", True),
    ("http://example.org:65536", False),
    ("http:///no-host", False),
    ("//example.org/scheme-relative", False),
    ("javascript:alert(1)", False),
    ("http://例え.jp/", False),  # an international name goes in its xn-- form
    ("http://example.org/a\u3000b", False),
    ("chatd-file:" + "0" * 64, True),
]


async def test_a_content_url_is_what_the_documents_pattern_says(harness, users):
    """The OpenAPI document's `pattern` of a content URL is the rule the server checks."""
    doc = (await request(harness, "GET", "/api/v1/openapi.json")).json()
    pattern = re.compile(doc["components"]["schemas"]["Image"]["properties"]["url"]["pattern"])
    alice = await token_of(harness, "alice")
    for url, allowed in URLS:
        assert bool(pattern.search(url)) is allowed, url
        resp = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": {"type": "image", "url": url}})
        if url.startswith("chatd-file:"):  # allowed in form; this key names no file alice may send
            assert resp.status == 404, resp
        else:
            assert resp.status == (200 if allowed else 400), (url, resp)


async def test_a_conversation_target_is_what_the_documents_pattern_says(harness, users):
    """kind:id, with an ASCII id: the document states it as a pattern; a target outside it is a 400, never a 500."""
    doc = (await request(harness, "GET", "/api/v1/openapi.json")).json()
    pattern = re.compile(doc["components"]["schemas"]["ChatConversationRemoveRequest"]["properties"]["target"]["pattern"])
    alice = await token_of(harness, "alice")
    for target in ("dm:²", "dm:١", "dm:", "chat:1", f"dm:{users['bob']}x"):
        assert not pattern.search(target)
        resp = await rest(harness, alice, "chat_conversation_remove", {"target": target})
        assert resp.status == 400 and resp.json()["error"]["field"] == "target", (target, resp)
    forward = await rest(harness, alice, "chat_message_forward", {"msg_ids": [1], "targets": ["dm:²"]})
    assert forward.status == 400 and forward.json()["error"]["field"] == "targets[0]", forward
    assert pattern.search(f"dm:{users['bob']}")
    assert (await rest(harness, alice, "chat_conversation_remove", {"target": f"dm:{users['bob']}"})).status != 400


@pytest.mark.parametrize("content", [{"type": "system", "event": "member_join"}, {"type": "forward", "items": []}])
async def test_contents_only_the_server_makes_are_not_in_the_request_schema(harness, users, content):
    doc = (await request(harness, "GET", "/api/v1/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    sendable = {ref["$ref"].rsplit("/", 1)[1] for ref in schemas["ChatDMSendRequest"]["properties"]["content"]["anyOf"]}
    assert content["type"].capitalize() not in sendable and "Text" in sendable
    alice = await token_of(harness, "alice")
    resp = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": content})
    assert resp.status == 400 and resp.json()["error"]["field"] == "content.type", resp


def test_the_documents_enums_are_the_servers():
    doc = json.loads(openapigen.render())
    schemas = doc["components"]["schemas"]
    types = schemas["ChatMessageAroundRequest"]["properties"]["types"]["anyOf"][0]
    assert sorted(types["items"]["enum"]) == sorted(MEDIA_TYPES) and types["minItems"] == 1
    for name in ("ChatGroupMemberRoleSetRequest", "ChatRoomMemberRoleSetRequest"):
        assert sorted(schemas[name]["properties"]["role"]["enum"]) == sorted(ROLES)

    def enum(name: str, field: str) -> list[str]:
        prop = schemas[name]["properties"][field]
        prop = next((b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"), prop)
        return sorted(prop["items"]["enum"] if prop.get("type") == "array" else prop["enum"])

    assert enum("ChatDMPrivacySetRequest", "policy") == sorted(POLICIES)
    assert enum("ChatGroupRequestsRequest", "status") == sorted(GROUP_REQUEST_STATUSES)
    capabilities = sorted(name_of(c) for c in Capability)
    for name in ("CommunityCreateRequest", "CommunityUpdateRequest"):
        assert enum(name, "join_mode") == sorted(JOIN_MODES)
    for name, field in (("CommunityRoleCreateRequest", "allow"), ("CommunityRoleUpdateRequest", "allow"), ("CommunityOverwriteSetRequest", "allow"), ("CommunityOverwriteSetRequest", "deny")):
        assert enum(name, field) == capabilities
    assert enum("CommunityOverwriteSetRequest", "target") == sorted(t.value for t in Target)
    for name in ("ChatConversationsRequest", "ChatConversationsUnreadRequest"):
        assert enum(name, "kinds") == sorted(KIND_NAMES)
    assert enum("ChatConversationsUnreadRequest", "types") == sorted(CLIENT_TYPES | {"forward"})


async def test_what_the_schema_refuses_is_refused_and_the_rest_taken(harness, users):
    """Media types, roles and language tags: the document states them (enum, pattern), the decoder applies them."""
    alice = await token_of(harness, "alice")
    for language, status in (("pt-BR", 200), ("", 200), ("english!", 400), ("en\n", 400)):
        resp = await rest(harness, alice, "chat_translation_language_set", {"language": language})
        assert resp.status == status, (language, resp)
    empty = await rest(harness, alice, "chat_message_around", {"msg_id": 1, "types": []})
    assert empty.status == 400 and error_code(empty) == "bad_request" and empty.json()["error"]["field"] == "types"
    odd = await rest(harness, alice, "chat_message_around", {"msg_id": 1, "types": ["text"]})
    assert odd.status == 400 and odd.json()["error"]["field"] == "types[0]"
    gid = (await rest(harness, alice, "chat_group_create", {"name": "g", "members": [users["bob"]]})).json()["group"]["group_id"]
    role = await rest(harness, alice, "chat_group_member_role_set", {"group_id": gid, "user_id": users["bob"], "role": "king"})
    assert role.status == 400 and role.json()["error"]["field"] == "role"


@pytest.mark.parametrize("wire", ["chat_group_join", "group_join", "community_join", "chat_group_member_mute_set"])
async def test_a_request_that_needs_one_of_two_fields_says_so(harness, users, wire):
    doc = json.loads(openapigen.render())
    schema = doc["components"]["schemas"][doc["paths"][f"/api/v1/commands/{wire}"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert all(branch["required"][0] in schema["properties"] for branch in schema["anyOf"]) and len(schema["anyOf"]) == 2
    alice = await token_of(harness, "alice")
    data = {"group_id": 1, "user_id": users["bob"]} if wire.endswith("mute_set") else {}
    resp = await rest(harness, alice, wire, data)
    assert resp.status == 400 and error_code(resp) == "bad_request", resp


async def test_a_url_buttons_value_is_a_url_in_the_document_too(harness, users):
    doc = json.loads(openapigen.render())
    url_branch = doc["components"]["schemas"]["Buttons"]["properties"]["buttons"]["items"]["items"]["anyOf"][0]
    assert url_branch["properties"]["action"] == {"const": "url"} and url_branch["properties"]["value"]["pattern"] == URL_PATTERN
    alice = await token_of(harness, "alice")
    for action, status in (("url", 400), ("copy", 200)):
        content = {"type": "buttons", "text": "t", "buttons": [[{"text": "b", "action": action, "value": "javascript:x"}]]}
        resp = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": content})
        assert resp.status == status, (action, resp)


async def test_a_group_created_and_read(harness, users):
    alice = await token_of(harness, "alice")
    async with harness.client("bob") as bob:
        resp = await rest(harness, alice, "chat_group_create", {"name": "bots", "members": [users["bob"]]})
        assert resp.status == 200, resp
        gid = resp.json()["group"]["group_id"]
        await bob.next_push("chat_group_conversation_update")
    members = await rest(harness, alice, "chat_group_members", {"group_id": gid})
    assert members.status == 200 and {m["user"]["id"] for m in members.json()["members"]} == {users["alice"], users["bob"]}
    carol = await token_of(harness, "carol")
    refused = await rest(harness, carol, "chat_group_members", {"group_id": gid})
    assert refused.status == 403 and error_code(refused) == "not_member"


async def test_a_room_joined_and_sent_to_over_rest(harness, users):
    """Over REST a user becomes a member of a room (no connection enters it); what it sends reaches
    the connections that are in the room."""
    alice, carol = await token_of(harness, "alice"), await token_of(harness, "carol")
    room = (await rest(harness, alice, "chat_room_create", {"name": "lobby"})).json()["room"]
    async with harness.client("bob") as bob:
        await bob.request("room_join", {"room_id": room["room_id"]})
        joined = await rest(harness, carol, "room_join", {"room_id": room["room_id"]})
        assert joined.status == 200 and joined.json()["joined"] is True and joined.json()["room"]["present_count"] == 1
        sent = await rest(harness, carol, "chat_room_send", {"room_id": room["room_id"], "content": text("hi room")})
        assert sent.status == 200, sent
        push = await bob.next_push("chat_message")
        assert push["data"]["message"]["id"] == sent.json()["id"]
        assert (await rest(harness, carol, "room_exit", {"room_id": room["room_id"]})).status == 200
        gone = await rest(harness, carol, "chat_room_history", {"room_id": room["room_id"]})
        assert gone.status == 403 and error_code(gone) == "not_member"


async def test_an_image_uploaded_then_sent(harness, users):
    alice = await token_of(harness, "alice")
    key = (await upload(harness, alice, png())).json()["key"]
    resp = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": {"type": "image", "url": key}})
    assert resp.status == 200, resp


async def test_errors(harness, users):
    alice = await token_of(harness, "alice")
    body = {"peer": users["bob"], "content": text("x")}
    no_token = await rest(harness, None, "chat_dm_send", body)
    assert no_token.status == 401 and error_code(no_token) == "auth_failed" and "bearer" in no_token.headers["www-authenticate"].lower()
    bad_token = await rest(harness, "nope", "chat_dm_send", body)
    assert bad_token.status == 401 and error_code(bad_token) == "auth_failed"
    bad_field = await rest(harness, alice, "chat_dm_send", {"peer": "bob", "content": text("x")})
    assert bad_field.status == 400 and error_code(bad_field) == "bad_request" and bad_field.json()["error"]["field"] == "peer"
    missing = await rest(harness, alice, "chat_dm_send", {"content": text("x")})
    assert missing.status == 400 and missing.json()["error"]["field"] == "peer"
    bob = await token_of(harness, "bob")
    forbidden = await rest(harness, bob, "chat_room_create", {"name": "mine"})  # rooms.create = admins
    assert forbidden.status == 403 and error_code(forbidden) == "forbidden"
    unknown = await rest(harness, alice, "no_such_command", {})
    assert unknown.status == 404 and error_code(unknown) == "unknown_command"
    push_name = await rest(harness, alice, "chat_message", {})
    assert push_name.status == 404 and error_code(push_name) == "unknown_command"
    not_json = await rest(harness, alice, "chat_dm_send", raw=b"peer=2", content_type="application/x-www-form-urlencoded")
    assert not_json.status == 415 and error_code(not_json) == "bad_request"
    malformed = await rest(harness, alice, "chat_dm_send", raw=b"{nope")
    assert malformed.status == 400 and malformed.json()["error"]["field"] == "data"
    get = await request(harness, "GET", "/api/v1/commands/chat_dm_send", None, {"Authorization": f"Bearer {alice}"})
    assert get.status == 405


@pytest.mark.parametrize("wire", sorted(WS_ONLY))
async def test_connection_only_requests_are_refused(harness, users, wire):
    alice = await token_of(harness, "alice")
    data = {"peer": users["bob"]} if wire == "chat_dm_typing" else {}
    resp = await rest(harness, alice, wire, data)
    assert resp.status == 400 and error_code(resp) == "bad_request" and resp.json()["error"]["field"] == "cmd"


@pytest.mark.parametrize("config_overrides", [{"limits": {"user_write_burst": 3, "user_write_rate_per_s": 0.5}}])
async def test_the_write_budget_applies(harness, users):
    alice = await token_of(harness, "alice")
    for n in range(3):
        assert (await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": text(f"{n}")})).status == 200
    resp = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": text("one too many")})
    assert resp.status == 429 and error_code(resp) == "rate_limited" and int(resp.headers["retry-after"]) >= 1
    assert resp.json()["error"]["retry_after_ms"] > 0
    # Reads cost nothing.
    assert (await rest(harness, alice, "chat_dm_history", {"peer": users["bob"]})).status == 200


@pytest.mark.parametrize("config_overrides", [{"limits": {"send_burst": 2, "send_rate_per_s": 0.5}}])
async def test_the_send_rate_applies_to_a_users_rest_requests(harness, users):
    alice = await token_of(harness, "alice")
    for n in range(2):
        assert (await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": text(f"{n}")})).status == 200
    resp = await rest(harness, alice, "chat_dm_send", {"peer": users["bob"], "content": text("too fast")})
    assert resp.status == 429 and error_code(resp) == "rate_limited"


async def test_the_openapi_document(harness, users):
    resp = await request(harness, "GET", "/api/v1/openapi.json")
    assert resp.status == 200 and resp.headers["content-type"] == "application/json"
    doc = resp.json()
    assert doc["openapi"] == "3.1.0"
    commands = {path: item for path, item in doc["paths"].items() if path.startswith("/api/v1/commands/")}
    exposed = {path.rsplit("/", 1)[1] for path in commands}
    assert exposed == set(REQUESTS) - set(WS_ONLY)
    for path, item in commands.items():
        op = item["post"]
        assert op["operationId"] == path.rsplit("/", 1)[1]
        assert "200" in op["responses"] and "401" in op["responses"] and "429" in op["responses"]
    send = doc["components"]["schemas"]["ChatDMHistoryRequest"]["properties"]["limit"]
    assert send["minimum"] == 1 and send["maximum"] == 100 and send["default"] == 20


def test_the_openapi_document_is_up_to_date():
    assert openapigen.OPENAPI_JSON.read_text(encoding="utf-8") == openapigen.render(), "run python -m chatd.protocol.openapigen"

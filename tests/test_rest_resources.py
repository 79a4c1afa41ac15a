"""The REST API's resource routes (docs/rest.md, chatd.protocol.rest.RESOURCES): each runs a
command of the registry, its fields from the path, the query or the JSON body."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import msgspec
import pytest

from chatd.protocol import openapigen
from chatd.protocol.registry import REGISTRY
from chatd.protocol.requests import REQUESTS
from chatd.protocol.rest import RESOURCES, WS_ONLY

from .test_files import token_of
from .test_http import Response, error_code, request


async def call(harness, token: str | None, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    raw = None
    if body is not None:
        headers["Content-Type"] = content_type
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await request(harness, method, quote(path, safe="/?=&,"), raw, headers)


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


@pytest.mark.parametrize("res", RESOURCES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_runs_a_rest_command_and_names_its_fields(res):
    assert res.wire in REQUESTS and res.wire not in WS_ONLY and REGISTRY.commands[res.wire].implemented
    fields = {f.name for f in msgspec.structs.fields(REQUESTS[res.wire])}
    assert set(re.findall(r"\{(\w+)\}", res.path)) | {k for k, _ in res.fixed} <= fields


def test_routes_are_unique_and_in_the_openapi_document():
    assert len({(r.method, r.path) for r in RESOURCES}) == len(RESOURCES)
    doc = openapigen.document()
    for res in RESOURCES:
        op = doc["paths"][res.path][res.method.lower()]
        assert {p["name"] for p in op["parameters"] if p["in"] == "path"} == set(re.findall(r"\{(\w+)\}", res.path))
        assert ("requestBody" in op) == res.takes_body


async def test_a_dm_over_resource_routes(harness, users):
    alice, bob_id = await token_of(harness, "alice"), users["bob"]
    base = f"/api/v1/dms/{bob_id}/messages"
    async with harness.client("bob") as bob:
        sent = await call(harness, alice, "POST", base, {"content": text("hello"), "client_msg_id": "r1"})
        assert sent.status == 200, sent
        msg_id = sent.json()["id"]
        assert (await bob.next_push("chat_message"))["data"]["message"]["id"] == msg_id
        again = await call(harness, alice, "POST", base, {"content": text("hello"), "client_msg_id": "r1"})
        assert again.json()["duplicate"] is True and again.json()["id"] == msg_id
        for n in range(3):
            assert (await call(harness, alice, "POST", base, {"content": text(f"m{n}")})).status == 200
        page = await call(harness, alice, "GET", base + "?limit=2")
        assert page.status == 200, page
        assert [m["content"]["text"] for m in page.json()["messages"]] == ["m1", "m2"]
        older = await call(harness, alice, "GET", f"{base}?limit=2&before_seq={page.json()['messages'][0]['seq']}")
        assert [m["content"]["text"] for m in older.json()["messages"]] == ["hello", "m0"]
        edited = await call(harness, alice, "PATCH", f"{base}/{msg_id}", {"content": text("hello, edited")})
        assert edited.status == 200, edited
        edit = await bob.next_push("chat_message", where=lambda d: d["event"] == "edit")
        assert edit["data"]["message"]["content"]["text"] == "hello, edited"
        reacted = await call(harness, alice, "PUT", f"{base}/{msg_id}/reactions/👍")
        assert reacted.status == 200 and [r["emoji"] for r in reacted.json()["message"]["reactions"]] == ["👍"], reacted
        unreacted = await call(harness, alice, "DELETE", f"{base}/{msg_id}/reactions/👍")
        assert unreacted.status == 200 and unreacted.json()["message"]["reactions"] == []
        got = await call(harness, alice, "GET", f"/api/v1/messages/{msg_id}")
        assert got.status == 200 and got.json()["message"]["content"]["text"] == "hello, edited"
        recalled = await call(harness, alice, "DELETE", f"{base}/{msg_id}")
        assert recalled.status == 200 and recalled.json()["message"]["recalled_at"], recalled
    bob = await token_of(harness, "bob")
    read = await call(harness, bob, "POST", f"/api/v1/dms/{users['alice']}/read", {})
    assert read.status == 200 and read.json()["last_read_seq"] >= 4, read
    listed = await call(harness, bob, "GET", "/api/v1/conversations?kinds=dm")
    assert listed.status == 200 and [c["kind"] for c in listed.json()["conversations"]] == ["dm"], listed


async def test_a_group_over_resource_routes(harness, users):
    alice, carol = await token_of(harness, "alice"), await token_of(harness, "carol")
    created = await call(harness, alice, "POST", "/api/v1/groups", {"name": "bots", "members": [users["bob"]]})
    assert created.status == 200, created
    gid = created.json()["group"]["group_id"]
    info = await call(harness, alice, "GET", f"/api/v1/groups/{gid}")
    assert info.status == 200 and info.json()["group"]["name"] == "bots" and info.json()["group"]["role"] == "owner"
    assert (await call(harness, alice, "PATCH", f"/api/v1/groups/{gid}", {"name": "robots"})).status == 200
    listed = await call(harness, alice, "GET", "/api/v1/groups")
    assert [g["name"] for g in listed.json()["groups"]] == ["robots"]
    refused = await call(harness, carol, "GET", f"/api/v1/groups/{gid}")
    assert refused.status == 403 and error_code(refused) == "not_member"
    invited = await call(harness, alice, "POST", f"/api/v1/groups/{gid}/members", {"user_ids": [users["carol"]]})
    assert invited.status == 200 and invited.json()["added"] == [users["carol"]], invited
    members = await call(harness, carol, "GET", f"/api/v1/groups/{gid}/members?limit=2")
    assert members.status == 200 and members.json()["total"] == 3 and len(members.json()["members"]) == 2
    sent = await call(harness, carol, "POST", f"/api/v1/groups/{gid}/messages", {"content": text("hi all")})
    assert sent.status == 200, sent
    history = await call(harness, alice, "GET", f"/api/v1/groups/{gid}/messages")
    assert history.json()["messages"][-1]["content"]["text"] == "hi all"


async def test_a_room_and_a_channel_over_resource_routes(harness, users):
    alice = await token_of(harness, "alice")
    room = (await call(harness, alice, "POST", "/api/v1/commands/chat_room_create", {"name": "lobby"})).json()["room"]
    assert (await call(harness, alice, "POST", "/api/v1/commands/room_join", {"room_id": room["room_id"]})).status == 200
    sent = await call(harness, alice, "POST", f"/api/v1/rooms/{room['room_id']}/messages", {"content": text("in the room")})
    assert sent.status == 200, sent
    made = await call(harness, alice, "POST", "/api/v1/commands/community_create", {"name": "open", "public": True, "join_mode": "open"})
    channel = made.json()["channel_id"]
    posted = await call(harness, alice, "POST", f"/api/v1/channels/{channel}/messages", {"content": text("in the channel")})
    assert posted.status == 200, posted
    history = await call(harness, alice, "GET", f"/api/v1/channels/{channel}/messages?limit=1")
    assert [m["content"]["text"] for m in history.json()["messages"]] == ["in the channel"]


async def test_resource_route_errors(harness, users):
    alice = await token_of(harness, "alice")
    base = f"/api/v1/dms/{users['bob']}/messages"
    no_token = await call(harness, None, "GET", base)
    assert no_token.status == 401 and "bearer" in no_token.headers["www-authenticate"].lower()
    bad_path = await call(harness, alice, "GET", "/api/v1/dms/bob/messages")
    assert bad_path.status == 400 and bad_path.json()["error"]["field"] == "peer"
    bad_query = await call(harness, alice, "GET", base + "?limit=1000")
    assert bad_query.status == 400 and bad_query.json()["error"]["field"] == "limit"
    misspelt = await call(harness, alice, "GET", base + "?limt=10")
    assert misspelt.status == 400 and misspelt.json()["error"]["field"] == "limt"
    wrong_method = await call(harness, alice, "PUT", base)
    assert wrong_method.status == 405
    unknown = await call(harness, alice, "GET", "/api/v1/nothing/here")
    assert unknown.status == 404 and error_code(unknown) == "not_found"
    form = await call(harness, alice, "POST", base, b"content=hi", content_type="application/x-www-form-urlencoded")
    assert form.status == 415
    not_object = await call(harness, alice, "POST", base, [1, 2])
    assert not_object.status == 400 and not_object.json()["error"]["field"] == "data"
    missing = await call(harness, alice, "POST", base, {})
    assert missing.status == 400 and missing.json()["error"]["field"] == "content"
    # The path names the conversation: a `peer` in the body does not redirect the message.
    sent = await call(harness, alice, "POST", base, {"peer": users["carol"], "content": text("to bob")})
    assert sent.status == 200
    msg = (await call(harness, alice, "GET", f"/api/v1/messages/{sent.json()['id']}")).json()
    assert msg["message"]["content"]["text"] == "to bob" and users["carol"] not in (msg.get("peer"),)
    history = await call(harness, alice, "GET", base)
    assert history.json()["messages"][-1]["id"] == sent.json()["id"]

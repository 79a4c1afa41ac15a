"""The REST API under a fuzzer (docs/rest.md, "How the API is fuzzed"): every operation of the live
/api/v1/openapi.json, a bounded number of generated requests each, checked against the document.

The real server runs in a thread of its own (its own trio loop, a real socket, a real SQLite file);
the fuzzer's requests are synchronous and go over that socket like any client's. Before the fuzzer
starts, three users, a DM, a group, a room and a community with messages exist, so that generated
ids sometimes name real objects; requests carry the bearer token of one of those users.

For every operation, schemathesis generates requests that the document allows and requests that it
forbids; each response must not be a 5xx, must have a status, content type, headers and body that
the document lists for the operation; a forbidden request must be refused with a 4xx and an allowed
one must not be refused as malformed (400), but for the refusals no static schema can state (acting
on yourself, bounds of what exists now) and configured limits below the document's (413); a 501 is a
server error unless it is the documented not_implemented. CHATD_REST_FUZZ_EXAMPLES (default 8) sets the generated requests per operation,
CHATD_REST_FUZZ_SEED (default 1414) the seed: the same seed generates the same requests.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import trio
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from chatd.protocol import openapigen

from .conftest import Harness, make_config, start_server
from .test_files import token_of
from .test_rest import text

EXAMPLES = int(os.environ.get("CHATD_REST_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("CHATD_REST_FUZZ_SEED", "1414"))
# Generous budgets: the fuzzer sends far faster than any person, and some of its requests carry
# a bad token (each a failed login of its address); a 429 on every request would leave the
# handlers behind it untried (rate limits are tested in tests/test_rest.py and test_login_throttle.py).
CONFIG = {
    "limits": {"user_write_rate_per_s": 10000.0, "user_write_burst": 100000, "send_rate_per_s": 10000.0, "send_burst": 100000},
    "auth": {"address_failures": 1000000},
    "storage": {"durability": "normal"},  # what is tested is the answers, not the disk: no sync per write
}


async def make_world(harness: Harness) -> dict[str, Any]:
    """Users, conversations and messages for generated ids to hit now and then; the token to fuzz with."""
    ids = {name: await harness.add_user(name, admin=name == "alice") for name in ("alice", "bob", "carol")}
    async with harness.client("alice") as alice, harness.client("bob") as bob:
        await alice.request("chat_dm_send", {"peer": ids["bob"], "content": text("hello bob")})
        await bob.request("chat_dm_send", {"peer": ids["alice"], "content": text("hello alice")})
        group = (await alice.request("chat_group_create", {"name": "fuzzers", "members": [ids["bob"]]}))["group"]
        await alice.request("chat_group_send", {"group_id": group["group_id"], "content": text("hi group")})
        room = (await alice.request("chat_room_create", {"name": "lobby"}))["room"]
        await bob.request("room_join", {"room_id": room["room_id"]})
        await bob.request("chat_room_send", {"room_id": room["room_id"], "content": text("hi room")})
        made = await alice.request("community_create", {"name": "club", "public": True, "join_mode": "open"})
        await bob.request("community_join", {"community_id": made["community"]["community_id"]})
        await alice.request("community_send", {"channel_id": made["channel_id"], "content": text("hi club")})
        await alice.request("chat_friend_add", {"user_id": ids["carol"]})
    return {"http_url": harness.http_url, "token": await token_of(harness, "alice")}


def serve_in_thread(tmp_path: Any, handed: queue.Queue[Any], stop: threading.Event) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            server = await start_server(nursery, make_config(tmp_path, **CONFIG))
            try:
                handed.put(await make_world(Harness(server, nursery)))
                await trio.to_thread.run_sync(stop.wait, abandon_on_cancel=True)
            finally:
                server.stop()

    try:
        trio.run(main)
    except BaseException as exc:  # noqa: BLE001 - handed to the test, which fails with it
        handed.put(exc)


# Answers the fuzzer's generic checks would flag that are what the document says (docs/rest.md,
# "How the API is fuzzed"):
# - a 400 for schema-valid data that depends on who asks or on what exists now, which no static
#   schema can state: acting on yourself (a DM with yourself, blocking or kicking yourself), a
#   position past the current list, a reorder that does not list the current roles, mentions of
#   users who are not in the conversation, renaming or deleting a community's @everyone role;
# - 413 too_large where a configured limit (messages.forward_max_targets, ...) is below the bound
#   the document gives;
# - 501 not_implemented, listed for the operation, for a value of the protocol this server does
#   not serve yet.
_REFUSAL_WORDS = ("needs another user", "yourself", "@everyone")
_NOW_FIELDS = ("position", "role_ids", "mentions")


def _excused_checks(response: Any) -> list[Any]:
    if response.status_code not in (400, 413, 501):
        return []
    error = response.json()["error"]
    if error["code"] == "bad_request" and (any(w in error["message"] for w in _REFUSAL_WORDS) or error.get("field") in _NOW_FIELDS):
        return [schemathesis.checks.positive_data_acceptance]
    if error["code"] == "too_large":
        return [schemathesis.checks.positive_data_acceptance]
    if error["code"] == "not_implemented":
        return [schemathesis.checks.not_a_server_error]
    return []


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real server in a thread of its own, with its world made; stopped at the end."""
    handed: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()
    data_dir = tmp_path_factory.mktemp("fuzzed")
    thread = threading.Thread(target=serve_in_thread, args=(data_dir, handed, stop), name="chatd-under-fuzz")
    thread.start()
    world = handed.get(timeout=60)
    try:
        if isinstance(world, BaseException):
            raise world
        with requests.Session() as session:  # one keep-alive connection, not one per request
            yield {**world, "session": session}
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the server did not stop"
    if not handed.empty():
        raise handed.get()


@pytest.fixture(scope="module")
def api_schema(live_api: dict[str, Any]) -> Any:
    """The document the live server serves at /api/v1/openapi.json, as schemathesis reads it."""
    return schemathesis.openapi.from_url(live_api["http_url"] + "/api/v1/openapi.json", timeout=10)


# Every operation of the document (the file the server serves), one test each.
OPERATIONS = [
    (path, method.upper())
    for path, item in json.loads(openapigen.OPENAPI_JSON.read_text(encoding="utf-8"))["paths"].items()
    for method in item
    if method in ("get", "put", "post", "patch", "delete")
]


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{method} {path}" for path, method in OPERATIONS])
def test_every_operation_answers_as_documented(path: str, method: str, api_schema: Any, live_api: dict[str, Any]) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
    headers = {"Authorization": f"Bearer {live_api['token']}"}
    sent = {"base_url": live_api["http_url"], "session": live_api["session"], "headers": headers, "timeout": 10}

    @given(case=cases)
    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        response = case.call(**sent)
        excused = _excused_checks(response)
        if any(v is None or v == [] for v in (case.query or {}).values()):
            # A query parameter of null or [] never reaches the server (the HTTP client leaves it
            # out): a "forbidden" request that arrives as an allowed one.
            excused.append(schemathesis.checks.negative_data_rejection)
        case.validate_response(response, headers=headers, excluded_checks=excused, transport_kwargs=sent)

    fuzz()

"""user_search: finding users by the beginning of their name or display name."""

from __future__ import annotations

import pytest

from chatd.client import ClientError



async def test_users_found_by_the_beginning_of_their_names(harness, users):
    extra = {}
    for name in ("bobby", "rob_ert", "Bo%x"):
        extra[name] = await harness.add_user(name)

    def op(ctx):
        ctx.conn.execute("UPDATE users SET display_name = 'Zed Bo' WHERE id = ?", (users["carol"],))
        ctx.conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", (extra["bobby"],))

    await harness.server.writer.submit(op)
    async with harness.client("alice") as a:
        found = await a.request("user_search", {"query": "BO"})
        assert [u["name"] for u in found["users"]] == ["Bo%x", "bob"]  # by name, any case; bobby is disabled
        assert [u["name"] for u in (await a.request("user_search", {"query": "zed"}))["users"]] == ["carol"]
        # LIKE's wildcards are only letters here.
        assert [u["name"] for u in (await a.request("user_search", {"query": "bo%"}))["users"]] == ["Bo%x"]
        assert [u["name"] for u in (await a.request("user_search", {"query": "rob_"}))["users"]] == ["rob_ert"]
        assert (await a.request("user_search", {"query": "r_b"}))["users"] == []
        assert len((await a.request("user_search", {"query": "b", "limit": 1}))["users"]) == 1
        with pytest.raises(ClientError) as exc:
            await a.request("user_search", {"query": ""})
        assert exc.value.code == "bad_request"


async def test_over_rest(harness, users):
    from .test_files import token_of
    from .test_http import request

    token = await token_of(harness, "alice")
    resp = await request(harness, "GET", "/api/v1/users?query=car&limit=5", None, {"Authorization": f"Bearer {token}"})
    assert resp.status == 200 and [u["id"] for u in resp.json()["users"]] == [users["carol"]]

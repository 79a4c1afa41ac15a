"""Community invite codes and the permission view over real sockets: codes with uses and
expiry, and an admin's view of a member's effective permissions in a channel with the trace."""

from __future__ import annotations

import trio

from .test_community_chat import fails, setup


async def test_invite_codes_with_uses_and_expiry(harness, users):
    await harness.add_user("dave")
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1, harness.client("dave") as d1:
        made = await a1.request("community_create", {"name": "closed"})
        cid = made["community"]["community_id"]
        invite = (await a1.request("community_invite_create", {"community_id": cid, "max_uses": 1}))["invite"]
        assert invite["community_id"] == cid and invite["max_uses"] == 1 and invite["uses"] == 0 and invite["expires_at"] > invite["created_at"]
        await fails(b1, "community_invite_create", {"community_id": cid}, "not_found")  # not a member
        await fails(a1, "community_invite_create", {"community_id": cid, "max_uses": -1}, "bad_request")
        await fails(b1, "community_join", {"community_id": cid}, "forbidden")
        assert (await b1.request("community_join", {"invite_code": invite["code"]}))["joined"] is True
        await fails(c1, "community_join", {"invite_code": invite["code"]}, "not_found")  # used up
        short = (await b1.request("community_invite_create", {"community_id": cid, "expires_in_ms": 300}))["invite"]  # @everyone may invite
        await trio.sleep(0.4)
        await fails(c1, "community_join", {"invite_code": short["code"]}, "not_found")  # expired
        forever = (await a1.request("community_invite_create", {"community_id": cid, "expires_in_ms": 0}))["invite"]
        assert forever["expires_at"] == 0 and forever["max_uses"] == 0
        for client in (c1, d1):
            assert (await client.request("community_join", {"invite_code": forever["code"]}))["joined"] is True
        everyone = (await a1.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]
        await a1.request("community_role_update", {"community_id": cid, "role_id": everyone, "allow": ["view_channel", "send", "read_history"]})
        err = await fails(b1, "community_invite_create", {"community_id": cid}, "forbidden")
        assert err.missing == "invite"


async def test_an_admin_sees_a_members_permissions_with_the_trace(harness, users):
    b, c = users["bob"], users["carol"]
    async with harness.client("alice") as a1, harness.client("bob") as b1, harness.client("carol") as c1:
        cid, cat, ch = await setup(a1, b1)
        await c1.request("community_join", {"community_id": cid})
        muted = (await a1.request("community_role_create", {"community_id": cid, "name": "Muted"}))["role"]
        await a1.request("community_role_set", {"community_id": cid, "user_id": b, "add": [muted["role_id"]]})
        await a1.request("community_overwrite_set", {"community_id": cid, "place": "category", "place_id": cat,
                                                     "target": "role", "target_id": muted["role_id"], "deny": ["send"]})
        view = await a1.request("community_permissions", {"community_id": cid, "user_id": b, "channel_id": ch})
        assert view["place"] == "channel #general" and view["roles"] == ["Muted"]
        assert view["allow"] == ["view_channel", "read_history", "invite"]
        assert view["trace"][-1]["by"] == "overwrite of role Muted on category Text Channels" and view["trace"][-1]["removed"] == ["send"]
        assert view["trace"][0]["allow"] == ["view_channel", "send", "read_history", "invite"]
        # The refusal names the same place.
        err = await fails(b1, "community_send", {"channel_id": ch, "content": {"type": "text", "text": "x"}}, "forbidden")
        assert err.by == view["trace"][-1]["by"]
        # In the community as a whole, and for oneself; others need manage_roles.
        whole = await b1.request("community_permissions", {"community_id": cid, "user_id": b})
        assert whole["channel_id"] is None and whole["place"] == "the community"
        owner = await a1.request("community_permissions", {"community_id": cid, "user_id": users["alice"], "channel_id": ch})
        assert "administrator" in owner["allow"]
        err = await fails(b1, "community_permissions", {"community_id": cid, "user_id": c, "channel_id": ch}, "forbidden")
        assert err.missing == "manage_roles"
        await a1.request("community_member_mute_set", {"community_id": cid, "user_id": c, "duration_ms": 600_000})
        timed = await a1.request("community_permissions", {"community_id": cid, "user_id": c, "channel_id": ch})
        assert timed["allow"] == ["view_channel", "read_history"] and timed["timed_out_until"] > 0
        await fails(a1, "community_permissions", {"community_id": cid, "user_id": 99999, "channel_id": ch}, "not_found")
        await fails(a1, "community_permissions", {"community_id": cid, "user_id": b, "channel_id": 99999}, "not_found")
        await fails(c1, "community_permissions", {"community_id": 99999, "user_id": c}, "not_found")

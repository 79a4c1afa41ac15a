"""A permission walk over the community administration commands: each command against the
owner, an administrator, a role holding the capability, a member without it, a timed-out
member (holding it through a role) and a non-member, compared with what the policy says."""

from __future__ import annotations

from chatd.client import ClientError

from .test_community_chat import setup

# actor -> the answer every command below gets from them.
EXPECTED = {"owner": "ok", "admin": "ok", "staff": "ok", "member": "forbidden", "timed_out": "forbidden", "outsider": "not_found"}
ORDER = ("member", "timed_out", "outsider", "owner", "admin", "staff")


async def _answer(client, cmd: str, data: dict) -> str:
    try:
        await client.request(cmd, data)
    except ClientError as e:
        return e.code
    return "ok"


async def test_every_admin_command_for_every_kind_of_actor(harness, users):
    names = ["dave", "erin", "frank", "gina", "v1", "v2", "v3", "w"]
    ids = {n: await harness.add_user(n) for n in names}
    async with harness.client("alice") as a1, harness.client("bob") as b1:
        cid, cat, ch = await setup(a1, b1)  # bob: a plain member
        clients = {"owner": a1, "member": b1}
        async with harness.client("dave") as admin, harness.client("erin") as staff, harness.client("frank") as timed, \
                harness.client("gina") as outsider, harness.client("v1") as v1, harness.client("v2") as v2, harness.client("v3") as v3, \
                harness.client("w") as w:
            for c in (admin, staff, timed, v1, v2, v3, w):
                await c.request("community_join", {"community_id": cid})
            caps = ["kick", "mute", "manage_community", "manage_channels", "manage_roles", "invite"]
            staff_role = (await a1.request("community_role_create", {"community_id": cid, "name": "Staff", "allow": caps}))["role"]["role_id"]
            admin_role = (await a1.request("community_role_create", {"community_id": cid, "name": "Admin", "allow": ["administrator"], "position": 2}))["role"]["role_id"]
            everyone = (await a1.request("community_role_list", {"community_id": cid}))["roles"][-1]["role_id"]
            await a1.request("community_role_update", {"community_id": cid, "role_id": everyone, "allow": ["view_channel", "send", "read_history"]})
            await a1.request("community_role_set", {"community_id": cid, "user_id": ids["dave"], "add": [admin_role]})
            for who in ("erin", "frank"):
                await a1.request("community_role_set", {"community_id": cid, "user_id": ids[who], "add": [staff_role]})
            await a1.request("community_member_mute_set", {"community_id": cid, "user_id": ids["frank"], "duration_ms": 3600_000})
            clients.update(admin=admin, staff=staff, timed_out=timed, outsider=outsider)
            victims = iter([ids["v1"], ids["v2"], ids["v3"]])
            commands = [
                ("community_member_kick", lambda ok: {"community_id": cid, "user_id": next(victims) if ok else ids["w"]}),
                ("community_member_mute_set", lambda ok: {"community_id": cid, "user_id": ids["w"], "duration_ms": 1000}),
                ("community_update", lambda ok: {"community_id": cid, "description": "d"}),
                ("community_channel_create", lambda ok: {"community_id": cid, "name": "c", "category_id": cat}),
                ("community_category_create", lambda ok: {"community_id": cid, "name": "k"}),
                ("community_role_create", lambda ok: {"community_id": cid, "name": "r"}),
                ("community_role_set", lambda ok: {"community_id": cid, "user_id": ids["w"], "add": []}),
                ("community_invite_create", lambda ok: {"community_id": cid}),
                ("community_request_list", lambda ok: {"community_id": cid}),
                ("community_permissions", lambda ok: {"community_id": cid, "user_id": ids["w"], "channel_id": ch}),
            ]
            mismatches = []
            for cmd, data in commands:
                for actor in ORDER:
                    expected = EXPECTED[actor]
                    got = await _answer(clients[actor], cmd, data(expected == "ok"))  # a kick that succeeds takes a fresh victim
                    if got != expected:
                        mismatches.append(f"{cmd} by {actor}: {got}, expected {expected}")
            assert mismatches == []

"""B-group and F: the scenarios on groups.

Against a server that does not implement GROUP_CMDS they are listed and
skipped ("needs groups"). The load machinery is the one B-dm and C use; what
is group-specific is the two adapters below, create_group and
group_send_request, which follow the registry entries of chat_group_create
and chat_group_send in clients/protocol.yaml.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .. import wire
from .base import Context, Goal, Result, scenario
from .fanout import Fanout
from .send import fill_result, run_send_load, text_pool

GROUP_CMDS = ("chat_group_create", "chat_group_send")
GROUPS_NOTE = "needs groups: chat_group_create and chat_group_send are not implemented by this server"
_encode = msgspec.json.Encoder().encode


# -- the group adapters -------------------------------------------------------------------------


def create_group(loop: wire.Loop, owner: wire.Conn, member_ids: list[int]) -> int:
    """Create a group whose members are the owner and member_ids; returns its id."""
    env, _ = wire.call(loop, owner, "chat_group_create", {"name": "bench", "members": [m for m in member_ids if m != owner.user["id"]]})  # type: ignore[index]
    if not env.ok:
        raise wire.WireError(f"chat_group_create failed: {env.error}")
    return int(wire.decode_data(env)["group"]["group_id"])


def group_send_request(rid: str, group_id: int, cmid: str, text: str) -> bytes:
    return _encode({"cmd": "chat_group_send", "id": rid, "data": {"group_id": group_id, "client_msg_id": cmid, "content": {"type": "text", "text": text}}})


def _setup_group(target: Any, names: list[str]) -> tuple[int, list[dict[str, Any]]]:
    logins = target.logins(names)
    loop = wire.Loop()
    try:
        conns = wire.open_many(loop, target.url, logins)
        gid = create_group(loop, conns[0], [c.user["id"] for c in conns])  # type: ignore[index]
    finally:
        loop.close()
    return gid, logins


# -- the scenarios ------------------------------------------------------------------------------


@scenario(
    "B-group",
    "20 senders into one group whose 20 members are all connected and receiving",
    "acked msgs/s, deliveries/s, ack latency p50/p99, server CPU-seconds per 1,000 messages",
    goals=(Goal("acked_msgs_per_s", ">=", 5000, "≥ 5,000 msgs/s"), Goal("deliveries_per_s", ">=", 100000, "≥ 100,000 deliveries/s")),
    needs=GROUP_CMDS,
    needs_note=GROUPS_NOTE,
)
def scenario_b_group(ctx: Context, res: Result) -> None:
    members = ctx.args.bgroup_members or ctx.scale(20, 5)
    procs = ctx.args.procs if ctx.args.procs is not None else ctx.scale(2, 1)
    warmup, duration = ctx.scale(1.0, 0.3), ctx.args.duration or ctx.scale(10.0, 1.0)
    res.params = {"members": members, "senders": members, "warmup_s": warmup, "duration_s": duration, "generator_processes": procs}
    with ctx.server(members) as target:
        gid, logins = _setup_group(target, [f"bench{k}" for k in range(1, members + 1)])
        out = run_send_load(target, logins, kind="group", target_id=gid, procs=procs, warmup=warmup, duration=duration, prefix="g")
    fill_result(res, out, deliveries=True)


@scenario(
    "F",
    "one group of 1,000 connected members, a sender at a fixed rate",
    "deliveries/s, send→receive p50/p99, server CPU per 1,000 deliveries",
    goals=(Goal("deliveries_per_s", ">=", 100000, "≥ 100,000 deliveries/s"), Goal("p99_ms", "<=", 50, "p99 ≤ 50 ms")),
    needs=GROUP_CMDS,
    needs_note=GROUPS_NOTE,
)
def scenario_f(ctx: Context, res: Result) -> None:
    members = ctx.args.f_members or ctx.scale(1000, 50)
    # 105 msgs/s to 999 receivers offers 104,895 deliveries/s: just over the goal.
    rate = ctx.args.f_rate or ctx.scale(105.0, 20.0)
    duration = ctx.args.duration or ctx.scale(10.0, 1.0)
    procs = ctx.args.procs if ctx.args.procs is not None else ctx.scale(1, 0)
    res.params = {"members": members, "receivers": members - 1, "rate_per_s": rate, "offered_deliveries_per_s": rate * (members - 1), "duration_s": duration, "generator_processes": procs + 1}
    texts = text_pool()
    with ctx.server(members) as target:
        gid, logins = _setup_group(target, [f"bench{k}" for k in range(1, members + 1)])
        fan = Fanout(target, logins[0], logins[1:], procs=procs)
        try:

            def build(rid: str, cmid: str) -> bytes:
                return group_send_request(rid, gid, cmid, texts[len(cmid) % len(texts)])

            r = fan.round("f", rate, duration, build, drain=ctx.scale(5.0, 1.0))
        finally:
            fan.close()
    d = r["delivery_ms"]
    res.fig("deliveries_per_s", r["deliveries_per_s"], "deliveries/s")
    res.fig("p50_ms", d.get("p50"), "ms")
    res.fig("p99_ms", d.get("p99"), "ms")
    cpu = r["server"]["cpu_s"]
    res.fig("server_cpu_s_per_1000_deliveries", None if cpu is None or not r["deliveries"] else round(cpu / r["deliveries"] * 1000, 4), "CPU-s")
    res.fig("losses", r["losses"], "deliveries")
    res.fig("duplicates", r["duplicates"], "deliveries")
    res.detail = {k: v for k, v in r.items() if k not in ("latencies", "timeline", "acks_timeline")}
    res.samples = {"delivery": [x * 1000 for x in r["latencies"]]}
    res.timelines = {"deliveries": r["timeline"]}
    res.generator = r["generator"]
    res.server = r["server"]

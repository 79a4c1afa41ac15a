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
from .base import Context, Result, scenario
from .fanout import CROSS_NODE_FACTOR, Fanout
from .goals import Goal, at_least, count, durability, number, samples, several_nodes
from .send import b_procs, closed_loop_plan, fill_result, node_events_figures, run_send_load, text_pool


def fanout_figures(res: Result, r: dict[str, Any]) -> None:
    """The figures of a fanout round (F, K): deliveries/s, delivery p50/p99, CPU, losses."""
    d = r["delivery_ms"]
    res.fig("deliveries_per_s", r["deliveries_per_s"], "deliveries/s")
    res.fig("p50_ms", d.get("p50"), "ms")
    res.fig("p99_ms", d.get("p99"), "ms")
    cpu = r["server"]["cpu_s"]
    res.fig("server_cpu_s_per_1000_deliveries", None if cpu is None or not r["deliveries"] else round(cpu / r["deliveries"] * 1000, 4), "CPU-s")
    res.fig("losses", r["losses"], "deliveries")
    res.fig("duplicates", r["duplicates"], "deliveries")
    node_events_figures(res, r["server"])
    if "delivery_ms_other_nodes" in r:  # several nodes: the receivers on the sender's node, and on the others
        res.fig("same_node_p50_ms", r["delivery_ms_same_node"].get("p50"), "ms")
        res.fig("other_nodes_p50_ms", r["delivery_ms_other_nodes"].get("p50"), "ms")
        res.fig("same_node_p99_ms", r["delivery_ms_same_node"].get("p99"), "ms")
        res.fig("other_nodes_p99_ms", r["delivery_ms_other_nodes"].get("p99"), "ms")


KEPT_UP = 0.9  # a fanout that delivered less than this share of what was offered fell behind


def kept_up(res: Result) -> str | None:
    """Same-node and cross-node latencies compare the paths only while the server keeps up: behind,
    both are the same backlog."""
    offered, got = res.params.get("offered_deliveries_per_s"), res.figures.get("deliveries_per_s")
    if offered and got is not None and got < KEPT_UP * offered:
        return f"did not keep up: {number(round(got))} of {number(round(offered))} deliveries/s offered"
    return None


def same_node_target(res: Result) -> float | None:
    """F on several nodes: a delivery through another node within CROSS_NODE_FACTOR times the p50 of
    the same run's deliveries on the sender's node."""
    same = res.figures.get("same_node_p50_ms")
    return None if same is None else same * CROSS_NODE_FACTOR


GROUP_CMDS = ("chat_group_create", "chat_group_send")
GROUPS_NOTE = "needs groups: chat_group_create and chat_group_send are not implemented by this server"
BGROUP_MEMBERS = 20  # the group B-group's goals were set for
DELIVERIES_GOAL = 100_000  # deliveries/s, the goal of B-group and F; F offers a little more
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


def plan_b_group(ctx: Context) -> dict[str, Any]:
    members = ctx.args.bgroup_members or ctx.scale(BGROUP_MEMBERS, 5)
    return {"members": members, **closed_loop_plan(ctx, members, b_procs(ctx))}


def plan_f(ctx: Context) -> dict[str, Any]:
    members = ctx.args.f_members or ctx.scale(1000, 50)
    # 105 msgs/s to 999 receivers offers 104,895 deliveries/s: just over the goal.
    rate = ctx.args.f_rate or ctx.scale(105.0, 20.0)
    procs = ctx.args.procs if ctx.args.procs is not None else ctx.scale(1, 0)
    duration = ctx.args.duration or ctx.scale(10.0, 1.0)
    return {"members": members, "receivers": members - 1, "rate_per_s": rate, "offered_deliveries_per_s": rate * (members - 1), "duration_s": duration, "generator_processes": procs + 1}


B_GROUP_SCALE = at_least("members", BGROUP_MEMBERS, "{} members")
F_SCALE = at_least("offered_deliveries_per_s", DELIVERIES_GOAL, "offered {} deliveries/s")


@scenario(
    "B-group",
    lambda p: f"{count(p['senders'], 'sender')} into one group whose {count(p['members'], 'member')} are all connected and receiving, {number(p['duration_s'])} s measured",
    "acked msgs/s, deliveries/s, ack latency p50/p99, server CPU-seconds per 1,000 messages",
    plan=plan_b_group,
    goals=(
        Goal("acked_msgs_per_s", ">=", 5000, "≥ 5,000 msgs/s", needs=(B_GROUP_SCALE,)),
        Goal("acked_msgs_per_s", ">=", 7000, "≥ 7,000 msgs/s under durability full", needs=(durability("full"), B_GROUP_SCALE)),
        Goal("deliveries_per_s", ">=", DELIVERIES_GOAL, "≥ 100,000 deliveries/s", needs=(B_GROUP_SCALE,)),
    ),
    needs=GROUP_CMDS,
    needs_note=GROUPS_NOTE,
)
def scenario_b_group(ctx: Context, res: Result) -> None:
    p = res.params
    members = p["members"]
    with ctx.server(members) as target:
        gid, logins = _setup_group(target, [f"bench{k}" for k in range(1, members + 1)])
        out = run_send_load(target, logins, kind="group", target_id=gid, procs=p["generator_processes"], warmup=p["warmup_s"], duration=p["duration_s"], prefix="g")
    fill_result(res, out, deliveries=True)


@scenario(
    "F",
    lambda p: f"one group of {count(p['members'], 'connected member')}, a sender at {number(p['rate_per_s'])} msgs/s ({number(p['offered_deliveries_per_s'])} deliveries/s offered), {number(p['duration_s'])} s",
    "deliveries/s, send→receive p50/p99, server CPU per 1,000 deliveries",
    plan=plan_f,
    goals=(
        Goal("deliveries_per_s", ">=", DELIVERIES_GOAL, "≥ 100,000 deliveries/s", needs=(F_SCALE,)),
        Goal("p99_ms", "<=", 50, "p99 ≤ 50 ms", needs=(F_SCALE, samples("delivery_ms", what="deliveries"))),
        Goal("other_nodes_p50_ms", "<=", same_node_target, f"cross-node delivery p50 within {CROSS_NODE_FACTOR:g}× of the same run's same-node p50", needs=(several_nodes, kept_up)),
    ),
    needs=GROUP_CMDS,
    needs_note=GROUPS_NOTE,
)
def scenario_f(ctx: Context, res: Result) -> None:
    p = res.params
    members, rate, duration = p["members"], p["rate_per_s"], p["duration_s"]
    texts = text_pool()
    with ctx.server(members) as target:
        gid, logins = _setup_group(target, [f"bench{k}" for k in range(1, members + 1)])
        fan = Fanout(target, logins[0], logins[1:], procs=p["generator_processes"] - 1)
        try:

            def build(rid: str, cmid: str) -> bytes:
                return group_send_request(rid, gid, cmid, texts[len(cmid) % len(texts)])

            r = fan.round("f", rate, duration, build, drain=ctx.scale(5.0, 1.0))
        finally:
            fan.close()
    fanout_figures(res, r)
    res.detail = {k: v for k, v in r.items() if k not in ("latencies", "timeline", "acks_timeline")}
    res.samples = {"delivery": [x * 1000 for x in r["latencies"]]}
    res.timelines = {"deliveries": r["timeline"]}
    res.generator = r["generator"]
    res.server = r["server"]

"""Calls (rtc_*; docs/calls.md): 1:1 calls through chatd.services.calls, whose rules are the
transition table of chatd.policy.calls, and group calls (mesh) through chatd.services.mesh.
Signaling is relayed from memory; only a call's record, when it ends, is written."""

from __future__ import annotations

from typing import Any

from ..core import social_gate
from ..core.kinds import CHANNEL, GROUP
from ..errors import ChatError
from ..policy import roles
from ..store.users import public_user
from . import Call, handler

# Requests a connection runs as soon as they arrive, even while another of its requests runs
# (chatd.server: a connection that made a call has a lane for the others): a call's signals,
# relayed from memory without waiting for anything, never wait behind a search.
RELAYED = frozenset({"rtc_offer", "rtc_answer", "rtc_ice_candidate", "rtc_multi_signal"})


def _answer(call: Call, out: dict[str, Any], effects: list[Any]) -> dict[str, Any]:
    call.effects += effects
    return out


@handler("rtc_call_invite")
async def invite(call: Call) -> dict[str, Any]:
    d, me = call.data, call.user_id  # (media is audio or video: the registry's enum)
    await call.ctx.readers.read(social_gate.call_gate, me, d.peer)
    calls = call.ctx.services.calls
    placed, merged, effects = calls.invite(me, call.session, d.peer, d.media, public_user(call.session.user))
    return _answer(call, {"call": calls.view(placed), "merged": merged, "ice_servers": calls.ice_servers(me)}, effects)


async def _about_call(call: Call, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A request about one call: run here, or (several nodes) by the node holding the call."""
    calls, call_id = call.ctx.services.calls, call.data.call_id
    node = calls.held_by(call_id)
    if node is not None:
        return await calls.forward(node, what, call_id, call.user_id, call.session, body)
    out, effects = calls.request(what, call_id, call.user_id, call.session, body)
    return _answer(call, out, effects)


@handler("rtc_call_accept")
async def accept(call: Call) -> dict[str, Any]:
    return await _about_call(call, "accept")


@handler("rtc_call_reject")
async def reject(call: Call) -> dict[str, Any]:
    return await _about_call(call, "reject")


@handler("rtc_call_hangup")
async def hangup(call: Call) -> dict[str, Any]:
    return await _about_call(call, "hangup")


@handler("rtc_call_state")
async def state(call: Call) -> dict[str, Any]:
    calls, me = call.ctx.services.calls, call.user_id
    if call.data.call_id is None:
        return {"calls": await calls.views_of(me), "resumed": False, "ice_servers": calls.ice_servers(me)}
    return await _about_call(call, "state")


@handler("rtc_offer")
async def offer(call: Call) -> dict[str, Any]:
    return await _about_call(call, "offer", {"sdp": call.data.sdp})


@handler("rtc_answer")
async def answer(call: Call) -> dict[str, Any]:
    return await _about_call(call, "answer", {"sdp": call.data.sdp})


def _candidate(d: Any) -> dict[str, Any]:
    return {"candidate": d.candidate, "sdp_mid": d.sdp_mid, "sdp_mline_index": d.sdp_mline_index}


@handler("rtc_ice_candidate")
async def ice_candidate(call: Call) -> dict[str, Any]:
    return await _about_call(call, "ice", _candidate(call.data))


# -- group calls ------------------------------------------------------------------------------------


@handler("rtc_multi_join")
async def multi_join(call: Call) -> dict[str, Any]:
    d, ctx = call.data, call.ctx
    if (d.group_id is None) == (d.channel_id is None):
        raise ChatError("bad_request", "name the call's conversation by group_id or by channel_id", field="group_id")
    kind, target = (GROUP, d.group_id) if d.group_id is not None else (CHANNEL, d.channel_id)
    acc = await ctx.readers.read(kind.store.access, target, call.user_id, roles.SEND)
    others, effects = ctx.services.mesh.join(acc.conv_id, kind is CHANNEL, call.session)
    out = {"conv_id": acc.conv_id, "device": call.session.id, "participants": others, "ice_servers": ctx.services.calls.ice_servers(call.user_id)}
    return _answer(call, out, effects)


@handler("rtc_multi_signal")
async def multi_signal(call: Call) -> dict[str, Any]:
    d, limits = call.data, call.ctx.cfg.calls  # (type is offer, answer or candidate: the registry's enum)
    if d.type == "candidate":
        if d.candidate is None:
            raise ChatError("bad_request", "a candidate signal carries candidate", field="candidate")
        body = {"type": d.type, **_candidate(d)}
    else:
        if not d.sdp:
            raise ChatError("bad_request", f"an {d.type} carries sdp", field="sdp")
        if len(d.sdp.encode()) > limits.max_sdp_bytes:
            raise ChatError("too_large", f"sdp is over {limits.max_sdp_bytes} bytes", field="sdp")
        body = {"type": d.type, "sdp": d.sdp}
    push = call.ctx.services.mesh.signal(d.conv_id, call.session, d.to_device, body)
    return _answer(call, {"relayed": True}, [push])


@handler("rtc_multi_leave")
async def multi_leave(call: Call) -> dict[str, Any]:
    effects = call.ctx.services.mesh.leave(call.data.conv_id, call.session)
    return _answer(call, {"conv_id": call.data.conv_id, "left": bool(effects)}, effects)

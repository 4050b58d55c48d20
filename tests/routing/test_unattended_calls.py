"""Queued calls no AGI session holds (after a restart): AMI settles their offers."""

from __future__ import annotations

import asyncio

from routing_helpers import agent, make_config

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.routing.engine_state import RING_GRACE_S
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.telephony.callmodel import CallModel
from contactcenter.telephony.events import ChannelHungUp, DialEnded, ModelResynced
from contactcenter.voice.channel_watch import ChannelWatch
from contactcenter.voice.unattended_calls import UnattendedCalls, spawner

CONFIG = make_config([QueueConfig("q")], [agent("a"), agent("b")])


async def _floor(model: CallModel | None = None):
    routing = RoutingService(CONFIG, Clock(speed=1), None, rng_seed=1)
    await routing.start()
    await routing.agent_login("a")
    tasks: list[asyncio.Task[None]] = []
    watch = ChannelWatch()
    unattended = UnattendedCalls(routing, watch, lambda _pbx: model, spawner(tasks))
    iid = await routing.enqueue(Interaction("voice", "q", id="1700000000.7"))
    assert routing.state_of(iid).value == "offered"
    return routing, watch, unattended, tasks, iid


def _dial_end(iid: str, dest: str, status: str) -> DialEnded:
    return DialEnded("pbx", iid, "1700000000.9", dest, status, iid, 0.0)


async def test_an_answer_seen_on_ami_connects_the_call():
    routing, _watch, unattended, tasks, iid = await _floor()
    unattended.on_telephony_event(_dial_end(iid, "PJSIP/a-0000001f", "ANSWER"))
    await asyncio.gather(*tasks)
    assert routing.state_of(iid).value == "connected"
    assert routing.agent("a").state == "busy"
    await routing.stop()


async def test_a_dial_that_ends_unanswered_fails_the_offer():
    routing, _watch, unattended, tasks, iid = await _floor()
    unattended.on_telephony_event(_dial_end(iid, "PJSIP/a-0000001f", "NOANSWER"))
    await asyncio.gather(*tasks)
    assert routing.agent("a").state == "paused"
    assert routing.state_of(iid).value == "waiting"
    await routing.stop()


async def test_a_caller_who_leaves_while_it_rings_abandons_without_pausing_the_agent():
    # DialEnd CANCEL is the caller going (seen on a real Asterisk after a restart): not the
    # agent's no-answer; the Hangup that follows abandons the call.
    routing, _watch, unattended, tasks, iid = await _floor()
    unattended.on_telephony_event(_dial_end(iid, "PJSIP/a-0000001f", "CANCEL"))
    await asyncio.gather(*tasks)
    assert tasks == [] and routing.state_of(iid).value == "offered"
    unattended.on_telephony_event(ChannelHungUp("pbx", iid, iid, "Local/100@x-1;2", 16, "", 0.0))
    await asyncio.gather(*tasks)
    assert routing.state_of(iid) is None
    assert routing.agent("a").state == "available"
    await routing.stop()


async def test_other_dials_and_calls_a_session_holds_are_left_alone():
    routing, watch, unattended, tasks, iid = await _floor()
    unattended.on_telephony_event(_dial_end(iid, "PJSIP/b-00000020", "ANSWER"))  # not a's leg
    unattended.on_telephony_event(_dial_end(iid, "PJSIP/ab-00000021", "ANSWER"))
    watch.watch(iid)  # a session holds the call: it settles the offer itself
    unattended.on_telephony_event(_dial_end(iid, "PJSIP/a-0000001f", "ANSWER"))
    unattended.on_telephony_event(ChannelHungUp("pbx", iid, iid, "Local/100@x-1;2", 16, "", 0.0))
    await asyncio.gather(*tasks)
    assert tasks == []
    assert routing.state_of(iid).value == "offered"
    await routing.stop()


async def test_a_hangup_with_no_session_ends_the_interaction():
    routing, _watch, unattended, tasks, iid = await _floor()
    unattended.on_telephony_event(ChannelHungUp("pbx", iid, iid, "Local/100@x-1;2", 16, "", 0.0))
    await asyncio.gather(*tasks)
    assert routing.state_of(iid) is None
    assert routing.agent("a").state == "available"
    await routing.stop()


def _channel(model: CallModel, uid: str, name: str) -> None:
    model.apply(AmiMessage((
        ("Event", "Newchannel"), ("Channel", name), ("ChannelState", "6"),
        ("ChannelStateDesc", "Up"), ("CallerIDNum", "5551234"), ("Uniqueid", uid),
        ("Linkedid", uid), ("Context", "contactcenter-inbound"), ("Exten", "100"),
        ("Priority", "1"))))


async def test_a_resync_that_finds_the_call_still_ringing_renews_its_ring_time():
    # A ringing offer restored at start waits long (nothing could be seen while the server was
    # away); once AMI shows the caller still there and not bridged, the plain ring time counts.
    model = CallModel("pbx")
    routing, _watch, unattended, tasks, iid = await _floor(model)
    offer_id = routing.offer_of(iid)
    _channel(model, iid, "Local/100@contactcenter-inbound-00000001;2")
    unattended.on_telephony_event(ModelResynced("pbx", 1, 1, 0, 0.0))
    await asyncio.gather(*tasks)
    due = routing.engine._ring_due[offer_id]
    ring = CONFIG.queues["q"].ring_timeout_s + RING_GRACE_S
    assert routing.clock.time() + ring - 5 <= due <= routing.clock.time() + ring  # from now
    assert routing.state_of(iid).value == "offered"
    await routing.stop()


async def test_a_resync_that_no_longer_sees_the_call_leaves_it_to_the_reconcile():
    model = CallModel("pbx")
    routing, _watch, unattended, tasks, iid = await _floor(model)
    unattended.on_telephony_event(ModelResynced("pbx", 0, 0, 0, 0.0))
    await asyncio.gather(*tasks)
    assert tasks == []
    assert routing.state_of(iid).value == "offered"
    await routing.stop()

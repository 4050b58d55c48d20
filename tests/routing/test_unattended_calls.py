"""Queued calls no AGI session holds (after a restart): AMI settles their offers."""

from __future__ import annotations

import asyncio

from routing_helpers import agent, make_config

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.ivr.channel_watch import ChannelWatch
from contactcenter.routing.service import RoutingService
from contactcenter.telephony.events import ChannelHungUp, DialEnded
from contactcenter.unattended_calls import UnattendedCalls, spawner

CONFIG = make_config([QueueConfig("q")], [agent("a"), agent("b")])


async def _floor():
    routing = RoutingService(CONFIG, Clock(speed=1), None, rng_seed=1)
    await routing.start()
    await routing.agent_login("a")
    tasks: list[asyncio.Task[None]] = []
    watch = ChannelWatch()
    unattended = UnattendedCalls(routing, watch, lambda _pbx: None, spawner(tasks))
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

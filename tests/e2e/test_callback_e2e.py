"""Callbacks end to end: the IVR's "call me back" keeps the caller's place, the agent leg is
originated first, then the customer is dialled; retries, failures and the agent not answering.

Real server, real simulator, real sockets (tests/e2e/floor.py) on a fast clock. Every agent is
paused except the one a test means to use, so who takes what is decided by the engine's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from floor import REPO, floor_settings, running_floor

from contactcenter.app import ContactCenter
from contactcenter.domain import routing_events as rev
from contactcenter.domain.interaction import CallbackRequest, Interaction
from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.telephony.ami import actions

SPEED = 40.0
LIMIT = 120.0  # real seconds: only a safety net, never what a test measures


class Seen:
    """Every routing event, and a way to wait for one."""

    def __init__(self, routing) -> None:
        self.events: list[rev.RoutingEvent] = []
        self._changed = asyncio.Event()
        routing.subscribe(self._on)

    def _on(self, event: rev.RoutingEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, cls, iid: str | None = None, where: Callable | None = None, **fields) -> list:
        return [e for e in self.events if isinstance(e, cls)
                and (iid is None or getattr(e, "interaction_id", None) == iid)
                and (where is None or where(e))
                and all(getattr(e, k) == v for k, v in fields.items())]

    async def until(self, cls, iid: str | None = None, where: Callable | None = None, **fields):
        async def wait():
            while True:
                found = self.of(cls, iid, where, **fields)
                if found:
                    return found[0]
                self._changed.clear()
                await self._changed.wait()
        return await asyncio.wait_for(wait(), LIMIT)


def main_flow_always_open(tmp_path: Path) -> Path:
    """ivr_flows/main.yaml as shipped, but open around the clock (the floor's clock is wall
    time) and with a 60 s max wait in its queues so the test needs less clock time."""
    text = (REPO / "ivr_flows/main.yaml").read_text()
    for old, new in (('      mon-fri: "08:00-19:00"\n      sat: "09:00-13:00"\n      sun: closed\n',
                      '      mon-sun: "00:00-24:00"\n'),
                     ("holidays: [2026-12-25, 2027-01-01]", "holidays: []"),
                     ("max_wait: 300", "max_wait: 60")):
        assert old in text, old
        text = text.replace(old, new)
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "main.yaml").write_text(text)
    (flows / "demo.yaml").write_text((REPO / "ivr_flows/demo.yaml").read_text())
    return flows


async def pause_all_but(floor, *keep: str) -> None:
    for aid in floor.server.routing_config.agents:
        if aid not in keep:
            await floor.server.routing.agent_pause(aid, "test")


def kinds(rows: list[dict], pick: Callable[[dict], bool] = lambda r: True) -> list[str]:
    return [r["kind"] for r in rows if pick(r)]


async def test_ivr_callback_keeps_the_place_rings_agent_first_then_customer(tmp_path):
    settings = floor_settings(tmp_path, SPEED, flows_dir=str(main_flow_always_open(tmp_path)))
    async with running_floor(tmp_path, speed=SPEED, settings=settings) as floor:
        routing, sim = floor.server.routing, floor.sim
        seen = Seen(routing)
        await pause_all_but(floor)
        sim.add_phone(Phone("Local/5550101@contactcenter-outbound", answer_after=2.0,
                            talk_for=20.0))
        # A: sales (1), waits out the flow's max wait, presses 1 for a callback, records a
        # name ended by #, hears the confirmation and is hung up on.
        a = await sim.place_call(CallerScript(
            caller_id="5550101", exten="100", hangup_after=None,
            steps=[Press("1", after=0.5), Press("1", after=1.0), Press("#", after=3.0)]))
        a_id = (await seen.until(rev.Entered, queue="sales")).interaction_id
        # B arrives later in the same queue (the demo number's sales has no flow max wait).
        b = await sim.place_call(CallerScript(caller_id="5550202", exten="200",
                                              steps=[Press("1", after=0.5)], hangup_after=900))
        b_id = (await seen.until(rev.Entered, where=lambda e: e.interaction_id != a_id,
                                 queue="sales")).interaction_id

        exited = await seen.until(rev.Exited, a_id)
        assert exited.reason == "flow-max-wait"
        requested = await seen.until(rev.CallbackRequested, a_id)
        assert requested.number == "5550101"
        await asyncio.wait_for(a.ended(), LIMIT)  # A hung up; the callback stays
        assert routing.position(a_id).position == 1  # first arrival keeps the head
        assert routing.position(b_id).position == 2

        await routing.agent_unpause("1001")
        offer = await seen.until(rev.Offered, a_id)
        assert (offer.agent_id, offer.callback_number) == ("1001", "5550101")
        connected = await seen.until(rev.Connected, a_id)
        await seen.until(rev.Completed, a_id)
        await seen.until(rev.WrapupDone, a_id)
        assert not [e for e in seen.of(rev.Offered, b_id) if seen.events.index(e)
                    < seen.events.index(offer)]  # B, who came later, was not served first
        assert connected.data["callback_number"] == "5550101"
        assert connected.data["callback_name_file"].endswith("-callback_message.wav")

        # The agent leg was originated first (into [contactcenter-callback], showing the
        # customer's number); the customer was dialled from it once the agent had answered.
        (orig,) = [r for r in sim.requests("Originate") if r.get("Channel") == "PJSIP/1001"]
        assert orig["Context"] == "contactcenter-callback"
        assert "<5550101>" in orig["CallerID"]
        agent_uid = orig["ChannelId"]
        history = [dict(h) for h in sim.events.history]
        up = next(i for i, h in enumerate(history) if h.get("Event") == "Newstate"
                  and h.get("Uniqueid") == agent_uid and h.get("ChannelState") == "6")
        dial = next(i for i, h in enumerate(history) if h.get("Event") == "DialBegin"
                    and h.get("DialString") == "5550101@contactcenter-outbound/n")
        assert up < dial and history[dial]["Uniqueid"] == agent_uid

        await routing.flush()
        rows = await routing.log.events(interaction_id=a_id)
        story = kinds(rows, lambda r: r["kind"] in {"enter", "exit", "callback-request", "offer",
                                                    "connect", "complete"})
        assert story == ["enter", "exit", "callback-request", "offer", "connect", "complete"]
        assert "wrapup-done" in kinds(rows)
        agent_rows = await routing.log.events(agent_id="1001")
        assert any(r["kind"] == "agent-state" and r["state"] == "wrapup" for r in agent_rows)
        # The sales queue records always: on the agent's channel, as for an inbound call.
        (recording,) = await floor.server.recording.index.for_interaction(a_id)
        assert (recording.agent_id, recording.queue) == ("1001", "sales")
        result = next(r for r in floor.server.voice.ivr_activity.results if r.call_id == a_id)
        assert result.path[-3:] == ("callback_message", "callback_check", "callback_confirmed")
        step = next(s for s in result.steps if s.node == "callback_message")
        assert step.detail["callback"] == "requested"
        assert not b.is_ended  # B still waits (now behind nobody)


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
async def test_customer_not_answering_is_retried_then_the_callback_fails(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        routing, sim = floor.server.routing, floor.sim
        policy = routing.queue_config("sales").callback
        seen = Seen(routing)
        await pause_all_but(floor, "1001")
        sim.add_phone(Phone("Local/5550303@contactcenter-outbound", answer_after=None))
        iid = await routing.enqueue(Interaction("voice", "sales", id="cb-deaf",
                                                callback=CallbackRequest("5550303")))
        exited = await seen.until(rev.Exited, iid)
        assert exited.reason == "callback-failed"

        offers = seen.of(rev.Offered, iid)
        failures = seen.of(rev.RingNoAnswer, iid)
        retries = seen.of(rev.CallbackScheduled, iid)
        assert len(offers) == policy.max_attempts == 3
        assert [f.reason for f in failures] == ["callback-no-answer"] * 3
        assert [r.attempt for r in retries] == [1, 2]
        for retry, failure, next_offer in zip(retries, failures[:2], offers[1:], strict=True):
            assert retry.retry_at == failure.at + policy.retry_after_s
            assert next_offer.at >= retry.retry_at  # not before the retry time
            assert next_offer.callback_number == "5550303"
        # Not the agent's fault: released each time, never paused for it.
        assert not [p for p in seen.of(rev.AgentPaused) if p.agent_id == "1001"]
        dials = [h for h in sim.events.named("DialBegin")
                 if h.get("DialString") == "5550303@contactcenter-outbound/n"]
        assert len(dials) == 3  # the customer's phone rang at every attempt
        await routing.flush()
        assert kinds(await routing.log.events(interaction_id=iid),
                     lambda r: r["kind"] in {"offer", "callback-retry", "exit"}) == [
            "offer", "callback-retry", "offer", "callback-retry", "offer", "exit"]


async def test_agent_not_answering_the_callback_leg_is_paused_and_the_callback_keeps_its_place(
        tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        routing, sim = floor.server.routing, floor.sim
        seen = Seen(routing)
        await pause_all_but(floor, "1002")
        sim.add_phone(Phone("PJSIP/1002", answer_after=None))  # rings and rings
        sim.add_phone(Phone("Local/5550404@contactcenter-outbound", answer_after=1.0,
                            talk_for=10.0))
        first = await routing.enqueue(Interaction("voice", "sales", id="cb-first",
                                                  callback=CallbackRequest("5550404")))
        offer = await seen.until(rev.Offered, first)
        assert offer.agent_id == "1002"
        second = await routing.enqueue(Interaction("voice", "sales", id="cb-second",
                                                   callback=CallbackRequest("5550505")))
        rna = await seen.until(rev.RingNoAnswer, first)
        assert rna.reason == "no-answer"
        paused = await seen.until(rev.AgentPaused, None, agent_id="1002", reason="no answer")
        assert paused.at == rna.at
        assert routing.position(first).position == 1  # back at its place, ahead of the second
        assert routing.position(second).position == 2
        (failed,) = [h for h in sim.events.named("OriginateResponse")
                     if h.get("Channel") == "PJSIP/1002"]
        assert (failed["Response"], failed["Reason"]) == ("Failure", "3")

        await routing.agent_unpause("1001")
        again = await seen.until(rev.Offered, first, agent_id="1001")
        assert again.attempt == 0  # an agent's failure does not count against the callback
        assert not seen.of(rev.Offered, second)  # the second still waits behind it
        await seen.until(rev.Connected, first)
        await seen.until(rev.Completed, first)


async def test_queue_exit_to_a_callback_refuses_hidden_numbers_and_retries_a_busy_one(tmp_path):
    text = (REPO / "config/queues.yaml").read_text()
    assert "    max_wait_s: 600\n    exit: {type: callback}\n" in text  # sales
    queues = tmp_path / "queues.yaml"
    queues.write_text(text.replace("    max_wait_s: 600\n    exit: {type: callback}\n",
                                   "    max_wait_s: 30\n    exit: {type: callback}\n"))
    settings = floor_settings(tmp_path, SPEED)
    settings = replace(settings, routing=replace(settings.routing, queues_file=str(queues)))
    async with running_floor(tmp_path, speed=SPEED, settings=settings) as floor:
        routing, sim = floor.server.routing, floor.sim
        seen = Seen(routing)
        await pause_all_but(floor)
        sim.add_phone(Phone("Local/5550606@contactcenter-outbound", busy=True))
        calls = [await sim.place_call(CallerScript(caller_id=number, exten="200",
                                                   steps=[Press("1", after=0.5)]))
                 for number in ("5550606", "anonymous")]
        await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), LIMIT)
        results = {r.variables["caller_id"]: r for r in floor.server.voice.ivr_activity.results}
        assert results["5550606"].outcome == "queue:callback"
        assert results["anonymous"].outcome == "queue:exit"  # cannot be called back
        ids = {n: r.call_id for n, r in results.items()}
        assert [e.reason for e in seen.of(rev.Exited)] == ["max-wait", "max-wait"]
        assert not seen.of(rev.CallbackRequested, ids["anonymous"])
        assert seen.of(rev.CallbackRequested, ids["5550606"])[0].number == "5550606"

        await routing.agent_unpause("1001")
        failure = await seen.until(rev.RingNoAnswer, ids["5550606"])
        assert failure.reason == "callback-busy"
        retry = await seen.until(rev.CallbackScheduled, ids["5550606"])
        assert retry.attempt == 1
        assert seen.of(rev.AgentPaused, where=lambda p: p.agent_id == "1001") == [
            seen.of(rev.AgentPaused, agent_id="1001", reason="test")[0]]  # ours only


async def test_a_callback_leg_nobody_waits_for_is_hung_up(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        seen = Seen(floor.server.routing)
        link = floor.server.pool["sim"]
        await link.send_action(actions.Originate(
            "PJSIP/1003", context="contactcenter-callback", exten="s", caller_id="<5550000>",
            channel_id="stale-1", action_id="stale-orig"))

        async def hung_up() -> None:
            while not any(h.get("Event") == "Hangup" and h.get("Uniqueid") == "stale-1"
                          for h in map(dict, floor.sim.events.history)):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(hung_up(), LIMIT)
        commands = [h["Command"] for h in floor.sim.events.named("AGIExecStart")
                    if h.get("Uniqueid") == "stale-1"]
        assert commands[-1] == "HANGUP"  # the server ended it, nobody waited for it
        assert floor.server.agi.stats.unknown_script == 0
        assert not [e for e in seen.events if not isinstance(
            e, rev.AgentStateChanged | rev.AgentPaused | rev.AgentUnpaused)]


async def test_a_callback_offered_while_the_server_restarts_is_dialled_by_the_new_one(tmp_path):
    async with running_floor(tmp_path, speed=SPEED) as floor:
        old = floor.server
        await pause_all_but(floor)
        floor.sim.add_phone(Phone("Local/5550707@contactcenter-outbound", answer_after=1.0,
                                  talk_for=5.0))
        iid = await old.routing.enqueue(Interaction("voice", "sales", id="cb-restart",
                                                    callback=CallbackRequest("5550707")))
        await old.voice.callback_dialer.close()  # this server will not dial it...
        await old.routing.agent_unpause("1001")  # ...but routing offers it to 1001
        assert old.routing.state_of(iid).value == "offered"
        agi = replace(old.settings.fastagi, port=old.agi_port)  # where the simulator dials
        await old.stop()

        new = ContactCenter(replace(old.settings, fastagi=agi,
                                    web=replace(old.settings.web, port=0)), clock=floor.clock)
        await new.start()
        floor.server = new  # the fixture stops it
        seen = Seen(new.routing)
        # The restore gave the callback back to 1001 before the dialer listened; the dialer
        # found it when it started and rang the agent, then the customer.
        await seen.until(rev.Connected, iid)
        await seen.until(rev.Completed, iid)
        await new.routing.flush()
        rows = await new.routing.log.events(interaction_id=iid)
        assert kinds(rows, lambda r: r["kind"] in {"offer", "connect", "complete"}) == [
            "offer", "offer", "connect", "complete"]
        assert [r["agent_id"] for r in rows if r["kind"] == "connect"] == ["1001"]

"""End to end over real sockets: PBX simulator -> FastAGI server -> IVR handler -> queue port."""

from __future__ import annotations

import asyncio

import pytest

from contactcenter.domain.clock import Clock
from contactcenter.ivr.handler import make_ivr_handler
from contactcenter.ivr.lookups import LookupRouter
from contactcenter.ivr.ports import CollectingEvents, QueueOutcome, QueueRequest
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.settings import IvrSettings
from contactcenter.sim import CallerScript, Press, SimConfig, Simulator
from contactcenter.telephony.agi.server import FastAgiServer

SPEED = 20.0

E2E_FLOW = """
entry: menu
nodes:
  menu:
    type: menu
    prompt: custom/menu
    choices: {1: sales, 2: account}
    timeout: 3
    retries: 3
    on_timeout: operator
  account:
    type: input
    prompt: enter-account
    var: account
    min_length: 5
    max_length: 10
    next: support
    on_failure: operator
  support: {type: queue, queue: support, data: {account: account}}
  sales: {type: queue, queue: sales}
  operator: {type: queue, queue: operator}
"""

HOT_FLOW = """
entry: hold
nodes:
  hold: {{type: play, prompt: custom/long, next: q}}
  q: {{type: queue, queue: {queue}}}
"""


class RecordingQueue:
    """A QueuePort for the test: remembers requests, connects every call."""

    def __init__(self) -> None:
        self.requests: list[QueueRequest] = []

    async def run(self, call, request: QueueRequest) -> QueueOutcome:
        self.requests.append(request)
        return QueueOutcome("connected")


class Rig:
    def __init__(self, tmp_path, flow_name, text):
        self.clock = Clock(speed=SPEED)
        (tmp_path / f"{flow_name}.yaml").write_text(text)
        self.path = tmp_path / f"{flow_name}.yaml"
        self.settings = IvrSettings(flows_dir=tmp_path, reload_interval_s=0.02)
        self.registry = FlowRegistry(self.settings)
        self.queue = RecordingQueue()
        self.events = CollectingEvents()
        self.flow_name = flow_name

    async def __aenter__(self):
        assert self.registry.poll() == [self.flow_name]
        handler = make_ivr_handler(self.registry, queue=self.queue, lookups=LookupRouter({}),
                                   events=self.events, clock=self.clock, settings=self.settings)
        self.server = FastAgiServer(host="127.0.0.1", port=0, allowed_networks=["127.0.0.0/8"],
                                    clock=self.clock)
        self.server.route("ivr", handler)
        await self.server.start()
        self.sim = Simulator(SimConfig(
            agi_url=f"agi://127.0.0.1:{self.server.port}/ivr?flow={self.flow_name}",
            clock=self.clock, sound_lengths={"custom/long": 60.0}))
        await self.sim.start()
        return self

    async def __aexit__(self, *exc):
        await self.sim.stop()
        await self.server.stop(grace=1.0)

    async def call(self, **kw):
        kw.setdefault("caller_id", "5551234")
        kw.setdefault("hangup_after", 600.0)
        call = await self.sim.place_call(CallerScript(exten="100", **kw))
        return call

    async def finish(self, call, timeout=30.0):
        await asyncio.wait_for(call.ended(), timeout)  # only catches hangs


async def test_press_2_and_account_number_reaches_the_queue(tmp_path):
    async with Rig(tmp_path, "e2e", E2E_FLOW) as rig:
        call = await rig.call(steps=[Press("2", after=0.5), Press("12345#", after=1.0)])
        await rig.finish(call)
        assert call.agi_commands == [
            "ANSWER",
            'STREAM FILE custom/menu "0123456789*#"',
            "GET DATA enter-account 5000 10",
        ]
        (req,) = rig.queue.requests
        assert req.queue == "support" and req.data["account"] == "12345"
        assert req.caller_id == "5551234"
        (result,) = rig.events.results
        assert result.path == ("menu", "account", "support")
        assert result.outcome == "queue:connected"


async def test_silent_caller_hears_menu_retries_times_then_timeout_destination(tmp_path):
    async with Rig(tmp_path, "e2e", E2E_FLOW) as rig:
        call = await rig.call(steps=[])
        await rig.finish(call)
        menu = ['STREAM FILE custom/menu "0123456789*#"', "WAIT FOR DIGIT 3000"]
        assert call.agi_commands == ["ANSWER"] + menu * 3
        assert [r.queue for r in rig.queue.requests] == ["operator"]
        assert rig.events.results[0].path == ("menu", "operator")


async def test_hangup_mid_prompt_ends_the_session_within_one_command(tmp_path):
    async with Rig(tmp_path, "e2e", E2E_FLOW) as rig:
        call = await rig.call(steps=[], hangup_after=1.5)  # custom/menu plays for 5 s
        await rig.finish(call)
        for _ in range(300):
            if rig.events.results:
                break
            await asyncio.sleep(0.01)
        (result,) = rig.events.results
        assert result.outcome == "caller-hangup"
        assert call.agi_commands[:2] == ["ANSWER", 'STREAM FILE custom/menu "0123456789*#"']
        assert len(call.agi_commands) <= 3  # at most one command after the prompt was cut
        assert not rig.queue.requests


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
async def test_edit_while_20_calls_are_inside_the_flow(tmp_path):
    async with Rig(tmp_path, "hot", HOT_FLOW.format(queue="old")) as rig:
        watcher = asyncio.create_task(rig.registry.watch())
        try:
            first = [await rig.call(caller_id=f"55510{i:02d}") for i in range(20)]

            async def until(pred, limit=20.0):
                for _ in range(int(limit / 0.01)):
                    if pred():
                        return True
                    await asyncio.sleep(0.01)
                return False

            # every caller is listening to the 60 s prompt of the old version
            assert await until(lambda: all(len(c.agi_commands) >= 2 for c in first))
            old_version = rig.registry.get("hot").version
            rig.path.write_text(HOT_FLOW.format(queue="new-version"))
            assert await until(lambda: rig.registry.get("hot").version != old_version)
            second = [await rig.call(caller_id=f"55520{i:02d}") for i in range(3)]
            assert await until(lambda: all(len(c.agi_commands) >= 2 for c in second))

            new_version = rig.registry.get("hot").version
            rig.path.write_text("entry: hold\nnodes:\n  hold: {type: play, nxt: q}\n")
            assert await until(lambda: rig.registry.reload_errors_total == 1)
            assert rig.registry.get("hot").version == new_version
            third = [await rig.call(caller_id=f"55530{i:02d}") for i in range(3)]

            for c in first + second + third:
                await rig.finish(c, timeout=60.0)
            assert await until(lambda: len(rig.events.results) == 26)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        by_caller = {r.caller_id: r.queue for r in rig.queue.requests}
        assert len(by_caller) == 26
        assert {by_caller[f"55510{i:02d}"] for i in range(20)} == {"old"}
        assert {by_caller[f"55520{i:02d}"] for i in range(3)} == {"new-version"}
        assert {by_caller[f"55530{i:02d}"] for i in range(3)} == {"new-version"}
        versions = {r.version for r in rig.events.results}
        assert versions == {old_version, new_version}
        assert rig.registry.errors and all(":" in e for e in next(iter(rig.registry.errors.values())))

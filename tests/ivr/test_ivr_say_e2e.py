"""``say`` with ``text`` end to end over real sockets: PBX simulator -> FastAGI -> IVR handler,
the customer looked up in the real customers table, espeak-ng rendering the words.

The simulator records every AGI command a call received, so "what the caller heard" is the
STREAM FILE of the rendered file; the second call with the same words plays the cached one.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Self

import pytest
import soundfile

from contactcenter.domain.clock import Clock
from contactcenter.ivr.handler import make_ivr_handler
from contactcenter.ivr.lookups import LocalCustomerLookup, LookupRouter
from contactcenter.ivr.ports import CollectingEvents, QueueOutcome, QueueRequest
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.tts import EspeakSynthesizer, TtsSettings
from contactcenter.sim import CallerScript, Press, SimConfig, Simulator
from contactcenter.storage.customers import CustomerStore
from contactcenter.telephony.agi.server import FastAgiServer

# A loaded machine (CI's parallel workers) missed windows of 100-250 ms of real time at speed
# 20: the lookup's default 2 s and the caller's digits 0.5 s into a 5 s GET DATA; a miss sends
# the caller to the goodbye, not the say node. At speed 5, with 30 s for the lookup, they are
# seconds.
SPEED = 5.0

FLOW = """\
entry: account
fallback: {prompt: cc/apology, queue: operator}
nodes:
  account:
    type: input
    prompt: cc/enter-account
    var: account
    min_length: 3
    next: find
    on_failure: bye
  find: {type: lookup, source: customers, key: account, timeout: 30, found: balance, not_found: bye}
  balance:
    type: say
    text: "Hello {customer.name}. The balance of account {account} is 42 dollars."
    voice: en-us
    fallback_prompt: cc/balance-unavailable
    next: bye
  bye: {type: hangup, prompt: vm-goodbye}
"""


class OperatorQueue:
    """A QueuePort for the test: remembers requests, connects every call."""

    def __init__(self) -> None:
        self.requests: list[QueueRequest] = []

    async def run(self, call, request: QueueRequest) -> QueueOutcome:
        self.requests.append(request)
        return QueueOutcome("connected")


class Rig:
    def __init__(self, tmp_path: Path, database, flow: str, tts: TtsSettings) -> None:
        self.clock = Clock(speed=SPEED)
        flows = tmp_path / "flows"
        flows.mkdir()
        (flows / "bal.yaml").write_text(flow)
        self.settings = IvrSettings(flows_dir=flows, tts=tts)
        self.registry = FlowRegistry(self.settings)
        self.queue = OperatorQueue()
        self.events = CollectingEvents()
        self.tts = EspeakSynthesizer(tts)
        self.lookups = LookupRouter({"customers": LocalCustomerLookup(CustomerStore(database))})

    async def __aenter__(self) -> Self:
        assert self.registry.poll() == ["bal"]
        handler = make_ivr_handler(self.registry, queue=self.queue, lookups=self.lookups,
                                   events=self.events, clock=self.clock, settings=self.settings,
                                   tts=self.tts)
        self.server = FastAgiServer(host="127.0.0.1", port=0, allowed_networks=["127.0.0.0/8"],
                                    clock=self.clock)
        self.server.route("ivr", handler)
        await self.server.start()
        self.sim = Simulator(SimConfig(
            agi_url=f"agi://127.0.0.1:{self.server.port}/ivr?flow=bal", clock=self.clock))
        await self.sim.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.sim.stop()
        await self.server.stop(grace=1.0)

    async def call(self, account: str):
        call = await self.sim.place_call(CallerScript(
            exten="100", caller_id="5551234", hangup_after=600.0,
            steps=[Press(f"{account}#", after=0.5)]))
        await asyncio.wait_for(call.ended(), 30.0)  # only catches hangs
        for _ in range(500):
            if len(self.events.results) >= self.calls_done + 1:
                break
            await asyncio.sleep(0.01)
        self.calls_done = len(self.events.results)
        return call, self.events.results[-1]

    calls_done = 0


async def _customer(database) -> None:
    await CustomerStore(database).import_csv(
        "phone,name,account,tier,notes\n5550100,Ada Lovelace,12345,vip,\n", "c.csv")


def _say_step(result):
    (step,) = [s for s in result.steps if s.node == "balance"]
    return step.detail


async def test_a_say_node_speaks_looked_up_words_and_the_second_call_reuses_them(
        tmp_path, database):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is missing (apt-get install -y espeak-ng)")
    await _customer(database)
    cache = tmp_path / "tts"
    async with Rig(tmp_path, database, FLOW, TtsSettings(cache_dir=cache)) as rig:
        first, r1 = await rig.call("12345")
        said = "Hello Ada Lovelace. The balance of account 12345 is 42 dollars."
        d1 = _say_step(r1)
        assert d1["text"] == said and d1["cached"] is False
        (wav,) = cache.glob("*.wav")
        assert d1["audio"] == str(wav.with_suffix(""))
        assert first.agi_commands == [
            "ANSWER", "GET DATA cc/enter-account 5000 20", f'STREAM FILE {d1["audio"]} ""',
            'STREAM FILE vm-goodbye ""', "HANGUP"]
        info = soundfile.info(str(wav))
        assert (info.samplerate, info.channels) == (8000, 1) and info.duration > 2
        inode, body = wav.stat().st_ino, wav.read_bytes()

        second, r2 = await rig.call("12345")
        d2 = _say_step(r2)
        assert d2["text"] == said and d2["cached"] is True and d2["audio"] == d1["audio"]
        assert f'STREAM FILE {d1["audio"]} ""' in second.agi_commands
        # not rewritten (its time is touched: a hand-out is a use, for the cache's trim)
        assert rig.tts.renders == 1 and (wav.stat().st_ino, wav.read_bytes()) == (inode, body)
        assert list(cache.glob("*.wav")) == [wav]
        assert r1.outcome == r2.outcome == "hangup"


async def test_when_speech_fails_the_fallback_prompt_plays_and_the_flow_goes_on(
        tmp_path, database):
    await _customer(database)
    broken = TtsSettings(engine="no-such-espeak-ng", cache_dir=tmp_path / "tts")
    async with Rig(tmp_path, database, FLOW, broken) as rig:
        call, result = await rig.call("12345")
        assert call.agi_commands == [
            "ANSWER", "GET DATA cc/enter-account 5000 20",
            'STREAM FILE cc/balance-unavailable ""', 'STREAM FILE vm-goodbye ""', "HANGUP"]
        detail = _say_step(result)
        assert "not installed" in detail["speech_error"]
        assert detail["fallback"] == ["cc/balance-unavailable"] and result.outcome == "hangup"


async def test_without_a_fallback_prompt_the_flow_fallback_apologises(tmp_path, database):
    await _customer(database)
    broken = TtsSettings(engine="no-such-espeak-ng", cache_dir=tmp_path / "tts")
    flow = FLOW.replace("    fallback_prompt: cc/balance-unavailable\n", "")
    async with Rig(tmp_path, database, flow, broken) as rig:
        call, result = await rig.call("12345")
        assert call.agi_commands[-1] == 'STREAM FILE cc/apology ""'
        assert result.outcome == "fallback:queue:connected"
        assert [r.queue for r in rig.queue.requests] == ["operator"]
        assert "say text" in (result.error or "")

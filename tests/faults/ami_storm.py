"""An AMI drop storm: simulated callers through the real server while the AMI link keeps dying.

``storm()`` starts the floor of ``tests/e2e/floor.py`` (the PBX simulator, the real server on
a SQLite file, every agent logged in with a simulated phone and the demo's wrap-up robot),
places ``calls`` callers through the demo menu (sales, support with an account number, billing,
operator) and, while they run, cuts the AMI connection ``drops`` times at random moments
(seeded): each cut waits until the server's link is up again, then a random delay, then the
simulator closes every AMI session, half of them after writing half an event (FIN) and the
others with a reset. The server must notice, reconnect with its own backoff and resync
(CoreShowChannels + BridgeList) by itself; the AGI sessions, which carry the calls, are not
touched. Most callers are patient (they stay until served); an impatient few hang up by script.

When every call has ended, one more cut and the resync after it (the final resync); then the
checks, from the interaction log, the engine, the call model and the PBX's own channels:

* lost: a caller who is not served and did not hang up by script, an interaction with no
  end or more than one, an ``exit`` (only the caller's script may end a wait), an
  interaction still open, a caller the log never saw;
* ghost: an engine interaction, a call-model channel or call, an agent still busy or ringing,
  an AGI session, for a channel the PBX no longer has.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))  # floor.py

from floor import running_floor

from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.sim.calls import SimCall
from contactcenter.telephony.events import ChannelHungUp

ENDS = ("complete", "abandon", "exit")
MENU = "11223330"  # sales 1, support 2 (then an account number), billing 3, operator 0


@dataclass
class Caller:
    """One placed call and what the test knows about it."""

    call: SimCall
    iid: str  # the uniqueid of the channel running the AGI: the interaction's id
    patient: bool  # stays until served; the others may hang up (by script) while waiting


@dataclass
class StormResult:
    """What one storm did and found."""

    calls: int = 0
    drops: int = 0  # cuts that closed a live AMI session
    drops_mid_message: int = 0
    reconnects: int = 0
    resyncs: int = 0
    served: int = 0  # a connect and a complete in the log, and the PBX bridged the caller
    abandoned_by_script: int = 0
    impatient: int = 0
    lost: list[str] = field(default_factory=list)
    ghosts: list[str] = field(default_factory=list)
    ring_no_answer: int = 0  # offers the engine saw as not answered (all phones answer)
    outcomes: dict[str, int] = field(default_factory=dict)  # the PBX's outcome per call
    clock_seconds: float = 0.0
    seconds: float = 0.0
    resync_channels_ended: int = 0  # channels a resync found gone (their Hangup was missed)


async def _until(check, timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)


async def storm(tmp_path: Path, *, calls: int = 200, drops: int = 50, seed: int = 20,
                speed: float = 20.0, gap_s: tuple[float, float] = (1.0, 4.0),
                impatient_share: float = 0.1, drain_s: float = 300.0) -> StormResult:
    """Run the storm; the figures and every lost or ghost call found (see the module)."""
    rng = random.Random(seed)
    drop_rng = random.Random(seed + 1)
    result = StormResult(calls=calls)
    started = time.monotonic()
    async with running_floor(tmp_path, speed=speed, seed=seed) as floor:
        server, sim, clock = floor.server, floor.sim, floor.clock
        link = server.pool["sim"]
        t0 = clock.time()
        for agent in server.routing_config.agents.values():  # shorter talks: the floor moves
            sim.add_phone(Phone(agent.dial_string, answer_after=rng.uniform(1.0, 3.0),
                                talk_for=rng.uniform(5.0, 15.0)))
        ended_by_resync: list[object] = []
        link.subscribe(lambda e: ended_by_resync.append(e)
                       if isinstance(e, ChannelHungUp) and e.resync else None)

        async def cut_storm() -> None:
            while result.drops < drops:
                await _until(lambda: link.link.state == "connected", 120)
                await clock.sleep(drop_rng.uniform(0.0, 12.0))
                if not any(s.authenticated for s in list(sim.ami.sessions)):
                    continue  # it went down by itself meanwhile: not one of ours
                mid = drop_rng.random() < 0.5
                await sim.cut_ami(mid_message=mid)
                result.drops += 1
                result.drops_mid_message += mid

        cutter = asyncio.create_task(cut_storm())
        callers: list[Caller] = []
        try:
            for n in range(calls):
                key = rng.choice(MENU)
                steps = [Press(key, after=rng.uniform(0.2, 2.0))]
                if key == "2":
                    steps.append(Press(f"{rng.randrange(10**5, 10**6)}#", after=0.5))
                patient = rng.random() >= impatient_share
                hangup_after = 100_000.0 if patient else rng.uniform(10.0, 120.0)
                call = await sim.place_call(CallerScript(
                    caller_id=f"5557{n:04d}", exten="200", steps=steps,
                    hangup_after=hangup_after))
                callers.append(Caller(call, sim.channels[call.agi_channel].uniqueid, patient))
                await clock.sleep(rng.uniform(*gap_s))
            # Patient callers end only once served: one who never is shows as not ended.
            await asyncio.wait([asyncio.ensure_future(c.call.ended()) for c in callers],
                               timeout=drain_s)
            for c in callers:
                if not c.call.is_ended:
                    result.lost.append(f"{c.call.script.caller_id} ({c.iid}): still on the "
                                       f"line {drain_s:.0f} s after the last call was placed")
                    await sim.hangup_channel(c.call.caller_channel)
            await asyncio.wait_for(cutter, timeout=600)  # every drop happened
        finally:
            cutter.cancel()
        # The final resync: one more cut, and the resync that follows it.
        before = link.resyncs
        await sim.cut_ami(mid_message=False)
        await _until(lambda: link.resyncs > before and link.link.state == "connected", 120)
        # The last completions may still be on their way; what stays is a ghost (below).
        with contextlib.suppress(TimeoutError):
            await _until(lambda: not server.routing.engine.live and not server.agi.stats.active,
                         10)
        await server.routing.flush()
        rows = await server.routing.log.events(limit=1_000_000)
        result.reconnects = link.link.reconnects
        result.resyncs = link.resyncs
        result.resync_channels_ended = len(ended_by_resync)
        result.clock_seconds = clock.time() - t0
        _check(result, callers, rows, server, sim, link)
    result.seconds = time.monotonic() - started
    return result


def _check(result: StormResult, callers: list[Caller], rows: list[dict], server, sim,
           link) -> None:
    by_iid: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["interaction_id"]:
            by_iid[r["interaction_id"]].append(r)
    result.ring_no_answer = sum(r["kind"] == "ring-no-answer" for r in rows)
    result.outcomes = dict(Counter(c.call.outcome or "none" for c in callers))
    result.impatient = sum(not c.patient for c in callers)
    for c in callers:
        kinds = [r["kind"] for r in by_iid.get(c.iid, [])]
        ends = [k for k in kinds if k in ENDS]
        who = f"{c.call.script.caller_id} ({c.iid}, {'patient' if c.patient else 'impatient'})"
        if not kinds:
            result.lost.append(f"{who}: never reached a queue")
            continue
        if len(ends) != 1:
            result.lost.append(f"{who}: ends {ends} in {kinds}")
            continue
        if ends[0] == "complete" and "connect" in kinds:
            if c.call.connected_to is None:
                result.lost.append(f"{who}: logged connected, the PBX never bridged it")
            else:
                result.served += 1
        elif ends[0] == "abandon" and c.call.outcome == "caller-hangup" and not c.patient:
            result.abandoned_by_script += 1
        else:
            result.lost.append(f"{who}: {ends[0]} (PBX outcome {c.call.outcome}, "
                               f"bridged to {c.call.connected_to}) in {kinds}")
    # Ghosts, after the final resync: nothing may stand for a channel the PBX no longer has.
    pbx_channels = {ch.uniqueid for ch in sim.channels.values()}
    for iid, rec in server.routing.engine.live.items():
        if iid not in pbx_channels:
            result.ghosts.append(f"engine interaction {iid} ({rec.state.value})")
    for uid in link.model.channels:
        if uid not in pbx_channels:
            result.ghosts.append(f"call-model channel {uid}")
    for linkedid in link.model.calls:
        if not any(ch.linkedid == linkedid for ch in sim.channels.values()):
            result.ghosts.append(f"call-model call {linkedid}")
    for agent_id, agent in server.routing.snapshot().agents.items():
        if agent.state in ("reserved", "ringing", "busy"):
            result.ghosts.append(f"agent {agent_id} still {agent.state}")
    if server.agi.stats.active:
        result.ghosts.append(f"{server.agi.stats.active} AGI session(s) still open")
    waiting = sum(q.waiting for q in server.routing.snapshot().queues.values())
    if waiting:
        result.ghosts.append(f"{waiting} interaction(s) still waiting in a queue")

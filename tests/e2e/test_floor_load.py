"""Fifty simulated callers, ten agents with mixed skills, one phone that never answers."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import pytest
from floor import running_floor

from contactcenter.domain.skills import requirement
from contactcenter.sim import CallerScript, Phone, Press

KEYS = {"1": "sales", "2": "support", "3": "billing", "0": "operator"}


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
async def test_fifty_callers_all_connected_with_skills_abandoned_or_exited(tmp_path):
    async with running_floor(tmp_path, speed=40.0) as floor:
        routing = floor.server.routing
        config = floor.server.routing_config
        deaf = config.agents["1008"]  # this agent's phone rings and rings
        floor.sim.add_phone(Phone(deaf.dial_string, answer_after=None))
        rng = random.Random(3)
        calls = []
        for n in range(50):
            key = rng.choice("11223330")
            steps = [Press(key, after=rng.uniform(0.2, 2.0))]
            if key == "2":
                steps.append(Press(f"{rng.randrange(10**5, 10**6)}#", after=0.5))
            calls.append(await floor.sim.place_call(CallerScript(
                caller_id=f"555{n:04d}", exten="200", steps=steps,
                hangup_after=rng.uniform(30, 900))))
            await floor.clock.sleep(rng.uniform(1, 6))
        await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), timeout=120)
        await routing.flush()
        rows = await routing.log.events(limit=100_000)

    by_call: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["interaction_id"]:
            by_call[r["interaction_id"]].append(r)
    assert len(by_call) == 50  # every caller who chose a queue became one interaction
    outcomes = defaultdict(int)
    for iid, history in by_call.items():
        kinds = [r["kind"] for r in history]
        ends = [k for k in kinds if k in {"complete", "abandon", "exit"}]
        assert len(ends) == 1, (iid, kinds)  # exactly one way out, for every caller
        outcomes[ends[0]] += 1
        for r in history:
            if r["kind"] == "connect":  # connected to an agent who has the queue's skills
                agent = config.agents[r["agent_id"]]
                need = requirement(config.queues[r["queue"]].skills)
                assert r["queue"] in agent.queues
                # (relaxation may have lowered a minimum by up to 2 levels; 0 = not needed)
                assert all(agent.skills.get(s, 0) >= lvl - 2 for s, lvl in need), r
                assert r["agent_id"] != "1008"
    assert outcomes["complete"] >= 25, dict(outcomes)
    # The phone that never answers: ring-no-answer, its agent paused "no answer", caller back
    # at the head and served by someone else.
    rna = [r for r in rows if r["kind"] == "ring-no-answer"]
    assert rna and all(r["agent_id"] == "1008" for r in rna)
    assert any(r["kind"] == "agent-pause" and r["agent_id"] == "1008" for r in rows)

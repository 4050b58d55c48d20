"""A load driver: places realistic inbound calls on a Simulator at a given rate.

Scenarios (weights in ``scenario_mix``): ``menu`` presses one menu option then waits for an
agent, ``account`` picks an option and types an account number ending in ``#``, ``abandon``
hangs up early in the IVR, ``silent`` never presses anything, ``impatient`` presses an option
and hangs up while queued. Arrivals are Poisson; all times are the simulator's clock seconds.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from .calls import SimCall
from .model import CallerScript, Press, Silence, Step
from .simulator import Simulator

DEFAULT_MIX = {"menu": 0.5, "account": 0.25, "abandon": 0.1, "silent": 0.05, "impatient": 0.1}


@dataclass
class TrafficStats:
    """What a traffic run did."""

    placed: int = 0
    failed: int = 0
    by_scenario: dict[str, int] = field(default_factory=dict)
    calls: list[SimCall] = field(default_factory=list)


def make_script(scenario: str, rng: random.Random, exten: str = "100") -> CallerScript:
    """A caller script for ``scenario``."""
    number = f"555{rng.randrange(10**6, 10**7)}"
    name = (
        rng.choice(["Ana Silva", "John Smith", "Mei Chen", "Omar Haddad", "Eva Novak", ""]) or None
    )
    steps: list[Step] = []
    hangup = rng.uniform(90, 300)
    if scenario == "menu":
        steps = [Press(rng.choice("123"), after=rng.uniform(0.3, 3.0))]
    elif scenario == "account":
        account = "".join(rng.choice("0123456789") for _ in range(rng.choice((5, 6, 8))))
        steps = [
            Press(rng.choice("12"), after=rng.uniform(0.3, 2.0)),
            Press(account + "#", after=rng.uniform(0.5, 2.5)),
        ]
    elif scenario == "abandon":
        steps = [Silence()]
        hangup = rng.uniform(2, 15)
    elif scenario == "impatient":
        steps = [Press(rng.choice("123"), after=rng.uniform(0.3, 2.0))]
        hangup = rng.uniform(15, 60)
    return CallerScript(
        caller_id=number, caller_name=name, exten=exten, steps=steps, hangup_after=hangup
    )


async def run_traffic(
    sim: Simulator,
    calls_per_minute: float,
    scenario_mix: dict[str, float] | None,
    duration: float | None,
    stop_event: asyncio.Event | None = None,
    *,
    seed: int | None = None,
    exten: str = "100",
) -> TrafficStats:
    """Place calls until ``duration`` clock seconds pass or ``stop_event`` is set."""
    if calls_per_minute <= 0:
        raise ValueError("calls_per_minute must be positive")
    mix = scenario_mix or DEFAULT_MIX
    names, weights = list(mix), list(mix.values())
    rng = random.Random(seed)
    clock = sim.config.clock
    stop = stop_event or asyncio.Event()
    stats = TrafficStats()
    end = clock.monotonic() + duration if duration is not None else None
    rate = calls_per_minute / 60.0
    while not stop.is_set() and (end is None or clock.monotonic() < end):
        scenario = rng.choices(names, weights)[0]
        try:
            call = await sim.place_call(make_script(scenario, rng, exten))
        except (OSError, ValueError):
            stats.failed += 1
        else:
            stats.placed += 1
            stats.calls.append(call)
            stats.by_scenario[scenario] = stats.by_scenario.get(scenario, 0) + 1
        gap = rng.expovariate(rate)
        if end is not None:
            gap = min(gap, max(0.0, end - clock.monotonic()))
        try:
            await asyncio.wait_for(stop.wait(), timeout=clock.real(gap))
        except TimeoutError:
            pass
    return stats

"""Expected wait time against the waits that actually happen under simulated steady load.

The engine runs on virtual time: Poisson arrivals, exponential handle times, agents answer at
once. The EWT announced at arrival (the Position update) is compared with the wait each caller
then really had; over the run the means must agree within +-25%.
"""

from __future__ import annotations

import heapq
import random

import pytest
from routing_helpers import agent, make_config

from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.domain.routing_events import Connected, Offered, Position
from contactcenter.routing.engine import Engine


def simulate(agents: int, aht: float, load: float, arrivals: int, seed: int):
    """Return [(predicted_ewt, actual_wait)] for callers who had to wait."""
    rng = random.Random(seed)
    q = QueueConfig("q", wrapup_s=0, aht_default_s=aht * 0.5)  # a wrong default it must unlearn
    e = Engine(make_config([q], [agent(f"a{i}") for i in range(agents)]), rng_seed=seed)
    now = 0.0
    for i in range(agents):
        e.agent_login(f"a{i}", None, now)
    rate = load * agents / aht
    sim: list[tuple[float, int, str, str]] = []  # (time, seq, kind, iid)
    seq = 0
    t = 0.0
    for n in range(arrivals):
        t += rng.expovariate(rate)
        heapq.heappush(sim, (t, seq, "arrive", f"c{n}"))
        seq += 1
    predicted: dict[str, float] = {}
    arrived: dict[str, float] = {}
    pairs = []

    def handle(events):
        nonlocal seq
        for ev in events:
            if isinstance(ev, Offered):
                for c in e.offer_answered(ev.offer_id, now):
                    if isinstance(c, Connected) and c.interaction_id in predicted:
                        pairs.append((predicted.pop(c.interaction_id), c.wait_s))
                heapq.heappush(sim, (now + rng.expovariate(1 / aht), seq, "done", ev.interaction_id))
                seq += 1

    while sim:
        now, _, kind, iid = heapq.heappop(sim)
        if kind == "arrive":
            arrived[iid] = now
            events = e.enqueue(Interaction("voice", "q", id=iid), now)
            for ev in events:
                if isinstance(ev, Position) and ev.ewt_s is not None and n_done(e) > 200:
                    predicted[iid] = ev.ewt_s
            handle(events)
        else:
            handle(e.complete(iid, now))
    return pairs


def n_done(engine: Engine) -> int:
    return engine.stats["q"].answered


@pytest.mark.parametrize("agents,load", [(10, 0.9), (4, 0.85)])
def test_expected_wait_matches_simulated_waits(agents, load):
    pairs = simulate(agents=agents, aht=120.0, load=load, arrivals=8_000, seed=3)
    assert len(pairs) > 1_000
    predicted = sum(p for p, _ in pairs) / len(pairs)
    actual = sum(a for _, a in pairs) / len(pairs)
    assert abs(predicted - actual) <= 0.25 * actual, (predicted, actual)

"""Takeover benchmark: from SIGKILL of the leader to the first caller served by the new one.

Usage: python bench/takeover.py [--kills 20] [--postgres URL]
(PostgreSQL: CC_TEST_POSTGRES_URL, else postgresql+asyncpg://postgres@127.0.0.1:5432/test; the
bench makes a database of its own and drops it.)

Two ``contactcenter serve`` processes on one PostgreSQL, the PBX simulator in this process
(real time), two agents logged in. Each round kills the leader with SIGKILL and at that very
moment places a caller who asks for the operator: the call reaches the dead node (refused),
the standby (refusing until it leads), waits in the dialplan's retry loop, and is served once
the new leader answers its AGI. The baseline, measured in the same run between the kills, is
the same caller's journey with both nodes up; the figure is the extra time a takeover costs
(and the time from the kill to the new leader's health). The killed node is started again as
a standby before the next round. Results go to bench/results/takeover.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))  # the nodes' harness, shared with the tests

import aiohttp
from cluster_floor import (
    Node,
    agents_file,
    log_in_agents,
    node,
    prepare_database,
    until_role,
)
from sqlalchemy.engine import make_url

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Phone, Press, SimConfig, Simulator

RESULTS = ROOT / "bench" / "results" / "takeover.md"
AGENTS = ["2001", "2002"]


async def served_after(sim: Simulator, started: float, n: int) -> float:
    """Place a caller for the operator now; seconds from ``started`` until an agent answers."""
    call = await sim.place_call(CallerScript(
        caller_id=f"55580{n:03d}", exten="200", steps=[Press("0", after=0.3)],
        hangup_after=600))
    while not call.connected_to:
        await asyncio.sleep(0.01)
    took = time.monotonic() - started
    await sim.hangup_channel(call.caller_channel)
    await asyncio.wait_for(call.ended(), 30)
    return took


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(kills: int, postgres: str) -> str:
    import asyncpg

    name = f"cc_bench_takeover_{uuid.uuid4().hex[:8]}"
    admin = make_url(postgres).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    db_url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    takeovers: list[float] = []
    healthy: list[float] = []
    baselines: list[float] = []
    with TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        await prepare_database(db_url)
        sim = Simulator(SimConfig(ami_port=0, clock=Clock(), recordings_dir=tmp_path / "rec"))
        await sim.start()
        agents = agents_file(tmp_path)
        nodes = [node(tmp_path, "a", db_url, sim.ami_port, agents),
                 node(tmp_path, "b", db_url, sim.ami_port, agents)]
        sim.config.agi_urls = tuple(n.agi_url for n in nodes)
        for agent in AGENTS:
            sim.add_phone(Phone(f"PJSIP/{agent}", answer_after=0.5, talk_for=None))
        try:
            async with aiohttp.ClientSession() as http:
                leader, standby = nodes
                leader.start()
                await until_role(http, leader, "leader")
                standby.start()
                await until_role(http, standby, "standby")
                await log_in_agents(leader, AGENTS)
                for i in range(kills):
                    baselines.append(await served_after(sim, time.monotonic(), 2 * i))
                    await asyncio.sleep(11.0)  # the operator queue's wrap-up ends
                    started = time.monotonic()
                    leader.kill()
                    serving = asyncio.ensure_future(served_after(sim, started, 2 * i + 1))
                    await until_role(http, standby, "leader", timeout_s=60)
                    healthy.append(time.monotonic() - started)
                    takeovers.append(await asyncio.wait_for(serving, 120))
                    leader, standby = standby, leader
                    standby.start()
                    await until_role(http, standby, "standby")
                    await asyncio.sleep(11.0)
                    print(f"kill {i + 1}/{kills}: served after {takeovers[-1]:.2f} s "
                          f"(baseline {baselines[-1]:.2f} s), new leader healthy after "
                          f"{healthy[-1]:.2f} s", flush=True)
        finally:
            for n in nodes:
                n.stop()
            await sim.stop()
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await conn.close()
    return report(kills, takeovers, healthy, baselines, nodes)


def report(kills: int, takeovers: list[float], healthy: list[float], baselines: list[float],
           nodes: list[Node]) -> str:
    base = statistics.median(baselines)
    extra = [t - base for t in takeovers]
    rows = [
        ("caller served, from the kill", takeovers),
        ("extra over the baseline's median", extra),
        ("new leader's health says leader", healthy),
        ("baseline: the same caller, no kill", baselines),
    ]
    lines = [
        "# Takeover: SIGKILL of the leader to the first caller served by the new one",
        "",
        f"`python bench/takeover.py --kills {kills}` - two `contactcenter serve` processes on "
        "one PostgreSQL 15, the PBX simulator in the bench's process at real time, "
        f"{len(AGENTS)} agents; each round kills the leader and places a caller at that "
        "moment. Python " + platform.python_version() + ", " + platform.machine() + ".",
        "",
        "| seconds | p50 | p95 | max |",
        "|---|---:|---:|---:|",
    ]
    for label, values in rows:
        lines.append(f"| {label} | {pct(values, 50):.2f} | {pct(values, 95):.2f} | "
                     f"{max(values):.2f} |")
    lines += [
        "",
        (f"**Ratio**: a caller arriving at the kill is served in "
         f"x{pct(takeovers, 50) / base:.2f} the time of one arriving with both nodes up "
         f"(medians); goal: p95 from the kill to the first caller served <= 10 s: "
         f"**{'met' if pct(takeovers, 95) <= 10 else 'not met'}** ({pct(takeovers, 95):.2f} s)."),
        "",
        "All rounds (served after kill / baseline / health): " + ", ".join(
            f"{t:.2f}/{b:.2f}/{h:.2f}" for t, b, h in zip(takeovers, baselines, healthy)),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get(
        "CC_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    text = asyncio.run(run(args.kills, args.postgres))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

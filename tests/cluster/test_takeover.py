"""Kill the leader while callers wait and talk: the standby takes over and nobody is lost.

Two real server processes on one PostgreSQL, the PBX simulator in the test: 20 agents talking
and 50 callers waiting for the operator queue; the leader gets SIGKILL. The standby takes the
lock, rebuilds the lines from the interaction log, the waiting callers' dialplan retries reach
it (the dead node refuses, the next is tried) and every caller is served once, in line order.
"""

from __future__ import annotations

import time

import aiohttp
import pytest
from cluster_floor import (
    agents_file,
    assert_served_once_in_order,
    busy_floor,
    events,
    everyone_served_then_hung_up,
    health,
    node,
    nodes_stopped_at_exit,
    prepare_database,
    the_line,
    until_role,
)

from contactcenter.domain.clock import Clock
from contactcenter.sim import SimConfig, Simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TALKING, WAITING = 20, 50


async def test_the_standby_takes_over_a_killed_leader_and_serves_every_caller_once(
        tmp_path, cluster_db_url):
    await prepare_database(cluster_db_url)
    sim = Simulator(SimConfig(ami_port=0, clock=Clock(), recordings_dir=tmp_path / "rec"))
    await sim.start()
    agents = agents_file(tmp_path)
    async with nodes_stopped_at_exit() as nodes, aiohttp.ClientSession() as http:
        a = nodes.add(node(tmp_path, "a", cluster_db_url, sim.ami_port, agents))
        b = nodes.add(node(tmp_path, "b", cluster_db_url, sim.ami_port, agents))
        sim.config.agi_urls = (a.agi_url, b.agi_url)
        a.start()
        await until_role(http, a, "leader")
        b.start()
        await until_role(http, b, "standby")
        status, body = await health(http, b) or (0, {})
        assert status == 503 and body["cluster"]["leader"] == "a"

        calls = await busy_floor(sim, a, cluster_db_url, TALKING, WAITING, "5557")

        a.kill()
        killed_at = time.monotonic()
        await until_role(http, b, "leader", timeout_s=30)
        took_over_s = time.monotonic() - killed_at
        line = the_line(await events(cluster_db_url))
        assert len(line) == WAITING

        await everyone_served_then_hung_up(sim, calls)
        rows = await events(cluster_db_url)
        await sim.stop()

    assert_served_once_in_order(rows, TALKING + WAITING, line)
    print(f"takeover: {took_over_s:.2f} s from SIGKILL to the standby's leader health")


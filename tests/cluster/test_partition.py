"""Cut the leader off from PostgreSQL (it still reaches the PBX): it stops dialling before the
standby starts, and the standby serves everyone once, in line order.

Node a runs in a network namespace of the test's own (``netns.py``): its control link carries
AMI, FastAGI and the web, its database link carries PostgreSQL (through the test's relay).
Taking the database link down is the partition. Which node dialled each agent is read off the
PBX's own AMI events, as one would audit a real Asterisk: the last ``Newexten`` of ``AGI`` on a
channel tells which node its AGI is on, a ``DialBegin`` on that channel is that node dialling.
"""

from __future__ import annotations

import asyncio
import os
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
    until_true,
)
from netns import can_make_namespaces, namespace, relay_to_postgres
from sqlalchemy.engine import make_url

from contactcenter.domain.clock import Clock
from contactcenter.sim import SimConfig, Simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TALKING, WAITING = 20, 50
KEEPALIVE = (3, 1, 3)  # the node's cluster.keepalive_* (its defaults), kept by the relay too


async def until_leader_named(http: aiohttp.ClientSession, n, leader: str) -> None:
    """Wait until the standby's health (503) names ``leader``: it reads the lock again once
    its database link is back (a second at most between reads)."""
    seen: list[tuple[int, dict]] = []

    async def named() -> bool:
        got = await health(http, n)
        if got:
            seen.append(got)
        return bool(got) and got[0] == 503 and got[1]["cluster"]["leader"] == leader

    async def loop() -> None:
        while not await named():
            await asyncio.sleep(0.2)
    try:
        await asyncio.wait_for(loop(), 30)
    except TimeoutError:
        raise AssertionError(f"{n.name} never named {leader} as leader: {seen[-3:]}") from None


def dials_by_node(history) -> list[str]:
    """The AGI URL (node) behind every DialBegin, in the PBX's event order."""
    url_of: dict[str, str] = {}
    out = []
    for headers in list(history):
        fields = dict(headers)
        event = fields.get("Event")
        if event == "Newexten" and fields.get("Application") == "AGI":
            url_of[fields["Channel"]] = fields["AppData"]
        elif event == "DialBegin" and fields.get("Channel") in url_of:
            out.append(url_of[fields["Channel"]])
    return out


@pytest.mark.skipif(can_make_namespaces() is not None, reason=str(can_make_namespaces()))
async def test_a_leader_cut_off_from_postgres_stops_before_the_standby_leads(
        tmp_path, cluster_db_url):
    await prepare_database(cluster_db_url)
    pg = make_url(os.environ["CC_TEST_POSTGRES_URL"])
    sim = Simulator(SimConfig(ami_host="0.0.0.0", ami_port=0, clock=Clock(),
                              recordings_dir=tmp_path / "rec"))
    await sim.start()
    agents = agents_file(tmp_path)
    with namespace(subnet=7) as ns:
        async with relay_to_postgres(pg.host or "127.0.0.1", pg.port or 5432, ns.database_host,
                                     KEEPALIVE) as relay, \
                nodes_stopped_at_exit() as nodes, aiohttp.ClientSession() as http:
            a_db = make_url(cluster_db_url).set(host=ns.database_host, port=relay.port)
            a = nodes.add(node(tmp_path, "a", a_db.render_as_string(hide_password=False),
                               sim.ami_port, agents, env={
                                   "CC_WEB__HOST": ns.control_node,
                                   "CC_FASTAGI__HOST": ns.control_node,
                                   "CC_FASTAGI__ALLOWED_NETWORKS__2": f"{ns.control_host}/32",
                                   "CC_ASTERISK__0__HOST": ns.control_host}))
            a.netns, a.host = ns.name, ns.control_node
            b = nodes.add(node(tmp_path, "b", cluster_db_url, sim.ami_port, agents))
            sim.config.agi_urls = (a.agi_url, b.agi_url)
            a.start()
            await until_role(http, a, "leader")
            b.start()
            await until_role(http, b, "standby")

            calls = await busy_floor(sim, a, cluster_db_url, TALKING, WAITING, "5558")

            ns.set_database_link(up=False)  # the partition: a still reaches the PBX
            cut_at = time.monotonic()
            line = the_line(await events(cluster_db_url))  # all a could write
            await until_role(http, b, "leader", timeout_s=60)
            b_leads_s = time.monotonic() - cut_at
            await until_role(http, a, "standby", timeout_s=60)  # a stood down meanwhile

            await until_true(lambda: all(c.connected_to for c in calls), 240)
            ns.set_database_link(up=True)  # healed: a stays a standby, b holds the lock
            await until_role(http, a, "standby")
            await until_leader_named(http, a, "b")
            await everyone_served_then_hung_up(sim, calls)
            rows = await events(cluster_db_url)
            dials = dials_by_node(sim.pbx.bus.history)
    await sim.stop()

    # Never two at once: every dial by a comes before the first by b.
    names = {f"agi://{n.host}:{n.agi_port}": n.name for n in (a, b)}
    by = [names[url.split("/ivr")[0]] for url in dials]
    assert "a" in by and "b" in by
    assert "a" not in by[by.index("b"):], by
    assert relay.closed_by_keepalive >= 1  # the relay saw the node vanish, as PostgreSQL would
    assert len(line) == WAITING
    assert_served_once_in_order(rows, TALKING + WAITING, line)
    print(f"partition: b led {b_leads_s:.2f} s after the cut")


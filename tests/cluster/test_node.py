"""Two cluster nodes in one process on a real PostgreSQL, with the PBX simulator: the standby's
answers, a leader that loses its lock's session stepping down, and a standby taking over."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import aiohttp
import pytest
from cluster_floor import AMI_SECRET, AMI_USER, REPO, free_port

from contactcenter.app import ContactCenter, schema_ready
from contactcenter.cluster.node import ClusterNode
from contactcenter.config.loader import load_settings
from contactcenter.config.schema import PbxSettings, Settings
from contactcenter.domain.clock import Clock
from contactcenter.sim import SimConfig, Simulator
from contactcenter.storage.database import Database

pytestmark = pytest.mark.timeout(120)


def settings_for(tmp_path, db_url: str, ami_port: int, name: str) -> Settings:
    base = load_settings(REPO / "config/contactcenter.yaml", environ={})
    return replace(
        base, base_dir=str(REPO),
        asterisk=[PbxSettings(name="sim", host="127.0.0.1", port=ami_port, username=AMI_USER,
                               secret=AMI_SECRET)],
        web=replace(base.web, port=free_port()),
        fastagi=replace(base.fastagi, port=free_port()),
        database=replace(base.database, url=db_url),
        recordings_dir=str(tmp_path / f"recordings-{name}"),
        cluster=replace(base.cluster, enabled=True, node=name))


def cluster_node(settings: Settings, clock: Clock) -> ClusterNode:
    return ClusterNode(settings.cluster, settings.database.url, settings.web.host,
                       settings.web.port,
                       lambda fence, role: ContactCenter(settings, clock=clock, fence=fence,
                                                         role=role),
                       prepare=lambda: schema_ready(settings.database.url))


async def health(http: aiohttp.ClientSession, settings: Settings) -> tuple[int, dict]:
    async with http.get(f"http://127.0.0.1:{settings.web.port}/api/health") as r:
        return r.status, await r.json()


async def until(check, timeout_s: float = 30.0) -> None:
    async def loop() -> None:
        while not await check():
            await asyncio.sleep(0.1)
    await asyncio.wait_for(loop(), timeout_s)


async def agi_refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


@contextlib.asynccontextmanager
async def running(node: ClusterNode):
    stop = asyncio.Event()
    task = asyncio.create_task(node.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def test_standby_leader_step_down_and_takeover(tmp_path, cluster_db_url):
    clock = Clock()
    sim = Simulator(SimConfig(ami_port=0, clock=clock, recordings_dir=tmp_path / "rec"))
    await sim.start()
    a_settings = settings_for(tmp_path, cluster_db_url, sim.ami_port, "a")
    b_settings = settings_for(tmp_path, cluster_db_url, sim.ami_port, "b")
    a, b = cluster_node(a_settings, clock), cluster_node(b_settings, clock)
    try:
        async with aiohttp.ClientSession() as http, running(a) as stop_a:
            async def a_leads(term: int) -> bool:
                try:
                    status, body = await health(http, a_settings)
                except aiohttp.ClientError:
                    return False
                return status == 200 and body.get("cluster") == {
                    "role": "leader", "node": "a", "term": term}

            await until(lambda: a_leads(1), 60)
            assert not await agi_refused(a_settings.fastagi.port)

            async with running(b):
                async def b_stands_by() -> bool:
                    try:
                        status, body = await health(http, b_settings)
                    except aiohttp.ClientError:
                        return False
                    return status == 503 and body == {"status": "standby", "cluster": {
                        "role": "standby", "node": "b", "leader": "a"}}

                await until(b_stands_by)
                assert await agi_refused(b_settings.fastagi.port)  # Asterisk moves on at once
                async with http.get(f"http://127.0.0.1:{b_settings.web.port}/api/queues") as r:
                    assert r.status == 503 and "the leader is a" in (await r.json())["error"]

                # An operator (or a dead network) ends the lock's session: a cannot prove its
                # lock any more, steps down, and whoever gets the lock next leads a new term.
                db = Database(cluster_db_url)
                async with db.engine.connect() as conn:
                    await conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'contactcenter leader lock a'")
                await db.close()

                async def someone_leads_term_2() -> bool:
                    for s in (a_settings, b_settings):
                        with contextlib.suppress(aiohttp.ClientError):
                            status, body = await health(http, s)
                            if status == 200 and body.get("cluster", {}).get("term") == 2:
                                return True
                    return False

                await until(someone_leads_term_2, 60)
                stop_a.set()  # whichever leads, a goes; b must lead (term 2 or 3)

                async def b_leads() -> bool:
                    with contextlib.suppress(aiohttp.ClientError):
                        status, body = await health(http, b_settings)
                        return status == 200 and body["cluster"]["node"] == "b"
                    return False

                await until(b_leads, 60)
                assert await agi_refused(a_settings.fastagi.port)
    finally:
        await sim.stop()

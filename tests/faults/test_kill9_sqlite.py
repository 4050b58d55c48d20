"""kill -9 of the one server on SQLite while callers wait and talk; restarted, it loses nobody.

The real server runs as a process of its own (``kill9_serve.py``: ``serve``'s settings and
start, on the test's sped-up clock) on a SQLite file, the PBX simulator in the test. Agents
talk, more callers wait for the operator queue; the server gets SIGKILL at a quiet moment (every
caller's ``enter`` committed), then starts again on the same file and the same ports. The
waiting callers' dialplan retries its AGI until the new process answers; the talking calls go on
in the PBX and reach the new server through the AMI resync and their own AGI's return. Every
caller must then be served and completed exactly once, the line offered in its old order,
nobody abandoned, nobody dialled twice, and nothing left open when the floor is quiet.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "cluster"))  # cluster_floor: process nodes and checks

from cluster_floor import (
    AGENTS,
    REPO,
    Node,
    admin_session,
    agents_file,
    assert_served_once_in_order,
    events,
    health,
    log_in_agents,
    node,
    nodes_stopped_at_exit,
    prepare_database,
    the_line,
    until_true,
)
from kill9_serve import READY, clock_spec

from contactcenter.domain.clock import Clock
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.sim import CallerScript, Phone, Press, SimConfig, Simulator
from contactcenter.sim.calls import SimCall
from contactcenter.storage.database import Database

# Clock seconds per real second, shared by the simulator and both processes. The restart (a
# process already imported, starting its server) must fit in the 60 clock seconds the dialplan
# retries a queued caller's AGI: 12 real seconds at 5, 6 at 10.
HANG = 240.0  # real seconds: only catches hangs


@dataclass
class ServerProcess(Node):
    """The single server (no cluster) as its own OS process, on the test's clock; the next
    process waits, imported, for its turn (``kill9_serve.py --on-stdin``)."""

    standby: subprocess.Popen[bytes] | None = None
    spawned: int = 0

    def ready_next(self) -> None:
        """Start the next process up to the server's start."""
        log = self.log_path.open("ab")
        self.standby = subprocess.Popen(
            [sys.executable, str(HERE / "kill9_serve.py"), "--on-stdin",
             str(REPO / "config/contactcenter.yaml")],
            env=self.env, stdin=subprocess.PIPE, stdout=log, stderr=log, cwd=REPO)
        log.close()
        self.spawned += 1

    async def next_is_ready(self) -> None:
        """Wait until the next process has imported everything (it says so in its log)."""
        async def ready() -> None:
            while self.log().count(READY) < self.spawned:
                assert self.standby is not None and self.standby.poll() is None, self.log()
                await asyncio.sleep(0.05)
        await asyncio.wait_for(ready(), HANG)

    def start(self) -> None:
        """The next process starts its server."""
        assert self.standby is not None and self.standby.stdin is not None
        self.process, self.standby = self.standby, None
        self.process.stdin.write(b"go\n")  # type: ignore[union-attr]
        self.process.stdin.close()  # type: ignore[union-attr]

    def stop(self) -> None:
        super().stop()
        if self.standby is not None:
            self.standby.kill()
            self.standby.wait(10)


async def until_up(http: aiohttp.ClientSession, server: ServerProcess) -> None:
    """Wait until the process answers its health check with its AMI link up."""
    async def up() -> None:
        while True:
            if server.process is not None and server.process.poll() is not None:
                raise AssertionError(f"server exited:\n{server.log()[-3000:]}")
            got = await health(http, server)
            if got and got[0] == 200 and got[1]["status"] == "ok":
                return
            await asyncio.sleep(0.05)
    await asyncio.wait_for(up(), HANG)


async def open_interactions(url: str) -> list[Any]:
    db = Database(url)
    try:
        return await InteractionLog(db).open_interactions()
    finally:
        await db.close()


async def kill_and_restart(tmp_path: Path, talking: int, waiting: int, talk_s: float,
                           speed: float) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    await prepare_database(url)
    clock = Clock(speed=speed)
    sim = Simulator(SimConfig(ami_port=0, clock=clock, recordings_dir=tmp_path / "rec"))
    await sim.start()
    agents = AGENTS[:talking]
    for i, agent in enumerate(agents):  # staggered ends: talks finish one after the other
        sim.add_phone(Phone(f"PJSIP/{agent}", answer_after=0.5, talk_for=talk_s + 2 * i))
    base = node(tmp_path, "solo", url, sim.ami_port, agents_file(tmp_path),
                env={"CC_CLUSTER__ENABLED": "false", "CC_TEST_CLOCK": clock_spec(clock)})
    server = ServerProcess(base.name, base.agi_port, base.web_port, base.log_path, base.env)
    sim.config.agi_urls = (server.agi_url,)
    try:
        async with nodes_stopped_at_exit() as nodes, aiohttp.ClientSession() as http:
            nodes.add(server)
            server.ready_next()
            await server.next_is_ready()
            server.start()
            await until_up(http, server)
            server.ready_next()  # the process that will take over after the kill
            await server.next_is_ready()
            await log_in_agents(server, agents)

            calls: list[SimCall] = []
            for i in range(talking + waiting):
                calls.append(await sim.place_call(CallerScript(
                    caller_id=f"5559{i:03d}", exten="200", steps=[Press("0", after=0.3)],
                    hangup_after=100_000)))
                await clock.sleep(0.2)
            await until_true(lambda: sum(1 for c in calls if c.connected_to) == talking, HANG)
            rows: list[dict[str, Any]] = []
            while sum(1 for r in rows if r["kind"] == "enter") < len(calls):
                await asyncio.sleep(0.05)
                rows = await events(url)
            line = the_line(rows)
            assert len(line) == waiting
            talkers = [c for c in calls if c.connected_to]
            assert len(talkers) == talking and all(c.caller_channel in sim.channels
                                                   for c in talkers)  # talking at the kill

            server.kill()
            killed_at = time.monotonic()
            assert server.process is not None and server.process.returncode == -signal.SIGKILL
            server.start()  # the same file, the same ports
            await until_up(http, server)
            restart_s = time.monotonic() - killed_at
            for agent in agents:  # the next calls are short
                sim.add_phone(Phone(f"PJSIP/{agent}", answer_after=0.5, talk_for=2.0))

            await until_true(lambda: all(c.connected_to for c in calls), HANG)

            def completed(rows: list[dict[str, Any]]) -> int:
                return sum(1 for r in rows if r["kind"] == "complete")
            while completed(rows := await events(url)) < len(calls) - talking:
                await asyncio.sleep(0.1)  # the waiting callers' talks are over (agents hung up)
            for c in calls:
                await sim.hangup_channel(c.caller_channel)
            await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), HANG)
            while completed(rows := await events(url)) < len(calls):
                await asyncio.sleep(0.1)
            await until_true(lambda: not sim.channels, HANG)  # agents' legs too
            async with http.get(f"{server.url}/api/health") as r:
                fastagi = (await r.json())["fastagi"]
            async with await admin_session(server) as admin:
                async with admin.get(f"{server.url}/api/agents") as r:
                    live_agents = await r.json()
                async with admin.get(f"{server.url}/api/queues") as r:
                    live_queues = await r.json()
            assert server.process.poll() is None, server.log()[-3000:]
    finally:
        await sim.stop()

    assert_served_once_in_order(rows, talking + waiting, line)
    for c in calls:  # nobody was dialled to an agent twice (the talkers: not again after it)
        dials = [cmd for cmd in c.agi_commands if cmd.startswith("EXEC Dial")]
        assert len(dials) == 1, (c.caller_channel, dials)
    # No ghost: nothing open in the database, nobody waiting or working in the server's view,
    # no AGI session left, no channel left in the PBX (above).
    assert await open_interactions(url) == []
    assert [q["name"] for q in live_queues if q["waiting"]] == []
    assert [(a["id"], w) for a in live_agents for w in a["work"]
            if w["state"] != "wrapup"] == []  # the last calls' wrap-ups may still run
    assert fastagi["active"] == 0, fastagi
    assert "Traceback" not in server.log(), server.log()[-3000:]
    print(f"kill -9: {talking} talking, {waiting} waiting; back {restart_s:.2f} s after SIGKILL;"
          f" {fastagi['total']} AGI sessions on the new process")


async def test_kill9_with_a_few_callers_waiting_and_talking_loses_nobody(tmp_path):
    await kill_and_restart(tmp_path, talking=3, waiting=5, talk_s=20.0, speed=10.0)


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_kill9_with_50_waiting_and_20_talking_loses_nobody(tmp_path):
    await kill_and_restart(tmp_path, talking=20, waiting=50, talk_s=60.0, speed=5.0)

"""Two ``contactcenter serve`` processes on one PostgreSQL and the PBX simulator in the test.

Each node is the real command (``python -m contactcenter serve``) on the repository's settings,
with its own FastAGI and web ports through ``CC_*`` variables; the simulator's dialplan tries
the nodes' FastAGI in order, as the shipped dialplan does with ``CONTACTCENTER_AGI_NODES``.
The test logs in twenty agents of its own, all in the operator queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from free_ports import free_port

from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.sim import CallerScript, Phone, Press, Simulator
from contactcenter.sim.calls import SimCall
from contactcenter.storage.database import Database
from contactcenter.storage.schema import ensure_schema
from contactcenter.web.auth import hash_password
from contactcenter.web.users import UserStore

REPO = Path(__file__).resolve().parents[2]
AMI_USER, AMI_SECRET = "cc", "ccsecret"
PASSWORD = "cluster-test-password"
AGENTS = [f"20{n:02d}" for n in range(1, 21)]


def agents_file(tmp_path: Path) -> Path:
    """Twenty agents who all answer the operator queue."""
    lines = ["agents:"]
    for agent in AGENTS:
        lines.append(f'  - {{id: "{agent}", name: Agent {agent}, dial_string: PJSIP/{agent}, '
                     "skills: {english: 3}, capacity: {voice: 1}, queues: [operator]}")
    path = tmp_path / "agents.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Node:
    """One server process."""

    name: str
    agi_port: int
    web_port: int
    log_path: Path
    env: dict[str, str]
    netns: str | None = None
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.web_port}"

    @property
    def agi_url(self) -> str:
        return f"agi://{self.host}:{self.agi_port}/ivr?flow=demo"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "contactcenter", "serve",
               "--config", str(REPO / "config/contactcenter.yaml")]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log, cwd=REPO)
        log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def node(tmp_path: Path, name: str, db_url: str, ami_port: int, agents: Path,
         env: dict[str, str] | None = None, **cluster: Any) -> Node:
    """A node's settings: the repository's file, its ports and the cluster's by variables
    (``env`` adds or overrides some)."""
    agi, web_port = free_port(), free_port()
    variables = {
        **os.environ,
        "CC_WEB__PORT": str(web_port), "CC_FASTAGI__PORT": str(agi),
        "CC_DATABASE__URL": db_url,
        "CC_ASTERISK__0__NAME": "sim", "CC_ASTERISK__0__PORT": str(ami_port),
        "CC_ASTERISK__0__USERNAME": AMI_USER, "CC_ASTERISK__0__SECRET": AMI_SECRET,
        "CC_ROUTING__AGENTS_FILE": str(agents),
        "CC_RECORDINGS_DIR": str(tmp_path / f"recordings-{name}"),
        "CC_CLUSTER__ENABLED": "true", "CC_CLUSTER__NODE": name,
        "PYTHONUNBUFFERED": "1", **(env or {})}
    for key, value in cluster.items():
        variables[f"CC_CLUSTER__{key.upper()}"] = str(value)
    return Node(name, agi, web_port, tmp_path / f"node-{name}.log", variables)


async def health(http: aiohttp.ClientSession, n: Node) -> tuple[int, dict[str, Any]] | None:
    """The node's ``/api/health`` (status, body), or None while it does not answer."""
    try:
        async with http.get(f"{n.url}/api/health",
                            timeout=aiohttp.ClientTimeout(total=2)) as r:
            return r.status, await r.json()
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return None


async def until_role(http: aiohttp.ClientSession, n: Node, role: str,
                     timeout_s: float = 60.0) -> None:
    """Wait until the node's health names ``role``; fails with the node's log."""
    async def loop() -> None:
        while True:
            if n.process is not None and n.process.poll() is not None:
                raise AssertionError(f"node {n.name} exited:\n{n.log()[-3000:]}")
            got = await health(http, n)
            if got and got[1].get("cluster", {}).get("role") == role:
                return
            await asyncio.sleep(0.1)
    try:
        await asyncio.wait_for(loop(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"node {n.name} never became {role}:\n{n.log()[-3000:]}") from None


async def prepare_database(url: str) -> None:
    """Schema at head and an admin user (both nodes then start on an existing database)."""
    db = Database(url)
    try:
        await ensure_schema(db)
        await UserStore(db).create_user("admin", hash_password(PASSWORD), "admin", None, 0.0)
    finally:
        await db.close()


async def events(url: str) -> list[dict[str, Any]]:
    """The interaction log's rows, in order, as the nodes wrote them."""
    db = Database(url)
    try:
        return await InteractionLog(db).events(limit=100_000)
    finally:
        await db.close()


async def admin_session(n: Node) -> aiohttp.ClientSession:
    """Logged in as the admin on node ``n`` (cookie, Origin, CSRF)."""
    http = aiohttp.ClientSession(headers={"Origin": n.url},
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{n.url}/api/login",
                         json={"username": "admin", "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
    return http


async def log_in_agents(n: Node, agents: Sequence[str]) -> None:
    async with await admin_session(n) as http:
        for agent in agents:
            async with http.post(f"{n.url}/api/agents/{agent}/login", json={}) as r:
                assert r.status == 200, await r.text()


@dataclass
class Nodes:
    """The nodes of one test; every one stopped at the end."""

    nodes: list[Node] = field(default_factory=list)

    def add(self, n: Node) -> Node:
        self.nodes.append(n)
        return n

    def stop_all(self) -> None:
        for n in self.nodes:
            n.stop()


@contextlib.asynccontextmanager
async def nodes_stopped_at_exit() -> AsyncIterator[Nodes]:
    nodes = Nodes()
    try:
        yield nodes
    finally:
        await asyncio.get_running_loop().run_in_executor(None, nodes.stop_all)


async def busy_floor(sim: Simulator, leader: Node, db_url: str, talking: int, waiting: int,
                     prefix: str) -> list[SimCall]:
    """Every agent talking (long enough to span a takeover, then the agent hangs up), and
    ``waiting`` callers in line for the operator; returns once all are in the log."""
    for agent in AGENTS:
        sim.add_phone(Phone(f"PJSIP/{agent}", answer_after=0.5, talk_for=25.0))
    await log_in_agents(leader, AGENTS)
    calls = []
    for i in range(talking + waiting):
        calls.append(await sim.place_call(CallerScript(
            caller_id=f"{prefix}{i:03d}", exten="200", steps=[Press("0", after=0.3)],
            hangup_after=3000)))
        await asyncio.sleep(0.05)
    await until_true(lambda: sum(1 for c in calls if c.connected_to) == talking, 60)
    while sum(1 for r in await events(db_url) if r["kind"] == "enter") < len(calls):
        await asyncio.sleep(0.2)
    return calls


def the_line(rows: list[dict[str, Any]]) -> list[str]:
    """Who waits, in line order: entered and never connected (in the log as it is now)."""
    connected = {r["interaction_id"] for r in rows if r["kind"] == "connect"}
    return [r["interaction_id"] for r in rows
            if r["kind"] == "enter" and r["interaction_id"] not in connected]


async def everyone_served_then_hung_up(sim: Simulator, calls: list[SimCall]) -> None:
    """Wait until every caller had an agent, then hang them all up."""
    await until_true(lambda: all(c.connected_to for c in calls), 240)
    for c in calls:
        await sim.hangup_channel(c.caller_channel)
    await asyncio.wait_for(asyncio.gather(*(c.ended() for c in calls)), 60)
    await asyncio.sleep(1.0)  # the last completes reach the log


def assert_served_once_in_order(rows: list[dict[str, Any]], callers: int,
                                line: list[str]) -> None:
    """Each caller served and completed once, nobody abandoned; ``line`` offered in order."""
    by_call: dict[str, list[str]] = {}
    for r in rows:
        if r["interaction_id"]:
            by_call.setdefault(r["interaction_id"], []).append(r["kind"])
    assert len(by_call) == callers
    for iid, kinds in by_call.items():
        assert "abandon" not in kinds, (iid, kinds)
        assert kinds.count("complete") == 1, (iid, kinds)
    offered: list[str] = []
    for r in rows:
        if r["kind"] == "offer" and r["interaction_id"] in line \
                and r["interaction_id"] not in offered:
            offered.append(r["interaction_id"])
    assert offered == line  # the line kept its order


async def until_true(check: Callable[[], bool], timeout_s: float) -> None:
    """Poll ``check`` until it holds; fails after ``timeout_s`` (a hang, not a timing)."""
    async def loop() -> None:
        while not check():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(loop(), timeout_s)

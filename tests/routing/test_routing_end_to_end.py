"""End to end under load: 50 callers, the 10 demo agents (mixed skills) driving the REST API over
real sockets, a real SQLite log, ring-no-answer, callbacks with a failed attempt, and a server
restart in the middle that must not cost any waiting caller their place.

The callers play the voice side's role (the lead's AGI glue) through the service's public API.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.routing_events import (
    Abandoned,
    CallbackScheduled,
    Completed,
    Connected,
    Exited,
    Offered,
    RingNoAnswer,
)
from contactcenter.domain.skills import requirement
from contactcenter.routing.config_loader import load_routing_config
from contactcenter.routing.errors import RoutingError
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.routes import add_routes
from contactcenter.routing.service import RoutingService
from contactcenter.web.roles import Actor

ROOT = Path(__file__).resolve().parents[2]


@web.middleware
async def _as_supervisor(request, handler):
    # Auth is tested in tests/web; here a supervisor drives the agents' desks.
    request["actor"] = Actor(1, "supervisor", "supervisor", None)
    return await handler(request)
SPEED = 100.0
QUEUE_OF = ["sales", "support", "billing", "operator", "sales", "support"]


class Site:
    """The server side (service + REST) that the test restarts."""

    def __init__(self, config, clock, log) -> None:
        self.config, self.clock, self.log = config, clock, log
        self.svc: RoutingService | None = None
        self.http: TestClient | None = None
        self.generation = 0
        self.up = asyncio.Event()
        self.events: list = []

    async def start(self) -> None:
        self.svc = RoutingService(self.config, self.clock, self.log, rng_seed=5)
        self.svc.subscribe(self.events.append)
        self.svc.subscribe(self._agent_desk)
        await self.svc.start()
        app = web.Application(middlewares=[_as_supervisor])
        add_routes(app, self.svc)
        self.http = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await self.http.start_server()
        self.generation += 1
        self.up.set()

    async def stop(self) -> None:
        self.up.clear()
        await self.http.close()
        await self.svc.stop()

    def _agent_desk(self, ev) -> None:
        # Agents act through the REST API: wrap-up after each call, unpause after "no answer".
        if isinstance(ev, Completed):
            asyncio.get_running_loop().create_task(self._post(ev.agent_id, "wrapup",
                                                              {"disposition": "done"}, 3))
        elif isinstance(ev, RingNoAnswer) and ev.reason == "no-answer":
            asyncio.get_running_loop().create_task(self._post(ev.agent_id, "unpause", {}, 20))

    async def _post(self, agent_id: str, action: str, body: dict, after_s: float) -> None:
        await self.clock.sleep(after_s)
        for _ in range(50):  # the server may restart under the agent's click: click again
            await self.up.wait()
            try:
                await self.http.post(f"/api/agents/{agent_id}/{action}", json=body)
                return
            except (aiohttp.ClientError, RuntimeError):
                await asyncio.sleep(0.01)


async def caller(site: Site, n: int, outcomes: dict, rng: random.Random) -> None:
    """One caller: waits, maybe abandons or asks for a callback, talks when connected."""
    queue = QUEUE_OF[n % len(QUEUE_OF)]
    iid = f"call{n:02d}"
    skills = {"spanish": 1} if n % 7 == 0 and queue in ("sales", "support") else {}
    patience = 10_000.0 if n % 9 else 40.0  # every 9th caller hangs up after 40 s
    wants_callback = n % 10 == 4
    start = site.clock.time()
    generation = 0
    while True:
        await site.up.wait()
        svc = site.svc
        if generation != site.generation:  # first time, or the server restarted: (re)attach
            generation = site.generation
            await svc.enqueue(Interaction("voice", queue, skills=skills, id=iid,
                                          data={"ani": f"55501{n:02d}"}))
            stream = svc.updates(iid)
        left = patience - (site.clock.time() - start)
        nxt = asyncio.ensure_future(anext(stream))
        gone = asyncio.ensure_future(_wait_down(site))
        done, _ = await asyncio.wait({nxt, gone}, timeout=site.clock.real(max(left, 0.01)),
                                     return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if nxt not in done:
            nxt.cancel()
            if gone in done or not site.up.is_set():
                continue  # server went down: re-attach when it is back
            await svc.abandon(iid)
            outcomes[iid] = ("abandoned", None)
            return
        ev = nxt.result()
        if wants_callback and ev.kind == "position":
            await svc.request_callback(iid, f"55501{n:02d}")
            outcomes[iid] = ("callback", None)  # the dialer finishes it
            return
        if isinstance(ev, Offered):
            await site.clock.sleep(2 if ev.agent_id != "1008" else 0)  # the agent's phone rings
            try:
                if ev.agent_id == "1008":  # this agent never answers
                    await svc.offer_failed(ev.offer_id, "no-answer")
                    continue
                await svc.offer_answered(ev.offer_id)
            except RoutingError:
                continue  # the offer died with a restart; the caller is back in line
        elif isinstance(ev, Connected):
            outcomes[iid] = ("connected", (ev.agent_id, ev.queue))
            await site.clock.sleep(rng.uniform(20, 60))
            await site.up.wait()
            await site.svc.complete(iid)
            return
        elif isinstance(ev, (Exited, Abandoned)):
            outcomes[iid] = (ev.kind, None)
            return


def line_order(svc: RoutingService) -> dict[str, list[str]]:
    """Waiting interaction ids per queue, in line order."""
    out: dict[str, list[str]] = {}
    for name in svc.engine.queues:
        out[name] = [entry[3] for entry in svc.engine.line.entries(name)]
    return out


async def _wait_down(site: Site) -> None:
    while site.up.is_set():
        await asyncio.sleep(0.005)


async def callback_dialer(site: Site, outcomes: dict, stop: asyncio.Event) -> None:
    """Turns callback offers into two legs: agent first, then the customer (first try fails)."""
    tried: set[str] = set()
    seen: set[str] = set()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        if not site.up.is_set():
            continue
        for ev in list(site.events):
            if not isinstance(ev, Offered) or ev.callback_number is None or ev.offer_id in seen:
                continue
            seen.add(ev.offer_id)
            svc = site.svc
            try:
                if ev.interaction_id not in tried:
                    tried.add(ev.interaction_id)
                    await svc.offer_failed(ev.offer_id, "callback-no-answer")
                else:
                    await svc.offer_answered(ev.offer_id)
                    outcomes[ev.interaction_id] = ("connected", (ev.agent_id, ev.queue))
                    await svc.complete(ev.interaction_id)
            except RoutingError:
                seen.discard(ev.offer_id)


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
async def test_fifty_callers_ten_agents_with_restart(tmp_path):
    from contactcenter.storage.database import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'e2e.sqlite3'}")
    await db.create_all()
    config = load_routing_config(ROOT / "config/queues.yaml", ROOT / "config/agents.yaml")
    clock = Clock(speed=SPEED)
    site = Site(config, clock, InteractionLog(db))
    await site.start()
    for aid in config.agents:
        assert (await site.http.post(f"/api/agents/{aid}/login")).status == 200
    rng = random.Random(11)
    outcomes: dict = {}
    stop = asyncio.Event()
    dialer = asyncio.create_task(callback_dialer(site, outcomes, stop))
    callers = []
    for n in range(50):
        callers.append(asyncio.create_task(caller(site, n, outcomes, rng)))
        await clock.sleep(rng.uniform(0.5, 3))
        if n == 30:  # restart mid-load
            before = line_order(site.svc)
            await site.stop()
            await site.start()
            after = line_order(site.svc)
            assert sum(map(len, before.values())) >= 3, "restart should find callers waiting"
            for queue, ids in before.items():
                assert all(i in site.svc.engine.live for i in ids)  # nobody lost
                still = [i for i in after.get(queue, []) if i in ids]
                assert still == [i for i in ids if i in still]  # same relative order
    _, pending = await asyncio.wait(callers, timeout=120)
    stuck = sorted({f"call{n:02d}" for n in range(50)} - set(outcomes))
    assert not pending, f"callers never told how their call ended: {stuck}"
    for _ in range(600):  # callbacks finish on their own schedule
        if all(v[0] != "callback" for v in outcomes.values()):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await dialer
    await site.svc.flush()

    assert len(outcomes) == 50
    kinds = [v[0] for v in outcomes.values()]
    assert set(kinds) <= {"connected", "abandoned", "exit"}, outcomes
    assert kinds.count("connected") >= 35
    for iid, (kind, info) in outcomes.items():
        if kind == "connected":
            agent_id, queue = info
            agent = config.agents[agent_id]
            need = requirement(config.queues[queue].skills)
            assert queue in agent.queues and all(s in agent.skills for s, _ in need), iid
    assert any(isinstance(e, RingNoAnswer) and e.reason == "no-answer" for e in site.events)
    assert any(isinstance(e, CallbackScheduled) for e in site.events)
    history = await site.log.events(limit=100_000)
    assert {"enter", "offer", "connect", "complete", "abandon", "ring-no-answer",
            "agent-login", "agent-pause", "agent-unpause", "wrapup-done"} <= {
        r["kind"] for r in history}
    await site.stop()
    await db.close()

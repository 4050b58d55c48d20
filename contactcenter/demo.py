"""``contactcenter demo``: the server wired to the built-in PBX simulator, with calls flowing.

The simulator plays Asterisk on both wires (AMI on ``simulator.ami_port``, FastAGI client to our
server), every configured agent gets a simulated phone that answers after a few seconds and
talks for a while, the agents log in, and "robot" agents finish wrap-up with a disposition so
the floor keeps moving. A status line every few seconds shows the floor; /api/health and
/metrics are live on the web port.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import sys
from dataclasses import replace
from typing import Any

from contactcenter.app import ContactCenter
from contactcenter.common.gc_tuning import settle_after_start
from contactcenter.common.setting_errors import listening
from contactcenter.config.loader import database_url, resolve
from contactcenter.config.schema import PbxSettings, Settings
from contactcenter.domain import routing_events as rev
from contactcenter.domain.clock import Clock
from contactcenter.routing.errors import RoutingError
from contactcenter.sim import Phone, SimConfig, Simulator
from contactcenter.sim.traffic import run_traffic
from contactcenter.web.auth import hash_password
from contactcenter.web.demo_passwords import DEMO_PASSWORD
from contactcenter.web.users import UserStore

log = logging.getLogger(__name__)

DEMO_USER, DEMO_SECRET = "contactcenter", "demo-secret"
DEMO_NUMBER = "200"  # ivr_flows/demo.yaml: the main menu without business hours
DEMO_USERS = (("admin", "admin", None), ("supervisor", "supervisor", None),
              ("agent1001", "agent", "1001"))


def demo_settings(settings: Settings, ami_port: int) -> Settings:
    """The server's settings pointed at the simulator instead of a real PBX."""
    pbx = PbxSettings(name="sim", host="127.0.0.1", port=ami_port, username=DEMO_USER,
                      secret=DEMO_SECRET)
    numbers = dict(settings.ivr.numbers)
    numbers.setdefault(DEMO_NUMBER, "demo")
    return replace(settings, asterisk=[pbx], ivr=replace(settings.ivr, numbers=numbers))


def demo_database(settings: Settings) -> Settings:
    """The settings with the demo's own database (``simulator.database_url``) in force.

    Always that one, even when the config names ``database.url``: the demo's users have a
    published password and its calls are made up, neither belongs in a real server's database.
    """
    return replace(settings, database=replace(settings.database,
                                              url=settings.simulator.database_url))


async def start_demo_floor(settings: Settings, clock: Clock, *, rng: random.Random,
                           wrapup_after: tuple[float, float] = (3.0, 10.0),
                           ) -> tuple[Simulator, ContactCenter]:
    """Start the simulator and the server, give every agent a phone and log them in."""
    sim = Simulator(SimConfig(
        ami_host="127.0.0.1", ami_port=settings.simulator.ami_port,
        ami_users={DEMO_USER: DEMO_SECRET},
        agi_url=f"agi://127.0.0.1:{settings.fastagi.port}/ivr", clock=clock,
        recordings_dir=resolve(settings, settings.recordings_dir),
    ))
    with listening("simulator.ami_port", "127.0.0.1", settings.simulator.ami_port):
        await sim.start()
    server = ContactCenter(demo_settings(settings, sim.ami_port), clock=clock,
                           upgrade_schema=True)
    try:
        await server.start()
    except BaseException:
        await sim.stop()
        raise
    if settings.fastagi.port == 0:  # tests ask for an ephemeral port: tell the simulator
        sim.config.agi_url = f"agi://127.0.0.1:{server.agi_port}/ivr"  # shared by the PBX core
    for agent in server.routing_config.agents.values():
        if agent.dial_string:
            sim.add_phone(Phone(agent.dial_string, answer_after=rng.uniform(1.0, 4.0),
                                talk_for=rng.uniform(20.0, 90.0)))
        await server.routing.agent_login(agent.id)

    def robot_wrapup(event: Any) -> None:
        if isinstance(event, rev.Completed):
            delay = rng.uniform(*wrapup_after)
            asyncio.get_running_loop().create_task(_wrapup(server, clock, event.agent_id, delay))

    server.routing.subscribe(robot_wrapup)
    return sim, server


async def create_demo_users(server: ContactCenter) -> list[str]:
    """Users to look around the panel with (created once; an existing name is left alone)."""
    store = UserStore(server.db)
    made = []
    for username, role, agent_id in DEMO_USERS:
        if await store.get_by_username(username) is None:
            await store.create_user(username, hash_password(DEMO_PASSWORD), role, agent_id,
                                    server.clock.time())
        made.append(username)
    return made


async def _wrapup(server: ContactCenter, clock: Clock, agent_id: str, delay: float) -> None:
    await clock.sleep(delay)
    try:
        await server.routing.wrapup_done(agent_id, "demo-resolved", None)
    except RoutingError as exc:  # the timer may have ended wrap-up already
        log.debug("demo wrap-up for %s: %s", agent_id, exc)


def status_line(server: ContactCenter, placed: int) -> str:
    """One line about the floor: calls placed, in IVR, waiting, talking, agents."""
    snap = server.routing.snapshot()
    waiting = sum(q.waiting for q in snap.queues.values())
    answered = sum(q.answered for q in snap.queues.values())
    abandoned = sum(q.abandoned for q in snap.queues.values())
    states: dict[str, int] = {}
    for a in snap.agents.values():
        states[a.state] = states.get(a.state, 0) + 1
    agents = " ".join(f"{k}={v}" for k, v in sorted(states.items()))
    return (f"calls placed {placed:4d} | IVR sessions {server.agi.stats.active:3d} | "
            f"waiting {waiting:3d} | answered {answered:4d} | abandoned {abandoned:3d} | "
            f"agents {agents}")


async def run_demo(settings: Settings, calls_per_minute: float | None = None,
                   duration: float | None = None) -> int:
    """Run until Ctrl-C / SIGTERM (or ``duration`` clock seconds)."""
    clock = Clock(speed=settings.simulator.speed)
    rng = random.Random()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settings = demo_database(settings)
    sim, server = await start_demo_floor(settings, clock, rng=rng)
    users = await create_demo_users(server)
    settle_after_start()
    cpm = calls_per_minute or settings.simulator.calls_per_minute
    print(f"demo: PBX simulator on AMI 127.0.0.1:{sim.ami_port}, FastAGI {server.agi_port}, "
          f"web http://{settings.web.host}:{server.web_port}/api/health ; "
          f"{cpm:g} calls/min; Ctrl-C to stop", flush=True)
    print(f"demo: panel http://{settings.web.host}:{server.web_port}/login as "
          f"{', '.join(users)} (password {DEMO_PASSWORD}); agent1001 is agent 1001, "
          "who is also being driven by the demo", flush=True)
    print(f"demo: database {database_url(settings)} (the demo's own: `serve` does not use it)",
          flush=True)
    traffic = asyncio.create_task(run_traffic(sim, cpm, None, duration, stop, exten=DEMO_NUMBER))
    try:
        while not stop.is_set() and not traffic.done():
            try:
                async with asyncio.timeout(5.0):
                    await stop.wait()
            except TimeoutError:
                pass
            placed = len(sim.calls)
            print(status_line(server, placed), file=sys.stdout, flush=True)
    finally:
        stop.set()
        await asyncio.gather(traffic, return_exceptions=True)
        await server.stop()
        await sim.stop()
    return 0

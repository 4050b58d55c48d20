"""A whole contact center on one machine for end-to-end tests: the real server, the simulator.

``running_floor`` starts the PBX simulator (AMI + FastAGI client, real sockets), then the real
server (``ContactCenter``: SQLite file, FastAGI, AMI link to the simulator, web on an ephemeral
port), gives every configured agent a simulated phone and logs the agents in. Both share one
Clock, so ``speed`` runs the whole floor faster than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from contactcenter.app import ContactCenter
from contactcenter.config.loader import load_settings
from contactcenter.config.schema import Settings
from contactcenter.demo import start_demo_floor
from contactcenter.domain.clock import Clock
from contactcenter.sim import Simulator
from contactcenter.web.auth import hash_password
from contactcenter.web.users import UserStore

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Floor:
    """The running pieces a test talks to."""

    sim: Simulator
    server: ContactCenter
    clock: Clock
    settings: Settings

    @property
    def web_url(self) -> str:
        """Base URL of the server's web API."""
        return f"http://127.0.0.1:{self.server.web_port}"


def floor_settings(tmp_path: Path, speed: float, **overrides: object) -> Settings:
    """Repository config, with ephemeral ports and files under ``tmp_path``."""
    base = load_settings(REPO / "config/contactcenter.yaml", environ={})
    settings = replace(
        base,
        base_dir=str(REPO),
        web=replace(base.web, port=0),
        fastagi=replace(base.fastagi, port=0),
        database=replace(base.database, url=f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"),
        recordings_dir=str(tmp_path / "recordings"),
        simulator=replace(base.simulator, ami_port=0, speed=speed),
    )
    return replace(settings, **overrides) if overrides else settings


@contextlib.asynccontextmanager
async def running_floor(tmp_path: Path, *, speed: float = 20.0, seed: int = 7,
                        settings: Settings | None = None) -> AsyncIterator[Floor]:
    """Start simulator + server + logged-in agents; stop everything on exit."""
    settings = settings or floor_settings(tmp_path, speed)
    clock = Clock(speed=speed)
    sim, server = await start_demo_floor(settings, clock, rng=random.Random(seed))
    floor = Floor(sim, server, clock, settings)
    try:
        await server.pool["sim"].wait_ready(10)
        yield floor
    finally:
        await floor.server.stop()  # a test may have replaced it (restart)
        if floor.server is not server:
            await server.stop()
        await sim.stop()


PASSWORD = "correct horse battery"


async def login(floor: Floor, username: str, role: str,
                agent_id: str | None = None) -> aiohttp.ClientSession:
    """A browser-like session logged in as a (new) user: cookie, Origin and CSRF header set."""
    store = UserStore(floor.server.db)
    if await store.get_by_username(username) is None:
        await store.create_user(username, hash_password(PASSWORD), role, agent_id, 0.0)
    http = aiohttp.ClientSession(headers={"Origin": floor.web_url},
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{floor.web_url}/api/login",
                         json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
    return http


async def until(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Wait until ``check()`` is truthy (polling state); its value. Fails after ``timeout_s``
    real seconds, which only catches hangs."""
    async def loop() -> Any:
        while not (value := check()):
            await asyncio.sleep(0.02)
        return value
    return await asyncio.wait_for(loop(), timeout_s)


class Arrivals:
    """Things as they arrive (routing events, websocket messages), with waits on them."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._changed = asyncio.Event()

    def add(self, event: Any) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait(self, pred: Callable[[Any], bool], start: int = 0,
                   timeout_s: float = 30.0) -> Any:
        """The first event from index ``start`` on that matches ``pred``, seen or to come."""
        async def scan() -> Any:
            i = start
            while True:
                while i < len(self.events):
                    if pred(self.events[i]):
                        return self.events[i]
                    i += 1
                self._changed.clear()
                await self._changed.wait()
        return await asyncio.wait_for(scan(), timeout_s)



def silences_match(found: list[tuple[float, float]], sim: Any, path: Path,
                   min_length_s: float = 0.5) -> bool:
    """The silent spans measured in a recording's audio are where the simulated PBX muted it,
    by that PBX's own clock times (``Simulator.silences``), to within a few samples of
    detection at the edges of the tone: no wall-clock slack is involved on either side."""
    expected = [(a, b) for a, b in sim.silences(path) if b - a >= min_length_s]
    return len(found) == len(expected) and all(
        abs(a - x) < 0.01 and abs(b - y) < 0.01 for (a, b), (x, y) in zip(found, expected))


def overlaps(span: tuple[float, float], start: float, end: float | None) -> bool:
    """The server's record of a pause (``start``..``end``) and a silence in the file share
    time: both describe the same mute, seen from the two ends of the AMI link."""
    return span[0] < (end if end is not None else float("inf")) and start < span[1]

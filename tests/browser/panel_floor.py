"""A floor for the panel's tests: simulator + real server, phones that talk until hung up.

Unlike ``tests/e2e/floor.py``'s demo floor, no agent is logged in and no robot finishes
wrap-up: the people in the browser do that. Flows are a copy under ``tmp_path`` so admin edits
never touch the repository's ``ivr_flows/``.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from floor import REPO, floor_settings

from contactcenter.app import ContactCenter
from contactcenter.config.loader import resolve
from contactcenter.config.schema import Settings
from contactcenter.demo import DEMO_SECRET, DEMO_USER, demo_settings
from contactcenter.domain.clock import Clock
from contactcenter.sim import Phone, SimConfig, Simulator
from contactcenter.web.auth import AUTH_KEY, hash_password

PASSWORD = "panel test password"


@dataclass
class PanelFloor:
    """The running pieces a panel test talks to."""

    sim: Simulator
    server: ContactCenter
    clock: Clock
    flows_dir: Path

    @property
    def url(self) -> str:
        """Base URL of the web server."""
        return f"http://127.0.0.1:{self.server.web_port}"

    async def add_user(self, username: str, role: str, agent_id: str | None = None) -> None:
        """Create a user with ``PASSWORD``."""
        store = self.server.web_app[AUTH_KEY].store
        await store.create_user(username, hash_password(PASSWORD), role, agent_id, time.time())


@contextlib.asynccontextmanager
async def panel_floor(tmp_path: Path, *, speed: float = 3.0,
                      prepare: Callable[[Settings], Awaitable[Settings]] | None = None,
                      ) -> AsyncIterator[PanelFloor]:
    """Start the simulator and the server; every agent has a phone that answers after 1 s.

    ``prepare`` may change the settings and the database before the server starts.
    """
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "ivr_flows", flows)
    settings = floor_settings(tmp_path, speed, flows_dir=str(flows))
    if prepare is not None:
        settings = await prepare(settings)
    clock = Clock(speed=speed)
    sim = Simulator(SimConfig(
        ami_host="127.0.0.1", ami_port=0, ami_users={DEMO_USER: DEMO_SECRET},
        agi_url="agi://127.0.0.1:1/ivr", clock=clock,
        recordings_dir=resolve(settings, settings.recordings_dir)))
    await sim.start()
    server = ContactCenter(demo_settings(settings, sim.ami_port), clock=clock)
    try:
        await server.start()
        sim.config.agi_url = f"agi://127.0.0.1:{server.agi_port}/ivr"
        for agent in server.routing_config.agents.values():
            if agent.dial_string:
                sim.add_phone(Phone(agent.dial_string, answer_after=1.0, talk_for=None))
        await server.pool["sim"].wait_ready(10)
        yield PanelFloor(sim, server, clock, flows)
    finally:
        await server.stop()
        await sim.stop()


async def login(browser, floor: PanelFloor, username: str):  # type: ignore[no-untyped-def]
    """A new browser context logged in as ``username``; returns its page."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{floor.url}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page

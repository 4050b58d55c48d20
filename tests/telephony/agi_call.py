"""One simulated call to our FastAGI server, for tests of ``AgiSession`` commands."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Phone, SimConfig, Simulator
from contactcenter.telephony.agi.api import CallHangup
from contactcenter.telephony.agi.server import FastAgiServer
from contactcenter.telephony.agi.session import AgiSession


async def run_call(handler: Callable[[AgiSession], Awaitable[None]],
                   phones: Iterable[Phone] = (),
                   **sim_options: Any) -> tuple[list[str], Simulator]:
    """The simulator places one call whose AGI runs ``handler`` on our FastAGI server, then
    hangs up; returns the AGI commands the handler sent, and the (stopped) simulator for its
    events. ``sim_options``: more ``SimConfig`` fields."""
    ours: list[bool] = []

    async def then_hang_up(session: AgiSession) -> None:
        try:
            await handler(session)
        finally:  # the call ends with the handler, not when the caller tires (60 s)
            with contextlib.suppress(CallHangup, ConnectionError):
                await session.hangup()
                ours.append(True)

    srv = FastAgiServer(host="127.0.0.1", port=0, clock=Clock(), env_timeout=5.0)
    srv.route("ivr", then_hang_up)
    await srv.start()
    sim = Simulator(SimConfig(clock=Clock(speed=25.0), agi_url=f"agi://127.0.0.1:{srv.port}/ivr",
                              **sim_options))
    for phone in phones:
        sim.add_phone(phone)
    await sim.start()
    try:
        call = await sim.place_call(CallerScript(hangup_after=60))
        await asyncio.wait_for(call.ended(), 20)
    finally:
        await sim.stop()
        await srv.stop(grace=1.0)
    commands = list(call.agi_commands)
    if ours and commands[-1:] == ["HANGUP"]:
        commands.pop()  # the helper's own, not the handler's
    return commands, sim

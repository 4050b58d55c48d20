"""A background pass repeated until closed: the start/wake/close every sweeper needs.

Design note: the owners (the chat's retention, the tickets' SLA sweep, the IVR sessions'
retention) each run one pass of their own that returns how long to wait before the next; this
class owns only the task, the wake-up and the stop. A pass in progress when ``close`` is called
finishes (``stop_gracefully``), so no database call is cut in half; a pass that raises is the
owner's to log inside the pass, and one that slips through is logged here and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from contactcenter.common.tasks import stop_gracefully

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``one_pass`` now, then again after the seconds it returns (``real`` maps them to
    real seconds, for a simulated clock), or at once after ``wake()``."""

    def __init__(self, name: str, one_pass: Callable[[], Awaitable[float]],
                 real: Callable[[float], float] = lambda s: s) -> None:
        self.name, self.one_pass, self.real = name, one_pass, real
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        """Asked to stop: a long pass may end early (it is run again at the next start)."""
        return self._closing

    def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        """Stop (a pass under way finishes first)."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        await stop_gracefully(task)

    async def _run(self) -> None:
        while not self._closing:
            self._wake.clear()
            try:
                wait = await self.one_pass()
            except Exception:
                log.exception("%s: pass failed", self.name)
                wait = 60.0
            if self._closing:
                break
            # asyncio.timeout, not wait_for (see tickets/outbox.py).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.real(wait)):
                    await self._wake.wait()

"""A call placed by the simulator, as tests and the load driver see it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .model import CallerScript, Silence, Step


@dataclass(eq=False)
class SimCall:
    """One inbound call: its ids, the AGI commands it received and how it ended."""

    script: CallerScript
    uniqueid: str = ""
    linkedid: str = ""
    agi_channel: str = ""  # the ;2 channel name running AGI
    caller_channel: str = ""  # the ;1 channel name (the caller's side)
    agi_commands: list[str] = field(default_factory=list)
    outcome: str | None = None  # "caller-hangup", "agi-closed", "dial-answered", ...
    connected_to: str | None = None  # dial string of the phone it was bridged to
    digits_pressed: list[str] = field(default_factory=list)
    _step_index: int = 0
    _ended: asyncio.Event = field(default_factory=asyncio.Event)

    def next_step(self) -> Step:
        """The caller's next step; Silence once the script has run out."""
        if self._step_index >= len(self.script.steps):
            return Silence()
        step = self.script.steps[self._step_index]
        self._step_index += 1
        return step

    def set_outcome(self, outcome: str) -> None:
        """Record how the call ended, first reason wins except for a later bridge."""
        if self.outcome is None or outcome == "dial-answered":
            self.outcome = outcome

    def mark_ended(self) -> None:
        """Every channel of the call is gone."""
        self._ended.set()

    @property
    def is_ended(self) -> bool:
        """True once every channel of the call is gone."""
        return self._ended.is_set()

    async def ended(self) -> None:
        """Wait until every channel of the call is gone."""
        await self._ended.wait()

"""Time as the server sees it: real, or sped up for tests and demos.

Everything that waits or stamps time takes a ``Clock`` so that the simulator and the server can
share one accelerated timeline (``speed=20`` makes a 30 s wrap-up last 1.5 real seconds).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Clock:
    """Monotonic and wall time scaled by ``speed`` from the moment the clock was made."""

    speed: float = 1.0
    _mono0: float = field(default_factory=time.monotonic, init=False)
    _wall0: float = field(default_factory=time.time, init=False)

    def monotonic(self) -> float:
        """Seconds on this clock's timeline, for measuring durations."""
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed

    def time(self) -> float:
        """Epoch seconds on this clock's timeline, for timestamps."""
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of clock time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def real(self, seconds: float) -> float:
        """Real seconds that ``seconds`` of clock time take (for socket timeouts)."""
        return seconds / self.speed

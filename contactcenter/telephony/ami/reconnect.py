"""When to retry a lost AMI link, and when a quiet link counts as dead.

Design note
-----------
* ``Backoff``: the first retry comes within ``first`` (<= 1 s) so a PBX restart costs little;
  each failure doubles the delay up to ``cap`` (30 s) so a dead PBX is not hammered; "full
  jitter" on the upper half (delay * [0.5, 1.0]) keeps many servers from reconnecting in step.
  A session that stayed up for ``stable_after`` seconds resets it.
* ``Liveness``: a TCP link can be half-open (the peer vanished, no FIN ever comes), so the
  kernel will not tell us. We send a Ping every ``ping_interval`` and declare the link dead when
  nothing at all arrived for ``dead_after`` seconds. Any byte counts as life, so a busy link
  costs one tiny Ping per interval and a silent one is caught within dead_after + one tick.
Both are pure: they take the current time as an argument and never sleep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff", "Liveness"]


@dataclass
class Backoff:
    """Exponential backoff with jitter: first <= 1 s, doubling, capped at 30 s."""

    first: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    stable_after: float = 10.0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    failures: int = 0

    def next_delay(self) -> float:
        """Delay before the next attempt; counts one more failure."""
        base = min(self.cap, self.first * (self.factor ** self.failures))
        self.failures += 1
        return base * (0.5 + 0.5 * self.rng.random())

    def reset(self) -> None:
        """Forget past failures (a session stayed up long enough)."""
        self.failures = 0

    def session_ended(self, lasted: float) -> None:
        """Report how long the last session was up; a stable one resets the backoff."""
        if lasted >= self.stable_after:
            self.reset()


@dataclass
class Liveness:
    """Ping scheduling and silence detection for one connected session."""

    ping_interval: float = 3.0
    dead_after: float = 8.0
    last_rx: float = 0.0
    last_ping: float = 0.0

    def start(self, now: float) -> None:
        """A session just came up."""
        self.last_rx = now
        self.last_ping = now

    def received(self, now: float) -> None:
        """Bytes arrived."""
        self.last_rx = now

    def checked(self, now: float, previous: float) -> None:
        """The watchdog looks at ``now``, having last looked at ``previous``. When it overslept
        (twice its tick or more), this process stalled meanwhile (a long synchronous step, a
        busy machine): silence measured across that stall is ours, not the peer's, whose reply
        may be waiting unread. It is not held against the link; a dead one is still found
        ``dead_after`` later."""
        if now - previous >= 2 * self.tick:
            self.last_rx = max(self.last_rx, now)

    def is_dead(self, now: float) -> bool:
        """True when nothing arrived for ``dead_after`` seconds."""
        return now - self.last_rx >= self.dead_after

    def ping_due(self, now: float) -> bool:
        """True when a Ping should be sent now (and records that it is being sent)."""
        if now - self.last_ping >= self.ping_interval:
            self.last_ping = now
            return True
        return False

    @property
    def tick(self) -> float:
        """How often the watchdog should look (clock seconds)."""
        return min(1.0, self.ping_interval / 2, self.dead_after / 4)

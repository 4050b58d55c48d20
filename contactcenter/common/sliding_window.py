"""Sliding-window rate limits, per key, in memory (chat starts and messages, KB votes and gaps).

Counted per process, with a bounded number of keys (the least recently used key is forgotten
first), so a flood of addresses costs memory only up to ``max_keys``. The check and the count
are one call with no await inside, so concurrent requests cannot all pass.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class SlidingWindow:
    """At most ``limit`` hits per key within ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 50_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str, now: float) -> float:
        """Count one hit; 0 when allowed, else the seconds until one would be (not counted)."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window_s - now
        hits.append(now)
        return 0.0

    def forget(self, key: str) -> None:
        """Drop a key (its conversation ended)."""
        self._hits.pop(key, None)

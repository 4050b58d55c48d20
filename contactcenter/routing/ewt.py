"""Expected wait time: position x average handle time / staffed capacity.

Method (docs/routing.md has the reasoning). For an interaction at position ``p`` (1 = next) in
queue ``q`` on channel ``c``:

    EWT = p * AHT(q) / N(q, c)

* ``AHT(q)``: mean handle time (connect to end of wrap-up) of the last ``window`` interactions
  finished in ``q``; the queue's ``aht_default_s`` until ``min_samples`` were measured.
* ``N(q, c)``: staffed capacity, i.e. the sum of ``capacity[c]`` over agents logged in to ``q``
  and not paused (busy ones count: they are the ones who will free up).

While an interaction waits every eligible agent is busy (the engine never leaves a free agent
and a waiting interaction it could take side by side), so its wait is the time until ``p``
slots free up. With N slots each freeing at rate 1/AHT that takes p * AHT / N on average.
"""

from __future__ import annotations

from collections import deque


class HandleTimes:
    """Recent handle times of one queue."""

    def __init__(self, default_s: float, window: int = 100, min_samples: int = 5) -> None:
        self.default_s = default_s
        self.min_samples = min_samples
        self._samples: deque[float] = deque(maxlen=window)
        self._sum = 0.0

    def add(self, seconds: float) -> None:
        """Record one finished interaction's handle time."""
        if len(self._samples) == self._samples.maxlen:
            self._sum -= self._samples[0]
        self._samples.append(seconds)
        self._sum += seconds

    def average(self) -> float:
        """AHT: the recent mean, or the configured default with too few samples."""
        if len(self._samples) < self.min_samples:
            return self.default_s
        return self._sum / len(self._samples)

    def __len__(self) -> int:
        return len(self._samples)


def expected_wait(position: int, aht_s: float, staffed: int) -> float | None:
    """EWT in seconds for ``position``; None when nobody is staffed (unknown)."""
    if staffed <= 0:
        return None
    return position * aht_s / staffed

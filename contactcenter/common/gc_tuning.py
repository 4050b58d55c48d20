"""Garbage-collector settings for a long-running server process.

Python's cyclic collector runs a young-generation pass every 700 allocations and, now and
then, a full pass over every object in the process. Measured in the server at 200 calls/s
(bench/entry_to_dial.py): ~450 passes in 15 s, 5% of the CPU, and full passes that stopped the
event loop for up to 60 ms, with every caller's AGI reply waiting behind them. Everything that
exists once the server has started (modules, configuration, agents, the routing tables) lives
as long as the process: frozen, full passes no longer walk it, and a larger first threshold
makes the young passes rarer. Call sites are process entry points (``contactcenter serve``,
benchmarks), never library code: the setting is process-wide.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000


def settle_after_start() -> None:
    """Collect once, freeze what survives, and make young passes rarer (process-wide)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)

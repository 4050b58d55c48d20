"""Today's queue figures in memory, for the wallboard: the same sums and the same definitions as
the reports (``queries.queue_figures``), so the wallboard's "today" equals the report for today.

Design note: the wallboard builds its document synchronously, many times a second on a busy
floor, so it cannot query the database. The live aggregation hands every batch it commits to
``add``, which keeps the current local day's per-queue sums; ``load`` reads them back from the
interval tables when the aggregation (re)starts. A new day starts from zero at local midnight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from contactcenter.reports import tables as t
from contactcenter.reports.aggregate import Deltas
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import queue_figures
from contactcenter.reports.settings import SL_ANSWERED_AND_ABANDONED, ReportSettings
from contactcenter.storage.database import Database

_SUMMED = (*t.QUEUE_COUNTS, *t.QUEUE_SECONDS)


class TodayFigures:
    """Per-queue sums of the current local day, kept as the aggregation commits."""

    def __init__(self, calendar: Calendar, settings: ReportSettings,
                 now: Callable[[], float]) -> None:
        self.calendar = calendar
        self.settings = settings
        self.now = now
        self.day = ""
        self._sums: dict[str, dict[str, float]] = {}

    def _roll(self, day: str) -> None:
        if day > self.day:
            self.day, self._sums = day, {}

    async def load(self, db: Database) -> None:
        """Today's sums as stored (the aggregation's state when it (re)starts)."""
        day = self.calendar.today(self.now()).isoformat()
        tq = t.queue_days
        query = (sa.select(tq.c.queue, *[sa.func.sum(tq.c[n]).label(n) for n in _SUMMED],
                           sa.func.max(tq.c.max_wait_s).label(t.QUEUE_MAX))
                 .where(tq.c.day == day).group_by(tq.c.queue))
        async with db.engine.connect() as c:
            rows = [r._mapping for r in await c.execute(query)]
        self.day = day
        self._sums = {r["queue"]: {k: float(r[k] or 0.0) for k in (*_SUMMED, t.QUEUE_MAX)}
                      for r in rows}

    def add(self, deltas: Deltas) -> None:
        """Add what a committed batch added to today's intervals."""
        index = {name: i for i, name in enumerate(t.QUEUE_FIGURES)}
        for (start, queue, _channel), values in deltas.queue.items():
            day = deltas.buckets[start][1]
            self._roll(day)
            if day != self.day:
                continue  # a late row of a day already over
            sums = self._sums.setdefault(queue, {})
            for name in _SUMMED:
                sums[name] = sums.get(name, 0.0) + values[index[name]]
            sums[t.QUEUE_MAX] = max(sums.get(t.QUEUE_MAX, 0.0), values[index[t.QUEUE_MAX]])

    def by_queue(self) -> dict[str, dict[str, Any]]:
        """Each queue's figures today (docs/reports.md), as the queues report shows them."""
        self._roll(self.calendar.today(self.now()).isoformat())
        out = {}
        for queue, sums in self._sums.items():
            both = self.settings.method_for(queue) == SL_ANSWERED_AND_ABANDONED
            raw = dict(sums)
            raw["sl_num"] = sums.get("answered_in_sl", 0.0) + (
                sums.get("abandoned_in_sl", 0.0) if both else 0.0)
            raw["sl_den"] = sums.get("answered", 0.0) - sums.get("callbacks_answered", 0.0) + (
                sums.get("abandoned", 0.0) - sums.get("abandoned_short", 0.0) if both else 0.0)
            out[queue] = queue_figures(raw)
        return out

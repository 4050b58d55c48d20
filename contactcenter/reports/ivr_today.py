"""Today's IVR figures per flow in memory, for the wallboard and ``/metrics``: the IVR report's
counts and definitions (``ivr_report.flow_figures``), so they equal the IVR report for today.

Design note: as ``today.py`` does for the queues, this keeps sums instead of querying: the
wallboard's document is built many times a second and a scrape must not wait on the database.
The recorder hands every batch it has committed to ``add`` (sessions count in the local day they
started, as in the report); ``load`` reads the day back through the report's own reader when the
server starts, before the recorder writes anything. A new day starts from zero at local
midnight. ``/metrics`` labels its families with flow names only: a flow the registry has not
loaded (a dialplan naming a missing flow) is summed under ``OTHER``, so the label set stays the
flows an admin installed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from contactcenter.reports.intervals import Calendar
from contactcenter.reports.ivr_recorder import CONTAINED, SessionRows
from contactcenter.reports.ivr_report import FlowCounts, IvrReader, flow_figures

OTHER = "(other)"


class IvrToday:
    """Per-flow IVR sums of the current local day, and sessions per flow since start."""

    def __init__(self, calendar: Calendar, now: Callable[[], float]) -> None:
        self.calendar = calendar
        self.now = now
        self.day = ""
        self._counts: dict[str, FlowCounts] = {}
        self.sessions: Counter[str] = Counter()  # written by this process, every day
        self.contained: Counter[str] = Counter()

    def _roll(self, day: str) -> None:
        if day > self.day:
            self.day, self._counts = day, {}

    async def load(self, reader: IvrReader) -> None:
        """Today's counts as stored (call before the recorder starts writing)."""
        today = self.calendar.today(self.now())
        self._counts = await reader.flow_counts(today)
        self.day = today.isoformat()

    def add(self, batch: list[SessionRows]) -> None:
        """Count the sessions of a committed batch (``IvrRecorder``'s ``written``)."""
        for rows in batch:
            s = rows.session
            flow, ending = str(s["flow"]), str(s["ending"])
            self.sessions[flow] += 1
            self.contained[flow] += ending in CONTAINED
            day = self.calendar.bucket(s["slot"]).day
            self._roll(day)
            if day != self.day:
                continue  # started on a day already over
            counts = self._counts.setdefault(flow, FlowCounts())
            if ending in counts.endings:  # as the report, which knows only these
                counts.endings[ending] += 1
            counts.duration_s += s["ended_at"] - s["started_at"]

    def by_flow(self, known: Collection[str] | None = None) -> dict[str, dict[str, Any]]:
        """Each flow's IVR figures today (docs/reports.md, IVR), as the IVR report shows them;
        with ``known``, the flows not in it summed as ``OTHER``."""
        self._roll(self.calendar.today(self.now()).isoformat())
        cells: dict[str, FlowCounts] = {}
        for flow, counts in self._counts.items():
            name = flow if known is None or flow in known else OTHER
            cells.setdefault(name, FlowCounts()).add(counts)
        return {flow: flow_figures(counts) for flow, counts in sorted(cells.items())}

    def since_start(self, known: Collection[str]) -> dict[str, tuple[int, int]]:
        """Sessions and contained sessions per flow written since the server started (the
        counters of ``/metrics``), the flows not in ``known`` summed as ``OTHER``."""
        out: dict[str, tuple[int, int]] = {}
        for flow, n in self.sessions.items():
            name = flow if flow in known else OTHER
            had = out.get(name, (0, 0))
            out[name] = (had[0] + n, had[1] + self.contained[flow])
        return out

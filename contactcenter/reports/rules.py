"""Each queue's counting thresholds: its service-level time (routing's ``service_level_s``) and
its short-abandon time (the ``reports:`` settings)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from contactcenter.domain.queue import QueueConfig
from contactcenter.reports.aggregate import QueueRules
from contactcenter.reports.settings import ReportSettings

# A queue no longer configured keeps being counted with routing's default threshold.
DEFAULT_SERVICE_LEVEL_S = float(
    {f.name: f.default for f in dataclasses.fields(QueueConfig)}["service_level_s"])  # type: ignore[arg-type]


def queue_rules(queues: Callable[[], Mapping[str, QueueConfig]],
                settings: ReportSettings) -> Callable[[str], QueueRules]:
    """``rules(queue)`` over the queues in force when asked (``queues()`` is read each time)."""

    def rules(name: str) -> QueueRules:
        queue = queues().get(name)
        sl = queue.service_level_s if queue is not None else DEFAULT_SERVICE_LEVEL_S
        return QueueRules(float(sl), settings.short_abandon_for(name))

    return rules

"""The ``qa:`` section of the server config.

Example::

    qa:
      transcribe: true          # run the transcript worker (queues opt in: recording.transcribe)
      workers: 1                # transcriptions at once, each in a process of its own
      poll_s: 10                # clock seconds between looks for newly finished recordings
      max_attempts: 3           # a recording that fails this often stays failed
      job_timeout_s: 3600       # real seconds one transcription may take
      download_roles: [supervisor, admin]   # who may download recordings from the player
      sampling_interval_s: 300  # clock seconds between runs of the sampling rules
      sampling_timezone: UTC    # where a week starts (Monday 00:00)
      sampling_seed: ""         # fixed: repeatable picks; empty: a random one per start
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

ROLES = ("agent", "supervisor", "admin")


@dataclass(frozen=True)
class QaSettings:
    """Transcription and the recording player's download rule (docs/qa.md)."""

    transcribe: bool = True
    workers: int = 1
    poll_s: float = 10.0
    max_attempts: int = 3
    job_timeout_s: float = 3600.0
    download_roles: list[str] = field(default_factory=lambda: ["supervisor", "admin"])
    sampling_interval_s: float = 300.0
    sampling_timezone: str = "UTC"
    sampling_seed: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= 16:
            raise ValueError(f"qa.workers {self.workers} is outside 1..16")
        if not 0.05 <= self.poll_s <= 3600:
            raise ValueError(f"qa.poll_s {self.poll_s} is outside 0.05..3600")
        if not 1 <= self.max_attempts <= 100:
            raise ValueError(f"qa.max_attempts {self.max_attempts} is outside 1..100")
        if not 1 <= self.job_timeout_s <= 86400:
            raise ValueError(f"qa.job_timeout_s {self.job_timeout_s} is outside 1..86400")
        if not 1 <= self.sampling_interval_s <= 86400:
            raise ValueError(f"qa.sampling_interval_s {self.sampling_interval_s} is outside "
                             "1..86400")
        try:
            zoneinfo.ZoneInfo(self.sampling_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"qa.sampling_timezone: unknown time zone "
                             f"{self.sampling_timezone!r}") from None
        unknown = sorted(set(self.download_roles) - set(ROLES))
        if unknown:
            raise ValueError(f"qa.download_roles: unknown role(s) {', '.join(unknown)}")

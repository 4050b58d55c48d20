"""Per-queue recording policy: when to record, how long to keep it, who may listen afterwards."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class RecordingMode(str, enum.Enum):
    """``always`` starts on connect; ``on_demand`` waits for an agent or supervisor; ``never``."""

    ALWAYS = "always"
    NEVER = "never"
    ON_DEMAND = "on_demand"


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    """What one queue does with recordings."""

    mode: RecordingMode = RecordingMode.NEVER
    retention_days: int | None = None  # None = keep forever
    agent_access: bool = False  # agents may download recordings of their own calls
    transcribe: bool = False  # finished recordings are transcribed (docs/qa.md)
    # MixMonitor also writes each direction to its own file (r()/t()): who spoke is known
    speakers: bool = False
    transcript_retention_days: int | None = None  # None: as long as the audio

    def __post_init__(self) -> None:
        if not isinstance(self.mode, RecordingMode):
            object.__setattr__(self, "mode", RecordingMode(self.mode))
        if self.retention_days is not None and self.retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        kept = self.transcript_retention_days
        if kept is not None:
            if kept < 0:
                raise ValueError("transcript_retention_days must be >= 0")
            if self.retention_days is not None and kept > self.retention_days:
                raise ValueError(f"transcript_retention_days ({kept}) is longer than "
                                 f"retention_days ({self.retention_days}): a transcript goes "
                                 "with its audio at the latest")


@dataclass(frozen=True)
class PolicyBook:
    """Policies by queue name, with a default for queues not listed."""

    by_queue: Mapping[str, RecordingPolicy] = field(default_factory=dict)
    default: RecordingPolicy = field(default_factory=RecordingPolicy)

    def for_queue(self, queue: str) -> RecordingPolicy:
        """The policy that applies to ``queue``."""
        return self.by_queue.get(queue, self.default)


def policy_from_mapping(data: Mapping[str, Any] | None) -> RecordingPolicy:
    """Build a policy from a config mapping ``{mode, retention_days, agent_access, transcribe,
    speakers, transcript_retention_days}``."""
    if not data:
        return RecordingPolicy()
    unknown = set(data) - {"mode", "retention_days", "agent_access", "transcribe", "speakers",
                           "transcript_retention_days"}
    if unknown:
        raise ValueError(f"unknown recording setting(s): {', '.join(sorted(unknown))}")
    mode = str(data.get("mode", "never")).replace("-", "_")
    try:
        parsed = RecordingMode(mode)
    except ValueError:
        raise ValueError(f"recording mode {mode!r} is not always/never/on_demand") from None
    retention = data.get("retention_days")
    if retention is not None and (isinstance(retention, bool) or not isinstance(retention, int)):
        raise ValueError("retention_days must be a whole number of days")
    agent_access = data.get("agent_access", False)
    if not isinstance(agent_access, bool):
        raise ValueError("agent_access must be true or false")  # noqa: TRY004 - one error type
    transcribe = data.get("transcribe", False)
    if not isinstance(transcribe, bool):
        raise ValueError("transcribe must be true or false")  # noqa: TRY004 - one error type
    speakers = data.get("speakers", False)
    if not isinstance(speakers, bool):
        raise ValueError("speakers must be true or false")  # noqa: TRY004 - one error type
    kept = data.get("transcript_retention_days")
    if kept is not None and (isinstance(kept, bool) or not isinstance(kept, int)):
        raise ValueError("transcript_retention_days must be a whole number of days")
    return RecordingPolicy(parsed, retention, agent_access, transcribe, speakers, kept)

"""Queues as configured: strategy, skills, timers, overflow, relaxation, exits, announcements."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contactcenter.domain.interaction import check_wire_safe
from contactcenter.domain.skills import check_skill_name, check_skills

_QUEUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SOUND = re.compile(r"^[A-Za-z0-9_./-]{1,128}$")


class Strategy(StrEnum):
    """How a queue picks among several free agents who all have the skills."""

    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_TODAY = "fewest_today"
    MOST_SKILLED = "most_skilled"
    RANDOM = "random"


class DestinationType(StrEnum):
    """Where an interaction goes when a queue rule makes it leave."""

    QUEUE = "queue"  # another queue (keeps the original arrival time)
    MESSAGE = "message"  # play a sound, then hang up
    CALLBACK = "callback"  # offer a callback (the voice side collects the number)
    FLOW = "flow"  # another IVR flow
    HANGUP = "hangup"


def check_queue_name(name: object) -> str:
    """Queue names are lower-case tokens."""
    if not isinstance(name, str) or not _QUEUE.match(name):
        raise ValueError(f"invalid queue name {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class Destination:
    """An exit target: ``type`` plus its target (queue name, sound, or flow name)."""

    type: DestinationType
    target: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", DestinationType(self.type))
        needs = {DestinationType.QUEUE, DestinationType.MESSAGE, DestinationType.FLOW}
        if self.type in needs and not self.target:
            raise ValueError(f"destination {self.type.value} needs a target")
        if self.target is not None:
            check_wire_safe(self.target, "destination target")
            if self.type is DestinationType.QUEUE:
                check_queue_name(self.target)
            elif not _SOUND.match(self.target):
                raise ValueError(f"invalid destination target {self.target!r}")

    def as_dict(self) -> dict[str, str | None]:
        """Plain form for events and JSON."""
        return {"type": self.type.value, "target": self.target}


@dataclass(frozen=True, slots=True)
class OverflowRule:
    """After ``after_s`` in this queue, move the interaction to ``queue``."""

    after_s: float
    queue: str


@dataclass(frozen=True, slots=True)
class RelaxStep:
    """After ``after_s`` in this queue, lower every minimum by ``lower_by`` and drop ``drop``.

    Steps are not cumulative: the last step reached defines the requirement.
    """

    after_s: float
    lower_by: int = 0
    drop: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for skill in self.drop:
            check_skill_name(skill)


@dataclass(frozen=True, slots=True)
class Announcements:
    """What the voice side plays while a caller waits, and how often."""

    interval_s: float = 30.0
    position: bool = True
    expected_wait: bool = True
    moh_class: str = "default"

    def __post_init__(self) -> None:
        if not _SOUND.match(self.moh_class):
            raise ValueError(f"invalid moh class {self.moh_class!r}")


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """Limits for callbacks offered from this queue."""

    max_attempts: int = 3
    retry_after_s: float = 120.0


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue's configuration."""

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: Mapping[str, int] = field(default_factory=dict)
    wrapup_s: float = 15.0
    ring_timeout_s: float = 20.0
    service_level_s: float = 20.0
    max_wait_s: float | None = None
    exit: Destination | None = None  # where max wait sends the interaction
    leave_digit: str | None = None  # DTMF key that lets a caller leave
    leave_destination: Destination | None = None
    overflow: tuple[OverflowRule, ...] = ()
    relaxation: tuple[RelaxStep, ...] = ()
    announce: Announcements = field(default_factory=Announcements)
    callback: CallbackPolicy = field(default_factory=CallbackPolicy)
    aht_default_s: float = 180.0  # handle time assumed until enough calls were measured

    def __post_init__(self) -> None:
        check_queue_name(self.name)
        object.__setattr__(self, "strategy", Strategy(self.strategy))
        object.__setattr__(self, "skills", check_skills(self.skills))
        object.__setattr__(self, "overflow", tuple(sorted(self.overflow, key=lambda r: r.after_s)))
        object.__setattr__(
            self, "relaxation", tuple(sorted(self.relaxation, key=lambda r: r.after_s))
        )
        if self.leave_digit is not None and (
            len(self.leave_digit) != 1 or self.leave_digit not in "0123456789*#"
        ):
            raise ValueError("leave_digit must be one DTMF key")
        if self.leave_digit is not None and self.leave_destination is None:
            raise ValueError("leave_digit needs a leave_destination")
        if self.ring_timeout_s <= 0 or self.wrapup_s < 0:
            raise ValueError("ring_timeout_s must be > 0 and wrapup_s >= 0")

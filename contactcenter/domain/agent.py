"""Agents as configured (skills, capacity per channel, dial string) and their visible states."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contactcenter.domain.interaction import Channel, check_wire_safe
from contactcenter.domain.skills import check_skills

# No comma (Dial option separator), no '&' (parallel dial), no spaces: the dial string goes
# verbatim into EXEC Dial, so it may only name one device.
DIAL_STRING_RX = r"[A-Za-z][A-Za-z0-9]*/[A-Za-z0-9_.+*#@:/-]{1,120}"  # also in API schemas
_DIAL = re.compile(f"^{DIAL_STRING_RX}$")
_AGENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEFAULT_CAPACITY = {"voice": 1, "chat": 3, "ticket": 5}


class AgentState(StrEnum):
    """What an agent is doing; the rules live in ``contactcenter.routing.agent_state``."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"
    RINGING = "ringing"
    BUSY = "busy"
    WRAPUP = "wrapup"
    PAUSED = "paused"


def check_dial_string(value: str) -> str:
    """A single-device dial string such as ``PJSIP/1001`` or ``Local/1001@agents``."""
    check_wire_safe(value, "dial string")
    if not _DIAL.match(value):
        raise ValueError(f"invalid dial string {value!r} (one device, e.g. PJSIP/1001)")
    return value


def check_agent_id(value: str) -> str:
    """Agent ids are short tokens used in URLs and logs."""
    if not isinstance(value, str) or not _AGENT_ID.match(value):
        raise ValueError(f"invalid agent id {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """One agent's configuration: who they are and what they can take."""

    id: str
    name: str = ""
    dial_string: str | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    queues: tuple[str, ...] = ()  # queues joined on login when none are named

    def __post_init__(self) -> None:
        check_agent_id(self.id)
        check_wire_safe(self.name, "agent name")
        if self.dial_string is not None:
            check_dial_string(self.dial_string)
        object.__setattr__(self, "skills", check_skills(self.skills))
        cap = {}
        for channel, n in self.capacity.items():
            Channel(channel)
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 50:
                raise ValueError(f"capacity for {channel} must be an integer 0..50")
            cap[channel] = n
        object.__setattr__(self, "capacity", cap)
        object.__setattr__(self, "queues", tuple(self.queues))

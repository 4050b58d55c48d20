"""Interactions: the unit the router queues and offers, whatever its channel (voice, chat, ticket)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contactcenter.domain.skills import check_skills

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
MAX_DATA_ITEMS = 64
MAX_DATA_TEXT = 1024


class Channel(StrEnum):
    """Media an interaction arrives on; agents have a capacity per channel."""

    VOICE = "voice"
    CHAT = "chat"
    TICKET = "ticket"


class InteractionState(StrEnum):
    """Where an interaction is; exactly one at any time."""

    WAITING = "waiting"  # in a queue's line
    OFFERED = "offered"  # an agent is reserved / ringing for it
    CONNECTED = "connected"  # an agent is handling it
    SCHEDULED = "scheduled"  # a callback waiting for its retry time (keeps its place)
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    EXITED = "exited"  # left by a queue rule (max wait, leave key, failed callback)


OPEN_STATES = frozenset(
    {InteractionState.WAITING, InteractionState.OFFERED, InteractionState.CONNECTED,
     InteractionState.SCHEDULED}
)


def check_wire_safe(value: str, what: str) -> str:
    """Refuse CR, LF and NUL: the value may reach AMI or AGI, where they break the framing."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")  # noqa: TRY004 - one error type for callers
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(f"{what} contains CR, LF or NUL")
    return value


def check_interaction_id(value: str) -> str:
    """Interaction ids are short tokens (uniqueids, uuids): letters, digits, ``_.:-``."""
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"invalid interaction id {value!r}")
    return value


def check_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Attached data is flat JSON scalars; strings are wire-safe (they may become channel vars)."""
    if len(data) > MAX_DATA_ITEMS:
        raise ValueError(f"at most {MAX_DATA_ITEMS} data items")
    out: dict[str, Any] = {}
    for key, value in data.items():
        check_wire_safe(key, "data key")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"data value for {key!r} must be a scalar")
        if isinstance(value, str):
            if len(value) > MAX_DATA_TEXT:
                raise ValueError(f"data value for {key!r} longer than {MAX_DATA_TEXT}")
            check_wire_safe(value, f"data value for {key!r}")
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """Call the customer back at ``number`` when their turn comes, instead of holding."""

    number: str
    max_attempts: int | None = None  # None: the queue's callback policy decides
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        check_wire_safe(self.number, "callback number")
        if not _NUMBER.match(self.number):
            raise ValueError(f"invalid callback number {self.number!r}")
        if self.max_attempts is not None and not 1 <= self.max_attempts <= 10:
            raise ValueError("callback max_attempts must be 1..10")
        if self.retry_after_s is not None and not 0 <= self.retry_after_s <= 86400:
            raise ValueError("callback retry_after_s must be 0..86400")


@dataclass(frozen=True, slots=True)
class Interaction:
    """A request to be served: what the caller/chat/ticket needs and where it enters."""

    channel: str
    queue: str
    priority: int = 0  # higher first
    skills: Mapping[str, int] = field(default_factory=dict)  # minimum levels, added to the queue's
    data: Mapping[str, Any] = field(default_factory=dict)  # screen-pop data (caller id, IVR input)
    callback: CallbackRequest | None = None
    id: str | None = None  # e.g. the call's uniqueid; generated when None
    # When the customer arrived, if before entering the queue (a chat a bot talked to first):
    # waits and service level count from it. None: now.
    arrived_at: float | None = None

    def __post_init__(self) -> None:
        Channel(self.channel)
        if not -1000 <= self.priority <= 1000:
            raise ValueError("priority must be -1000..1000")
        object.__setattr__(self, "skills", check_skills(self.skills))
        object.__setattr__(self, "data", check_data(self.data))
        if self.id is not None:
            check_interaction_id(self.id)

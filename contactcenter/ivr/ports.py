"""What the IVR needs from the rest of the server, as typed ports the composition root fills.

``QueuePort`` hands a call to the queue engine, ``LookupPort`` finds a customer, ``IvrEvents``
receives every step for the screen pop and the interaction log, ``SessionObserver`` each
finished session for the reports. The runner never imports the routing engine, the database or
the web layer; offline tests plug in stubs of these ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from contactcenter.telephony.agi.api import CallControl

QueueOutcomeKind = Literal["connected", "abandoned", "exit", "callback", "failed"]


@dataclass(frozen=True, slots=True)
class Step:
    """One node executed by the runner: what it was and what happened there."""

    flow: str
    node: str
    kind: str
    at: float  # clock epoch seconds
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueueRequest:
    """A call entering a queue, with everything the agent's screen pop needs."""

    queue: str
    priority: int
    skills: Mapping[str, int]
    data: Mapping[str, Any]
    trace: tuple[Step, ...]
    language: str
    max_wait_s: float | None = None
    call_id: str = ""
    caller_id: str | None = None
    flow: str = ""


@dataclass(frozen=True, slots=True)
class QueueOutcome:
    """How the queue engine let go of the call; after ``exit`` the flow continues."""

    kind: QueueOutcomeKind
    destination: str | None = None  # a node id of the current flow, for "exit"
    detail: str = ""


class QueuePort(Protocol):
    """The queue engine as the IVR sees it."""

    async def run(self, call: CallControl, request: QueueRequest) -> QueueOutcome:
        """Keep the call until it is connected, abandoned, leaves the queue or fails."""
        ...


@dataclass(frozen=True, slots=True)
class LookupResult:
    """A customer lookup: ``fields`` become variables ``<into>.<name>`` when found."""

    found: bool
    fields: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    error: str | None = None  # set when the source failed (timeout, HTTP error, ...)


class LookupPort(Protocol):
    """Customer lookups by source name (``customers`` = local table, ``crm`` = HTTP, ...)."""

    async def lookup(self, source: str, key: str) -> LookupResult:
        """Find ``key`` (usually a phone or account number) in ``source``."""
        ...


@dataclass(frozen=True, slots=True)
class VoiceMessage:
    """A message recorded by a ``message`` node, to be kept as an interaction."""

    call_id: str
    flow: str
    node: str
    purpose: str
    filename: str  # path without extension, as given to RECORD FILE
    format: str
    caller_id: str | None
    variables: Mapping[str, Any]
    recorded_at: float
    ended_by: str  # "digit", "timeout", "hangup"


@dataclass(frozen=True, slots=True)
class IvrResult:
    """How one IVR session ended, with its whole path."""

    call_id: str
    flow: str
    version: str
    outcome: str  # hangup | caller-hangup | queue:<kind> | transfer:<status> | fallback:<how>
    path: tuple[str, ...]
    variables: Mapping[str, Any]
    steps: tuple[Step, ...]
    error: str | None = None
    started_at: float = 0.0  # clock epoch seconds: the call reached the IVR
    ended_at: float = 0.0  # ... and the session ended (the outcome was known)
    entered_at: tuple[float, ...] = ()  # when each node of ``path`` was entered


class SessionObserver(Protocol):
    """Told of every finished IVR session (the reports keep them: docs/reports.md, IVR).

    Called on the caller's own task right after the session ended: it must return at once
    (queue the record, write it later) and must not fail the call."""

    def session_ended(self, result: IvrResult) -> None:
        """One session ended, with its whole path."""
        ...


class IvrEvents(Protocol):
    """Sink for IVR progress: screen pop, interaction log, reports."""

    async def step(self, call_id: str, step: Step) -> None:
        """A node ran."""
        ...

    async def voice_message(self, message: VoiceMessage) -> str | None:
        """A voice message was recorded; for ``purpose: callback``, what became of the
        callback request ("requested" or "refused: ..."), shown in the flow's result."""
        ...

    async def finished(self, result: IvrResult) -> None:
        """The IVR session ended."""
        ...


class CollectingEvents:
    """An ``IvrEvents`` that keeps everything in lists (offline tests, debugging)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, Step]] = []
        self.messages: list[VoiceMessage] = []
        self.results: list[IvrResult] = []

    async def step(self, call_id: str, step: Step) -> None:
        """Keep the step."""
        self.steps.append((call_id, step))

    async def voice_message(self, message: VoiceMessage) -> None:
        """Keep the message."""
        self.messages.append(message)

    async def finished(self, result: IvrResult) -> None:
        """Keep the result."""
        self.results.append(result)

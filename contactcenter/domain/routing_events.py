"""Typed events of the queue engine: every state change of an interaction or an agent.

The engine returns them, the service persists them (``persist``), forwards the ones about an
interaction to that interaction's update stream, and fans all of them out to subscribers.
``Position`` is the only one that is not a state change and is not persisted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class RoutingEvent:
    """Base: ``at`` is clock time (epoch seconds on the server's Clock)."""

    at: float
    kind: ClassVar[str] = "event"
    persist: ClassVar[bool] = True
    terminal: ClassVar[bool] = False  # last update of an interaction's stream

    def payload(self) -> dict[str, Any]:
        """Fields other than ``at``, ``interaction_id``, ``agent_id`` and ``queue``, as JSON."""
        skip = {"at", "interaction_id", "agent_id", "queue"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


@dataclass(frozen=True, slots=True)
class Entered(RoutingEvent):
    """An interaction joined a queue's line (first time, or rebuilt after a restart)."""

    interaction_id: str
    queue: str
    channel: str
    priority: int
    skills: dict[str, int]
    position: int
    callback_number: str | None = None
    kind: ClassVar[str] = "enter"


@dataclass(frozen=True, slots=True)
class Position(RoutingEvent):
    """Where a waiting interaction stands (1 = next) and its expected wait (None: unknown)."""

    interaction_id: str
    queue: str
    position: int
    ewt_s: float | None
    kind: ClassVar[str] = "position"
    persist: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Offered(RoutingEvent):
    """An agent is reserved for the interaction; the channel side should ring them now.

    For a callback (``callback_number`` set) the voice side calls the agent first, then the
    customer (see docs/routing.md).
    """

    interaction_id: str
    offer_id: str
    agent_id: str
    queue: str
    channel: str
    dial_string: str | None
    ring_timeout_s: float
    callback_number: str | None = None
    attempt: int = 0
    kind: ClassVar[str] = "offer"


@dataclass(frozen=True, slots=True)
class Ringing(RoutingEvent):
    """The agent's device is ringing for an offer."""

    interaction_id: str
    offer_id: str
    agent_id: str
    kind: ClassVar[str] = "ringing"


@dataclass(frozen=True, slots=True)
class RingNoAnswer(RoutingEvent):
    """The offer failed; the interaction is back at its place in line (or a callback retry)."""

    interaction_id: str
    offer_id: str
    agent_id: str
    reason: str
    kind: ClassVar[str] = "ring-no-answer"


@dataclass(frozen=True, slots=True)
class Connected(RoutingEvent):
    """The agent answered; ``data`` is the screen pop."""

    interaction_id: str
    offer_id: str
    agent_id: str
    queue: str
    wait_s: float
    data: dict[str, Any]
    kind: ClassVar[str] = "connect"


@dataclass(frozen=True, slots=True)
class Abandoned(RoutingEvent):
    """The customer left before being connected."""

    interaction_id: str
    queue: str
    wait_s: float
    stage: str  # "waiting" | "offered" | "scheduled"
    kind: ClassVar[str] = "abandon"
    terminal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Overflowed(RoutingEvent):
    """A queue's overflow rule moved the interaction to another queue."""

    interaction_id: str
    queue: str  # the queue it left
    to_queue: str
    reason: str = "overflow"  # "overflow" | "max-wait" | "leave-key" (a queue destination)
    kind: ClassVar[str] = "overflow"


@dataclass(frozen=True, slots=True)
class Transferred(RoutingEvent):
    """An agent sent a connected interaction to another queue, or (``to_number`` set and
    ``to_queue`` empty) blind to an outside number, which ends it (``Completed`` follows), or
    (``to_agent`` set, ``to_queue`` its own queue) to one named colleague (``Offered`` follows)."""

    interaction_id: str
    queue: str
    to_queue: str
    agent_id: str | None
    to_number: str | None = None
    to_agent: str | None = None
    kind: ClassVar[str] = "transfer"

    def payload(self) -> dict[str, Any]:
        """As every event's, with ``to_agent`` only when set (rows before it are unchanged)."""
        out: dict[str, Any] = {"to_queue": self.to_queue, "to_number": self.to_number}
        if self.to_agent is not None:
            out["to_agent"] = self.to_agent
        return out


@dataclass(frozen=True, slots=True)
class Held(RoutingEvent):
    """The agent put a connected interaction on hold (the customer hears music)."""

    interaction_id: str
    agent_id: str
    queue: str
    kind: ClassVar[str] = "hold"


@dataclass(frozen=True, slots=True)
class Unheld(RoutingEvent):
    """A hold ended (resumed, transferred or finished); ``held_s`` is how long it lasted."""

    interaction_id: str
    agent_id: str
    queue: str
    held_s: float
    kind: ClassVar[str] = "unhold"


@dataclass(frozen=True, slots=True)
class Relaxed(RoutingEvent):
    """A relaxation step lowered the skills a waiting interaction needs."""

    interaction_id: str
    queue: str
    step: int
    skills: dict[str, int]
    kind: ClassVar[str] = "relax"


@dataclass(frozen=True, slots=True)
class Exited(RoutingEvent):
    """A queue rule made the interaction leave (max-wait, leave-key, callback-failed)."""

    interaction_id: str
    queue: str
    reason: str
    destination: dict[str, str | None] | None
    kind: ClassVar[str] = "exit"
    terminal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Completed(RoutingEvent):
    """The conversation ended; the agent is in wrap-up for it."""

    interaction_id: str
    agent_id: str
    queue: str
    talk_s: float
    kind: ClassVar[str] = "complete"
    terminal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class CallbackRequested(RoutingEvent):
    """The customer asked to be called back; the interaction keeps its place."""

    interaction_id: str
    queue: str
    number: str
    kind: ClassVar[str] = "callback-request"


@dataclass(frozen=True, slots=True)
class CallbackScheduled(RoutingEvent):
    """A callback attempt failed; the next one is due at ``retry_at`` (same place in line)."""

    interaction_id: str
    queue: str
    attempt: int
    retry_at: float
    kind: ClassVar[str] = "callback-retry"


@dataclass(frozen=True, slots=True)
class AgentLoggedIn(RoutingEvent):
    """An agent logged in to (or changed) their queues."""

    agent_id: str
    queues: list[str]
    kind: ClassVar[str] = "agent-login"


@dataclass(frozen=True, slots=True)
class AgentLoggedOut(RoutingEvent):
    """An agent logged out."""

    agent_id: str
    kind: ClassVar[str] = "agent-logout"


@dataclass(frozen=True, slots=True)
class AgentPaused(RoutingEvent):
    """An agent stopped taking new offers, with a reason ("break", "no answer", ...)."""

    agent_id: str
    reason: str
    kind: ClassVar[str] = "agent-pause"


@dataclass(frozen=True, slots=True)
class AgentUnpaused(RoutingEvent):
    """An agent takes offers again."""

    agent_id: str
    kind: ClassVar[str] = "agent-unpause"


@dataclass(frozen=True, slots=True)
class WrapupDone(RoutingEvent):
    """An agent finished wrap-up of one interaction (``disposition`` None: the timer ran out)."""

    agent_id: str
    interaction_id: str
    queue: str
    disposition: str | None
    notes: str | None
    handle_s: float
    kind: ClassVar[str] = "wrapup-done"


@dataclass(frozen=True, slots=True)
class AgentStateChanged(RoutingEvent):
    """The state an agent shows (the table in routing/agent_state.py) changed."""

    agent_id: str
    state: str
    previous: str
    reason: str | None = None
    kind: ClassVar[str] = "agent-state"


EVENT_TYPES: dict[str, type[RoutingEvent]] = {
    cls.kind: cls
    for cls in (
        Entered, Position, Offered, Ringing, RingNoAnswer, Connected, Abandoned, Overflowed,
        Transferred, Held, Unheld, Relaxed, Exited, Completed, CallbackRequested,
        CallbackScheduled,
        AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentUnpaused, WrapupDone, AgentStateChanged,
    )
}

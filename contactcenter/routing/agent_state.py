"""The agent state machine, as one table.

Design note. An agent is a *presence* (logged out / available / paused) plus up to
``capacity[channel]`` *work slots* per channel (voice 1, chat 3, ticket 5 ...). Both move
through the same table below; ``step`` is the only way to change either.

Rules:
1. ``login`` / ``logout`` / ``pause`` / ``unpause`` act on the presence.
2. ``reserve`` opens a slot: only from presence AVAILABLE and with free capacity on that channel.
   ``pull`` (the agent asked for its next interaction) opens one also while PAUSED: pausing
   stops what is pushed, not what the agent asks for.
3. A slot runs RESERVED -> RINGING -> BUSY -> WRAPUP. ``release`` (offer withdrawn, customer gone,
   callback customer did not answer) and ``wrapup_done`` free it (-> AVAILABLE).
4. ``no_answer`` frees the slot *and* pauses the agent with reason "no answer".
5. Pausing does not stop work in progress; a paused agent only gets no new offers.
6. Logout is refused while a slot is reserved, ringing or busy; wrap-up slots are closed first.
7. The state an agent shows is LOGGED_OUT, else its most engaged slot
   (BUSY > RINGING > RESERVED > WRAPUP), else its presence (AVAILABLE or PAUSED).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contactcenter.domain.agent import AgentConfig, AgentState
from contactcenter.routing.errors import Conflict

LO, AV, RS, RG, BU, WU, PA = (
    AgentState.LOGGED_OUT, AgentState.AVAILABLE, AgentState.RESERVED, AgentState.RINGING,
    AgentState.BUSY, AgentState.WRAPUP, AgentState.PAUSED,
)

#   (state, event)        -> next state
TABLE: dict[tuple[AgentState, str], AgentState] = {
    # presence
    (LO, "login"): AV,
    (AV, "login"): AV,  # re-login changes the queue list only
    (PA, "login"): PA,
    (AV, "logout"): LO,
    (PA, "logout"): LO,
    (AV, "pause"): PA,
    (PA, "pause"): PA,  # new reason
    (PA, "unpause"): AV,
    # one work slot
    (AV, "reserve"): RS,
    (AV, "pull"): RS,
    (PA, "pull"): RS,
    (RS, "ring"): RG,
    (RS, "answer"): BU,  # chat / ticket accepted without a ringing phase
    (RG, "answer"): BU,
    (RS, "release"): AV,
    (RG, "release"): AV,
    (RS, "no_answer"): PA,
    (RG, "no_answer"): PA,
    (BU, "complete"): WU,
    (BU, "transfer"): WU,
    (WU, "wrapup_done"): AV,
}

_ENGAGEMENT = {BU: 4, RG: 3, RS: 2, WU: 1}


class IllegalTransition(Conflict):
    """The table has no row for this (state, event)."""

    def __init__(self, state: AgentState, event: str) -> None:
        super().__init__(f"agent cannot {event!r} while {state.value}")
        self.state = state
        self.event = event


def step(state: AgentState, event: str) -> AgentState:
    """Next state per ``TABLE``, or ``IllegalTransition``."""
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


@dataclass(slots=True)
class Slot:
    """One unit of an agent's capacity in use."""

    interaction_id: str
    channel: str
    queue: str
    offer_id: str
    state: AgentState
    since: float
    connected_at: float | None = None


@dataclass(slots=True, eq=False)
class AgentRuntime:
    """An agent's live state inside the engine."""

    config: AgentConfig
    order: int  # position in the configuration, for round robin and stable tie-breaks
    presence: AgentState = AgentState.LOGGED_OUT
    pause_reason: str | None = None
    queues: tuple[str, ...] = ()
    slots: dict[str, Slot] = field(default_factory=dict)  # by offer id
    used: dict[str, int] = field(default_factory=dict)  # slots per channel
    answered_today: int = 0
    day: int = 0
    shown: AgentState = AgentState.LOGGED_OUT
    eligible_cache: dict[str, tuple[int, list]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The agent's id."""
        return self.config.id

    def ready_for(self, channel: str) -> bool:
        """True when the agent can take one more offer on ``channel`` now."""
        return (
            self.presence is AgentState.AVAILABLE
            and self.used.get(channel, 0) < self.config.capacity.get(channel, 0)
        )

    def shown_state(self) -> AgentState:
        """The single state the agent shows (rule 7)."""
        if self.presence is AgentState.LOGGED_OUT:
            return AgentState.LOGGED_OUT
        best: AgentState | None = None
        for slot in self.slots.values():
            if best is None or _ENGAGEMENT[slot.state] > _ENGAGEMENT[best]:
                best = slot.state
        return best if best is not None else self.presence

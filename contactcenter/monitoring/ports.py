"""What recording and monitoring need from the rest of the server, as small typed ports.

(They live in monitoring/, the lower of the two packages, so both may import them.)
``AmiPort`` is the slice of the AMI client these services call; ``LiveCall`` is the queue
engine's "connected" event as these services take it (the composition root adapts);
``ActorLike`` is whatever the auth layer calls the acting user. The AMI header builders below
are thin names over ``telephony.ami.actions`` (which refuses CR, LF and NUL in every value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from contactcenter.telephony.ami import actions

Headers = list[tuple[str, str]]


class AmiPort(Protocol):
    """Send one AMI action and get its response (raises on ``Response: Error``)."""

    async def send_action(self, headers: Headers, timeout: float = 5.0) -> Any: ...


class ActorLike(Protocol):
    """The acting user: a role in {agent, supervisor, admin} and, for agents, their agent id."""

    role: str
    agent_id: str | None
    user_id: Any


def actor_name(actor: Any) -> str:
    """A stable label for audit rows: the username when there is one, else ``user:<id>``."""
    name = getattr(actor, "username", None)
    return str(name) if name else f"user:{getattr(actor, 'user_id', '?')}"


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call connected to an agent, as published by the queue engine."""

    interaction_id: str
    agent_id: str
    queue: str
    caller_id: str | None
    agent_channel: str
    caller_channel: str
    pbx: str
    started_at: float  # epoch seconds (clock time)


# No ``MixMonitor`` builder here on purpose: that AMI action needs the ``system`` write class,
# which our AMI user lacks; recordings start in the call (AGI ``EXEC MixMonitor``).
def mixmonitor_mute(channel: str, muted: bool, direction: str = "both") -> Headers:
    """``MixMonitorMute`` (``call`` class): State 1 mutes (silence is written), 0 unmutes."""
    return actions.MixMonitorMute(channel, muted, direction)


def hangup(channel: str, cause: int | None = None) -> Headers:
    """``Hangup`` of one channel (name or uniqueid)."""
    return actions.Hangup(channel, cause)


def originate_application(
    channel: str,
    application: str,
    data: str,
    caller_id: str | None = None,
    channel_id: str | None = None,
    other_channel_id: str | None = None,
    timeout_ms: int = 30000,
    action_id: str | None = None,
) -> Headers:
    """Async ``Originate`` of ``channel`` into an application (never chosen by user input)."""
    return actions.Originate(
        channel, application=application, data=data, caller_id=caller_id, timeout_ms=timeout_ms,
        channel_id=channel_id, other_channel_id=other_channel_id, action_id=action_id,
    )

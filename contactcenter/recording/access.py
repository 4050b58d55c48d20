"""Who may hear a stored recording: supervisors and admins; an agent only their own, if allowed."""

from __future__ import annotations

from typing import Any

from contactcenter.recording.index import Recording
from contactcenter.recording.policy import PolicyBook


def may_access(actor: Any, rec: Recording, policies: PolicyBook) -> bool:
    """True when ``actor`` may list, read or download ``rec``."""
    role = getattr(actor, "role", None)
    if role in ("supervisor", "admin"):
        return True
    if role == "agent":
        agent_id = getattr(actor, "agent_id", None)
        return (
            agent_id is not None
            and rec.agent_id == agent_id
            and policies.for_queue(rec.queue).agent_access
        )
    return False

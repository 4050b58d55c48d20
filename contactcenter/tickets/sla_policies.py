"""Which SLA policy a ticket falls under, and what its messages and changes do to its clocks.

Design note: the arithmetic stays in ``sla.py`` (pure); this module reads a ticket's row (and
its custom field values, in the caller's session) into the facts a policy's conditions look
at (``settings.SlaSubject``), and stores what ``sla.py`` returns with ``put_clocks``, inside the
use case's transaction. A policy is chosen when the ticket is made and again whenever a fact
it can depend on changes (queue, priority, tags, type, custom fields): the first policy that
matches wins; when that gives other targets, the running ones are re-targeted
(``sla.retarget``) and the change is in the ticket's history (field ``sla_policy``). A ticket
no policy matches any more keeps the clocks it has.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets import sla
from contactcenter.tickets.model import SLA_PAUSED, NewTicket, Status
from contactcenter.tickets.settings import SlaSettings, SlaSubject, SlaTargets
from contactcenter.tickets.store import clocks_of, put_clocks
from contactcenter.tickets.tables import TicketFieldValueRow, TicketRow


def subject_of_new(new: NewTicket) -> SlaSubject:
    """The facts of a ticket being made (no type, no field values yet)."""
    return SlaSubject(new.queue, new.priority.value, new.origin.value, None, tuple(new.tags))


async def subject_in(s: AsyncSession, row: TicketRow) -> SlaSubject:
    """The facts of a stored ticket, with its custom field values as text."""
    values = (await s.execute(sa.select(TicketFieldValueRow.key, TicketFieldValueRow.text)
                              .where(TicketFieldValueRow.ticket_id == row.id))).all()
    return SlaSubject(row.queue, row.priority, row.origin, row.ticket_type,
                      tuple(row.tags or ()), {k: v for k, v in values})


def start(row: TicketRow, settings: SlaSettings, bt: sla.BusinessTime,
          subject: SlaSubject, now: float) -> bool:
    """Start the clocks of a new ticket under the first policy that matches (False: none)."""
    policy = settings.policy_for(subject)
    if policy is None:
        return False
    put_clocks(row, sla.start(policy.name, policy.targets_for(subject.priority), bt, now,
                              settings.warn_at))
    return True


async def reconsider_in(s: AsyncSession, row: TicketRow, settings: SlaSettings,
                        bt: sla.BusinessTime, old_priority: str, now: float
                        ) -> tuple[str | None, str] | None:
    """Choose the ticket's policy again after a change; re-target its clocks when the policy
    or its targets differ. Returns (old policy, new policy) when the clocks changed."""
    if not settings.policies:
        return None
    policy = settings.policy_for(await subject_in(s, row))
    if policy is None:
        return None
    clocks = clocks_of(row)
    new = policy.targets_for(row.priority)
    if clocks.policy is None:
        # A ticket no policy matched so far: its clocks start from its creation.
        old = SlaTargets()
        paused = now if Status(row.status) in SLA_PAUSED else None
        clocks = sla.SlaClocks(paused_at=paused)
    else:
        before = settings.policy(clocks.policy)
        # A policy gone from the settings: its targets are unknown, keep the due times' base.
        old = before.targets_for(old_priority) if before is not None else new
        if clocks.policy == policy.name and old == new:
            return None
    put_clocks(row, sla.retarget(clocks, policy.name, old, new, bt, row.created_at,
                                 settings.warn_at))
    return (clocks.policy, policy.name)


def customer_wrote(row: TicketRow, settings: SlaSettings, bt: sla.BusinessTime,
                   now: float) -> bool:
    """A customer's message came: start the next-response clock if it applies."""
    policy = settings.policy(row.sla_policy)
    if policy is None:
        return False
    clocks = clocks_of(row)
    after = sla.customer_replied(clocks, policy.targets_for(row.priority), bt, now,
                                 settings.warn_at)
    if after == clocks:
        return False
    put_clocks(row, after)
    return True


def agent_replied(row: TicketRow, now: float) -> bool:
    """A public reply of ours: the first or the running next response is met."""
    clocks = clocks_of(row)
    after = sla.respond(clocks, now)
    if after == clocks:
        return False
    put_clocks(row, after)
    return True

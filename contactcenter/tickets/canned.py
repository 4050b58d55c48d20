"""Canned answers for ticket replies: shared ones (supervisors and admins keep them) and each
user's own, with placeholders the server fills for the ticket at hand.

Design note: the text rules (shortcut form, placeholder check at save, one-pass filling) are
the chat's too and live below the channels (``common/canned_text.py``); what is the tickets'
own is who owns an answer (``owner`` empty: shared) and the placeholders a ticket has. A
user's own answer shadows a shared one of the same shortcut in their list.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contactcenter.common.canned_text import SHORTCUT_RULE, check_text, clean_shortcut, fill
from contactcenter.tickets.fields import FieldRefused
from contactcenter.tickets.model import (
    Ticket,
    TicketConflict,
    TicketForbidden,
    TicketNotFound,
)
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.tables import TicketCannedRow

PLACEHOLDERS = ("requester_name", "requester_email", "ticket_number", "subject", "queue",
                "agent_name")


@dataclass(frozen=True, slots=True)
class CannedAnswer:
    """One saved answer; ``owner`` empty: shared."""

    id: str
    owner: str
    shortcut: str
    text: str
    updated_at: float
    updated_by: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "shared": not self.owner, "shortcut": self.shortcut,
                "text": self.text, "updated_at": self.updated_at,
                "updated_by": self.updated_by}


def _of(row: TicketCannedRow) -> CannedAnswer:
    return CannedAnswer(row.id, row.owner, row.shortcut, row.text, row.updated_at,
                        row.updated_by)


def values_for(ticket: Ticket, agent_name: str) -> dict[str, str]:
    """What each placeholder stands for on ``ticket``."""
    requester = ticket.requester
    return {"requester_name": requester.name or requester.email or "",
            "requester_email": requester.email or "", "ticket_number": str(ticket.id),
            "subject": ticket.subject, "queue": ticket.queue, "agent_name": agent_name}


class CannedAnswers:
    """Reads and writes ``ticket_canned_answers``; ``agent_name`` names an agent id."""

    def __init__(self, service: TicketService,
                 agent_name: Callable[[str], str | None] = lambda _id: None) -> None:
        self.service = service
        self.agent_name = agent_name

    async def listing(self, who: Who) -> list[CannedAnswer]:
        """The shared answers and ``who``'s own (theirs first where shortcuts meet)."""
        async with self.service.store.session() as s:
            rows = (await s.execute(sa.select(TicketCannedRow).where(
                TicketCannedRow.owner.in_(["", who.name])))).scalars().all()
        own = {r.shortcut for r in rows if r.owner}
        kept = [_of(r) for r in rows if r.owner or r.shortcut not in own]
        return sorted(kept, key=lambda a: (a.shortcut, a.owner == ""))

    async def for_ticket(self, ticket_id: int, who: Who) -> list[dict[str, Any]]:
        """``who``'s answers with their placeholders filled for the ticket."""
        ticket = await self.service.ticket(ticket_id, who)
        name = (self.agent_name(who.agent_id) if who.agent_id else None) or who.name
        values = values_for(ticket, name)
        return [{**a.as_json(), "filled": fill(a.text, values)}
                for a in await self.listing(who)]

    async def save(self, who: Who, body: Mapping[str, Any], answer_id: str | None = None
                   ) -> CannedAnswer:
        """Create or replace an answer: ``shared`` ones staff only, one's own anyone."""
        shortcut = clean_shortcut(body.get("shortcut"))
        if shortcut is None:
            raise FieldRefused(f"shortcut: {SHORTCUT_RULE}")
        text, why = check_text(body.get("text"), PLACEHOLDERS)
        if why is not None:
            raise FieldRefused(f"text: {why}")
        shared = bool(body.get("shared", False))
        if shared and not who.staff:
            raise TicketForbidden("only supervisors and admins keep shared answers")
        owner = "" if shared else who.name
        now = self.service.clock.time()
        try:
            async with self.service.store.session() as s, s.begin():
                if answer_id is None:
                    answer_id = uuid.uuid4().hex
                    row = TicketCannedRow(id=answer_id)
                    s.add(row)
                else:
                    found = await s.get(TicketCannedRow, answer_id)
                    if found is None or not _may_change(found, who):
                        raise TicketNotFound(f"no canned answer {answer_id}")
                    row = found
                row.owner, row.shortcut, row.text = owner, shortcut, text
                row.updated_at, row.updated_by = now, who.name[:200]
                await s.flush()
                answer = _of(row)
        except IntegrityError:
            raise TicketConflict(f"/{shortcut} is taken among "
                                 f"{'the shared answers' if shared else 'your answers'}"
                                 ) from None
        return answer

    async def delete(self, who: Who, answer_id: str) -> None:
        async with self.service.store.session() as s, s.begin():
            row = await s.get(TicketCannedRow, answer_id)
            if row is None or not _may_change(row, who):
                raise TicketNotFound(f"no canned answer {answer_id}")
            await s.delete(row)


def _may_change(row: TicketCannedRow, who: Who) -> bool:
    """Shared answers: staff; one's own: its owner (others' own answers do not exist)."""
    return who.staff if not row.owner else row.owner == who.name

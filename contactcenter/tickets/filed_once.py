"""A ticket filed at most once per outside message (a voice message, a chat message left).

The message's key is the unique ``ticket_calls.message_key`` written in the same transaction as
the ticket: a replay, a restart or two servers told the same message at once find the ticket
already there, or lose the race on the unique key and read the winner's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contactcenter.tickets.model import Ticket
from contactcenter.tickets.service import Effects, TicketService
from contactcenter.tickets.store import ticket_of
from contactcenter.tickets.tables import TicketCallRow, TicketRow

# Writes the ticket and its ``TicketCallRow`` (with the key) in the session given; returns it.
Build = Callable[[Any, Effects], Awaitable[Ticket]]


async def ticket_for_key(s: Any, key: str) -> Ticket | None:
    """The ticket filed for ``key``, if any."""
    found = (await s.execute(sa.select(TicketCallRow.ticket_id)
                             .where(TicketCallRow.message_key == key))).scalar_one_or_none()
    if found is None:
        return None
    row = await s.get(TicketRow, found)
    return None if row is None else ticket_of(row)


async def file_once(service: TicketService, key: str, build: Build
                    ) -> tuple[Ticket | None, bool]:
    """The ticket for ``key``, built now if none was: (ticket, whether this call filed it)."""
    effects = Effects()
    try:
        async with service.lock, service.store.session() as s, s.begin():
            found = await ticket_for_key(s, key)
            if found is not None:
                return found, False
            ticket = await build(s, effects)
            await s.flush()  # the unique key is checked here, inside the transaction
    except IntegrityError:
        # Filed meanwhile by another transaction (another server, a replay): that one wins.
        async with service.store.session() as s:
            return await ticket_for_key(s, key), False
    await service.run(effects)
    return ticket, True

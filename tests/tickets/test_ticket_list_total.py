"""A list's total is exact up to ``COUNT_MAX`` and says "more" past it (``tickets/store.py``):
an exact count of a million tickets, or of a frequent word's matches, cost more than the page
(``bench/tickets.py``). The cap is lowered here so that a few tickets pass it."""

from __future__ import annotations

from contactcenter.domain.clock import Clock
from contactcenter.tickets import store as ticket_store
from contactcenter.tickets.model import NewTicket, Origin, Requester
from contactcenter.tickets.service import SYSTEM, TicketService
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import TicketQuery, TicketStore


async def test_the_total_is_exact_up_to_the_cap_then_one_past_it(database, monkeypatch):
    service = TicketService(TicketSettings(queue="email"), TicketStore(database), Clock())
    for n in range(5):
        await service.create(NewTicket(f"Printer {n}", Origin.API, "email",
                                       Requester("zoe@customer.test", "Zoe")), SYSTEM)
    monkeypatch.setattr(ticket_store, "COUNT_MAX", 3)
    found, total = await service.store.query(TicketQuery(limit=2))
    assert len(found) == 2 and total == 4  # past the cap: COUNT_MAX + 1, "more"
    found, total = await service.store.query(TicketQuery(text="Printer 1"))
    assert [t.subject for t in found] == ["Printer 1"] and total == 1
    monkeypatch.setattr(ticket_store, "COUNT_MAX", 5)
    assert (await service.store.query(TicketQuery(limit=2)))[1] == 5  # exact up to the cap

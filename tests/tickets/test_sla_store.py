"""SLA clocks, the escalation sweep and CSAT answers on each database (SQLite, and PostgreSQL
when CC_TEST_POSTGRES_URL is set): stored due times, the sweep's query and index column,
each stage once, the overdue list, the survey queued on solve, one answer per ticket."""

from __future__ import annotations

import asyncio

from tickets_floor import SUPPORT, T

from contactcenter.domain.clock import Clock
from contactcenter.tickets import csat
from contactcenter.tickets.csat_routes import RatingPage
from contactcenter.tickets.escalation import SlaSweeper
from contactcenter.tickets.model import NewTicket, Origin, Requester, Status, TicketChanges
from contactcenter.tickets.service import SYSTEM, TicketService
from contactcenter.tickets.settings import (
    CsatSettings,
    MailboxSettings,
    SlaPolicy,
    SlaSettings,
    TicketSettings,
)
from contactcenter.tickets.store import TicketQuery, TicketStore

SECRET = "a secret of sixteen or more"


async def test_clocks_sweep_and_ratings_on_each_database(database):
    clock = Clock()
    settings = TicketSettings(
        queue="email", mailboxes=[MailboxSettings(address=SUPPORT, name="S", queue="email")],
        sla=SlaSettings(policies=[SlaPolicy(name="tiny", first_response_s=0.05,
                                            resolution_s=3600)]),
        csat=CsatSettings(enabled=True, secret=SECRET, public_url="https://cc.test"))
    store = TicketStore(database)
    service = TicketService(settings, store, clock)
    service.queues = lambda: {"email"}
    sweeper = SlaSweeper(service, clock)
    ticket = await service.create(NewTicket(
        "Slow", Origin.API, "email", Requester("ann@customer.test", "Ann")), SYSTEM)
    assert ticket.sla.policy == "tiny" and ticket.sla.first_response_due is not None
    assert await store.sla_next() == ticket.sla.first_response_warn

    async with asyncio.timeout(T):
        while clock.time() <= ticket.sla.first_response_due:
            await asyncio.sleep(0.01)
    assert await sweeper.sweep() == 1  # the breach alone: its warning passed meanwhile
    assert await sweeper.sweep() == 0 and await store.sla_due(clock.time()) == []
    after = await store.get(ticket.id)
    assert after is not None and after.priority.value == "high"
    assert after.sla.marks == ("first_response:breach", "first_response:warning")
    assert await store.sla_next() == after.sla.resolution_warn
    overdue, _ = await store.query(TicketQuery(overdue_at=clock.time()))
    assert [t.id for t in overdue] == [ticket.id]

    # Pending: nothing left for the sweep; solved: the survey is queued once.
    await service.update(ticket.id, TicketChanges(status=Status.PENDING), SYSTEM)
    assert await store.sla_next() is None
    assert (await store.query(TicketQuery(overdue_at=clock.time())))[0] == []
    await service.update(ticket.id, TicketChanges(status=Status.SOLVED), SYSTEM)
    surveys = [m for m in await store.mails(ticket_id=ticket.id) if m.kind == "csat"]
    assert len(surveys) == 1 and surveys[0].automatic

    survey = csat.verify(SECRET, csat.sign(SECRET, ticket.id, clock.time()))
    assert survey is not None
    page = RatingPage(service)
    assert await page.answer(survey, 4, "")
    assert not await page.answer(survey, 1, "Too slow.")  # the first answer stands
    rating = await store.rating(ticket.id)
    assert rating is not None
    assert (rating["rating"], rating["comment"]) == (4, "")
    history = [h for h in await store.history(ticket.id) if h.field == "csat"]
    assert [h.new["rating"] for h in history] == [4]

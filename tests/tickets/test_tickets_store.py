"""The tickets' use cases on both databases (SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL
is set): mail filed and threaded, the per-address budget counted in SQL, search, history,
the customer link, assignment through a real queue engine. The mails here are handed to the
mailroom directly; the SMTP wire is test_email_flow.py's."""

from __future__ import annotations

import sqlalchemy as sa
from tickets_floor import AGENTS, QUEUES, SUPPORT, mail

from contactcenter.domain.clock import Clock
from contactcenter.routing.config_loader import load_routing_config_text
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService
from contactcenter.storage.tables import CustomerRow
from contactcenter.tickets.assignment import TicketRouting
from contactcenter.tickets.inbound import Mailroom, ReceivedMail
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.settings import MailboxSettings, TicketSettings
from contactcenter.tickets.store import TicketQuery, TicketStore


async def test_mail_threading_search_budget_and_routing_on_each_database(database):
    async with database.session() as s, s.begin():
        s.add(CustomerRow(phone="+3312345", name="Ann", email="ann@customer.test"))
    clock = Clock()
    config = load_routing_config_text(QUEUES.format(ring=30), AGENTS.format(capacity=1))
    routing = RoutingService(config, clock, InteractionLog(database))
    await routing.start()
    settings = TicketSettings(queue="email", auto_answers_per_sender=1, mailboxes=[
        MailboxSettings(address=SUPPORT, name="Support", queue="email")])
    store = TicketStore(database)
    service = TicketService(settings, store, clock)
    glue = TicketRouting(service, routing)
    await glue.start()
    room = Mailroom(service)
    try:
        await routing.agent_login("a1")

        def received(msg) -> ReceivedMail:
            return ReceivedMail("ann@customer.test", (SUPPORT,), msg.as_bytes())

        first = await room.receive(received(mail("100% broken_thing", "It broke.",
                                                 message_id="<m1@customer.test>")))
        assert (first.status, first.acknowledged) == ("new-ticket", True)
        second = await room.receive(received(mail("Another one", "Also this.")))
        assert (second.status, second.acknowledged) == ("new-ticket", False)  # budget: 1
        reply = await room.receive(received(mail("Re: x", "More.\n> It broke.",
                                                 in_reply_to="<m1@customer.test>")))
        assert (reply.status, reply.ticket_id) == ("reply", first.ticket_id)
        again = await room.receive(received(mail("100% broken_thing", "It broke.",
                                                 message_id="<m1@customer.test>")))
        assert again.status == "duplicate"

        await glue.settled()
        ticket = await store.get(first.ticket_id)
        assert ticket.requester.customer_id is not None  # found by customers.email
        assert ticket.assignee == "a1"  # capacity 1: the second one waits
        assert (await store.get(second.ticket_id)).assignee is None
        # LIKE wildcards in a search are literal; a number finds its ticket.
        found, total = await store.query(TicketQuery(text="100%"))
        assert [t.id for t in found] == [first.ticket_id] and total == 1
        assert (await store.query(TicketQuery(text="_"))) [1] == 1
        found, _ = await store.query(TicketQuery(text=str(second.ticket_id)))
        assert second.ticket_id in [t.id for t in found]
        history = await store.history(first.ticket_id)
        assert [h.field for h in history] == ["created", "assignee", "status", "customer-reply"]
        async with database.session() as s:
            raw = (await s.execute(sa.text("select count(*) from ticket_mails"))).scalar_one()
        assert raw == 4  # three mails in (the duplicate is not stored twice), one ack out
    finally:
        await glue.close()
        await routing.stop()

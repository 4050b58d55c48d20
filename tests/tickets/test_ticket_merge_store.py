"""Merge, split and the hand-back of an agent's tickets on each database (SQLite, and
PostgreSQL when CC_TEST_POSTGRES_URL is set): rows moved under the tickets' locks, mail to a
merged ticket threaded to the other, a logout through a real queue engine."""

from __future__ import annotations

import sqlalchemy as sa
from tickets_floor import AGENTS, QUEUES, SUPPORT, mail

from contactcenter.domain.clock import Clock
from contactcenter.routing.config_loader import load_routing_config_text
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.routing.service import RoutingService
from contactcenter.tickets.assignment import TicketRouting
from contactcenter.tickets.inbound import Mailroom, ReceivedMail
from contactcenter.tickets.merge import TicketMerger
from contactcenter.tickets.model import Status
from contactcenter.tickets.reassign import TicketReassigner
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.settings import MailboxSettings, TicketSettings
from contactcenter.tickets.store import TicketStore
from contactcenter.tickets.tables import TicketFollowerRow

ALICE = Who("alice", "a1")


async def test_merge_split_and_hand_back_on_each_database(database):
    clock = Clock()
    config = load_routing_config_text(QUEUES.format(ring=30), AGENTS.format(capacity=3))
    routing = RoutingService(config, clock, InteractionLog(database))
    await routing.start()
    settings = TicketSettings(queue="email", mailboxes=[
        MailboxSettings(address=SUPPORT, name="Support", queue="email")])
    store = TicketStore(database)
    service = TicketService(settings, store, clock)
    glue = TicketRouting(service, routing)
    await glue.start()
    routing.release_work["ticket"] = TicketReassigner(glue).release
    room = Mailroom(service)
    merger = TicketMerger(service)
    try:
        await routing.agent_login("a1")

        def received(msg) -> ReceivedMail:
            return ReceivedMail("ann@customer.test", (SUPPORT,), msg.as_bytes())

        target = (await room.receive(received(mail("A", "First.", message_id="<a@c.test>"))))
        source = (await room.receive(received(mail("B", "Second.", message_id="<b@c.test>"))))
        await glue.settled()
        async with database.session() as s, s.begin():  # one follower on both: kept once
            for ticket_id, who in ((source.ticket_id, "cc@c.test"), (source.ticket_id, "a2"),
                                   (target.ticket_id, "a2")):
                s.add(TicketFollowerRow(ticket_id=ticket_id, follower=who, added_at=1.0,
                                        kind="email" if "@" in who else "agent",
                                        added_by="alice"))
        await merger.merge(source.ticket_id, target.ticket_id, ALICE, notify=True)
        async with database.session() as s:
            followers = (await s.execute(sa.select(
                TicketFollowerRow.ticket_id, TicketFollowerRow.follower))).all()
        assert sorted(followers) == [(target.ticket_id, "a2"), (target.ticket_id, "cc@c.test")]
        assert [a.body_text for a in await store.articles(target.ticket_id)][:2] == [
            "First.", "Second."]
        merged = await store.get(source.ticket_id)
        assert merged.status is Status.CLOSED
        assert (await merger.links(target.ticket_id))["merged_from"] == [source.ticket_id]
        reply = await room.receive(received(mail("Re: B", "More.", in_reply_to="<b@c.test>")))
        assert (reply.status, reply.ticket_id) == ("reply", target.ticket_id)
        numbered = await room.receive(received(mail(f"[Ticket#{source.ticket_id}] x", "Hi.")))
        assert numbered.ticket_id == target.ticket_id

        first = (await store.articles(target.ticket_id))[0]
        split = await merger.split(target.ticket_id, [first.id], ALICE, "First again")
        assert split.assignee == "a1"
        assert [a.body_text for a in await store.articles(split.id)] == ["First."]
        assert (await merger.links(split.id))["split_from"] == target.ticket_id

        # A logout hands the open ticket back; it waits in line again, unassigned.
        await routing.agent_logout("a1")
        back = await store.get(target.ticket_id)
        assert back.assignee is None and back.interaction_id is not None
        assert (await store.history(target.ticket_id))[-2].field == "reassigned"
    finally:
        await glue.close()
        await routing.stop()

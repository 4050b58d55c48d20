"""Chat messages as tickets on both databases (SQLite, and PostgreSQL when
CC_TEST_POSTGRES_URL is set): two servers told the same message at once file one ticket, with
the requester from the pre-chat answers. The path over sockets (widget -> message -> ticket)
is tests/chat/test_chat_leave_message.py."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from contactcenter.chat.model import Answer
from contactcenter.chat.offline import new_message
from contactcenter.domain.clock import Clock
from contactcenter.tickets.from_chat import ChatTickets
from contactcenter.tickets.model import Origin
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import TicketStore
from contactcenter.tickets.tables import TicketCallRow, TicketRow


def server(database) -> ChatTickets:
    """One server's tickets service (its own lock, as another process would have)."""
    return ChatTickets(TicketService(TicketSettings(queue="support"), TicketStore(database),
                                     Clock()))


async def test_two_servers_told_the_same_chat_message_file_one_ticket(database):
    one, two = server(database), server(database)
    msg = new_message(channel="site", queue="web", visitor_id="v-1", visitor_name="Olga",
                      answers=(Answer("name", "Your name", "Olga"),
                               Answer("email", "Email", "Olga@Example.com")),
                      text="Please call me back", page="https://shop.example/",
                      reason="closed", created_at=1.0)
    first, second = await asyncio.gather(one.message_left(msg), two.message_left(msg))
    assert first is not None and second is not None and first.id == second.id
    assert first.origin is Origin.CHAT and first.subject == "Chat message from Olga"
    assert (first.requester.email, first.requester.name) == ("olga@example.com", "Olga")
    async with database.session() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(TicketRow)) == 1
        assert await s.scalar(sa.select(sa.func.count()).select_from(TicketCallRow)) == 1
    articles = await one.service.store.articles(first.id)
    assert (articles[0].visibility, articles[0].body_text) == ("public", "Please call me back")
    note = [a.body_text for a in articles if a.visibility == "internal"]
    assert "Email: Olga@Example.com" in note[0] and "'site' (closed)" in note[0]

"""Voice messages as tickets on both databases (SQLite, and PostgreSQL when
CC_TEST_POSTGRES_URL is set): two servers told the same message at once file one ticket, a
callback message files none, and a message file outside ``ivr.messages_dir`` is never served.
The end-to-end path (simulated PBX -> FastAGI -> ticket -> HTTP) is
tests/e2e/test_voice_tickets_e2e.py."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from contactcenter.domain.clock import Clock
from contactcenter.ivr.ports import VoiceMessage
from contactcenter.storage.tables import CustomerRow
from contactcenter.tickets.from_voice import VoiceTickets
from contactcenter.tickets.model import Origin, TicketNotFound
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import TicketStore
from contactcenter.tickets.tables import TicketCallRow, TicketRow

STAFF = Who("sue", staff=True)


def message(folder, call_id: str = "1700000000.42", purpose: str = "voicemail",
            name: str | None = None) -> VoiceMessage:
    filename = str(folder / (name or f"{call_id}-vm"))
    return VoiceMessage(call_id, "vm", "vm", purpose, filename, "wav", "5551234",
                        {"lang": "en", "customer.found": True}, 1.0, "digit")


def server(database, folder) -> VoiceTickets:
    """One server's tickets service (its own lock, as another process would have)."""
    service = TicketService(TicketSettings(queue="support"), TicketStore(database), Clock())
    return VoiceTickets(service, str(folder), audit=None)


async def test_two_servers_told_the_same_message_file_one_ticket(database, tmp_path):
    async with database.session() as s, s.begin():
        s.add(CustomerRow(phone="5551234", name="Ann Lee"))
    one, two = server(database, tmp_path), server(database, tmp_path)
    msg = message(tmp_path)
    first, second = await asyncio.gather(one.message_left(msg), two.message_left(msg))
    assert first is not None and second is not None and first.id == second.id
    assert first.origin is Origin.VOICEMAIL and first.requester.customer_id is not None
    assert first.subject == "Voice message from Ann Lee (vm)"
    async with database.session() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(TicketRow)) == 1
        assert await s.scalar(sa.select(sa.func.count()).select_from(TicketCallRow)) == 1
    note = [a for a in await one.service.store.articles(first.id) if a.visibility == "internal"]
    assert "customer.found: True" in note[0].body_text and "lang: en" in note[0].body_text

    assert await one.message_left(message(tmp_path, "1700000000.43", "callback")) is None
    async with database.session() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(TicketRow)) == 1


@pytest.mark.parametrize("where", ["outside", "link"])
async def test_a_message_file_outside_the_messages_folder_is_not_served(database, tmp_path,
                                                                         where):
    messages, elsewhere = tmp_path / "messages", tmp_path / "secret"
    messages.mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.wav").write_bytes(b"RIFF")
    if where == "link":  # a link inside the folder to a file outside it
        (messages / "x.wav").symlink_to(elsewhere / "x.wav")
        folder = messages
    else:
        folder = elsewhere
    tickets = server(database, messages)
    ticket = await tickets.message_left(message(folder, name="x"))
    assert ticket is not None
    (link,) = await tickets.links(ticket.id, STAFF, actor=None)
    with pytest.raises(TicketNotFound):
        await tickets.audio(ticket.id, link.id, STAFF)
    # The same message in the folder itself is served.
    (messages / "ok.wav").write_bytes(b"RIFF")
    good = await tickets.message_left(message(messages, "1700000000.44", name="ok"))
    assert good is not None
    (link,) = await tickets.links(good.id, STAFF, actor=None)
    assert await tickets.audio(good.id, link.id, STAFF) == (messages / "ok.wav").resolve()

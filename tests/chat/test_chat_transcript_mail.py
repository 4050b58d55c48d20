"""The transcript by email over real sockets: a visitor whose chat ended asks for it; it goes
out through the tickets' outbox to a real SMTP server on loopback (aiosmtpd, the tickets
tests' relay), marked ``Auto-Submitted: auto-generated``, without the supervisor's private
note; only the chat's visitor may ask, only once it ended, a few times per chat; a server with
no outbound mail does not offer it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from chat_floor import ChatFloor, Visitor, chat_floor, chat_settings, free_port

from contactcenter.app import ContactCenter
from contactcenter.domain.clock import Clock
from contactcenter.tickets.settings import MailboxSettings, SmtpSettings, TicketSettings

# The tickets tests' SMTP relay (aiosmtpd on loopback), reused rather than copied.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tickets"))
from tickets_floor import Relay

SUPPORT = "support@example.com"


@contextlib.asynccontextmanager
async def mailing_floor(tmp_path: Path, **chat: Any) -> AsyncIterator[tuple[ChatFloor, Relay]]:
    """The chat floor with the tickets' outbound SMTP pointed at a relay on loopback."""
    relay = Relay()
    await relay.start()
    port = free_port()
    settings = replace(chat_settings(tmp_path, port=port, **chat), tickets=TicketSettings(
        queue="web", mailboxes=[MailboxSettings(address=SUPPORT, name="Shop Support",
                                                queue="web")],
        smtp=SmtpSettings(host="127.0.0.1", port=relay.port, starttls=False, retry_s=0.05,
                          max_attempts=2, timeout_s=5)))
    clock = Clock()
    server = ContactCenter(settings, clock=clock, upgrade_schema=True)
    await server.start()
    floor = ChatFloor(settings, clock, server, port)
    try:
        yield floor, relay
    finally:
        for http in floor.clients:
            await http.close()
        await floor.server.stop()
        await relay.close()


async def ask(v: Visitor, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with v.http.post(f"{v.base}/transcript", json=body) as r:
        return r.status, await r.json()


async def config(v: Visitor) -> dict[str, Any]:
    async with v.http.get(f"{v.base}/config") as r:
        return await r.json()


async def test_an_ended_chat_is_mailed_to_its_visitor_through_the_outbox(tmp_path):
    async with mailing_floor(tmp_path) as (floor, relay):
        alice = await floor.agent("alice", "a1")
        sue = await floor.agent("sue", None, login=False, role="supervisor")
        v = floor.visitor()
        assert (await config(v))["transcript_mail"] is True
        status, _ = await v.start({"name": "Vera", "email": "vera@example.com"})
        assert status == 201
        cid = v.conversation_id
        await v.connect()
        await alice.post(f"/api/chat/conversations/{cid}/accept", {})
        await v.active()
        await v.say("Where is my parcel?", client_id="c1")
        await v.frame(lambda f: f["type"] == "ack")
        await sue.post(f"/api/chat/conversations/{cid}/note", {"text": "offer a voucher"})
        await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": "It ships today."})
        await v.frame(lambda f: f["type"] == "message" and f["from"] == "agent")

        asking = {"conversation_id": cid, "token": v.token, "email": "vera@example.com"}
        status, body = await ask(v, asking)
        assert status == 409, body  # not ended yet
        await v.ws.send_json({"type": "close"})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")

        assert (await ask(v, {**asking, "token": "x" * 43}))[0] == 403
        other = floor.visitor()
        assert (await ask(other, {**asking, "conversation_id": "nope"}))[0] == 403
        status, body = await ask(v, {**asking, "email": "Vera <vera@example.com>\r\nBcc: x@y.z"})
        assert status == 422 and "email" in body["errors"]

        status, body = await ask(v, asking)
        assert status == 202 and body == {"email": "vera@example.com"}
        envelope, mail = await relay.next()
        assert envelope.rcpt_tos == ["vera@example.com"] and envelope.mail_from == SUPPORT
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["To"].addresses[0].addr_spec == "vera@example.com"
        assert "transcript" in mail["Subject"]
        text = mail.get_content()
        assert "Vera: Where is my parcel?" in text and "Alice: It ships today." in text
        assert "Alice joined the chat." in text
        assert "voucher" not in text  # the private note stays inside

        # Another address typed now, then the per-chat limit (3 by default).
        assert (await ask(v, {**asking, "email": "vera.home@example.org"}))[0] == 202
        assert (await relay.next())[0].rcpt_tos == ["vera.home@example.org"]
        assert (await ask(v, asking))[0] == 202
        await relay.next()
        status, body = await ask(v, asking)
        assert status == 429 and body["retry_after"] >= 1
        sent = [m for m in await floor.server.tickets.store.mails(direction="out")
                if m.kind == "transcript"]
        assert len(sent) == 3 and all(m.ticket_id is None for m in sent)


async def test_without_outbound_mail_the_transcript_is_not_offered(tmp_path):
    async with chat_floor(tmp_path) as floor:  # tickets.smtp.host is empty
        v = floor.visitor()
        assert (await config(v))["transcript_mail"] is False
        status, _ = await v.start()
        assert status == 201
        status, _ = await ask(v, {"conversation_id": v.conversation_id, "token": v.token,
                                  "email": "vera@example.com"})
        assert status == 503

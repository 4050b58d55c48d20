"""The built-in SMTP (or LMTP) listener a mail server forwards support mail to (aiosmtpd).

Design note: the protocol is aiosmtpd's; this module only decides. A connection from outside
``allowed_networks`` is refused at ``MAIL FROM`` (a mail server on the same host or network
forwards; nobody else may make tickets), a recipient that is none of our mailboxes is refused
at ``RCPT TO`` when mailboxes are configured, and ``250`` is answered only after the mail and
what it caused are stored (``inbound.Mailroom``). When nothing could be stored, the answer is
``451``: the sending server keeps the mail and tries again later. The server runs on our own
event loop (``loop.create_server``), not in aiosmtpd's thread of its own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from contactcenter.tickets.inbound import Mailroom, ReceivedMail
from contactcenter.tickets.settings import ListenerSettings, TicketSettings

log = logging.getLogger(__name__)


class MailHandler:
    """aiosmtpd's handler: the hooks it calls for RCPT, MAIL and DATA."""

    def __init__(self, mailroom: Mailroom, settings: TicketSettings) -> None:
        self.mailroom = mailroom
        self.settings = settings
        self.networks = [ipaddress.ip_network(n, strict=False)
                         for n in settings.listener.allowed_networks]
        self.lmtp = settings.listener.protocol == "lmtp"

    def _allowed(self, session: Session) -> bool:
        peer = session.peer[0] if isinstance(session.peer, tuple) else ""
        try:
            address = ipaddress.ip_address(str(peer).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks)

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if not self._allowed(session):
            log.warning("tickets: SMTP from %s refused (not in allowed_networks)", session.peer)
            return "550 5.7.1 not accepted from your address"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.settings.mailboxes and self.settings.mailbox(address) is None:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else ""
        try:
            outcome = await self.mailroom.receive(ReceivedMail(
                envelope.mail_from or "", tuple(envelope.rcpt_tos), raw, str(peer)))
            log.info("tickets: mail from %s: %s%s", envelope.mail_from, outcome.status,
                     f" #{outcome.ticket_id}" if outcome.ticket_id else "")
            status = "250 2.0.0 OK"
        except Exception:
            log.exception("tickets: a mail could not be stored; asking the sender to retry")
            status = "451 4.3.0 cannot store the mail now, try again later"
        # LMTP answers once per recipient (RFC 2033); all share the one outcome.
        return "\r\n".join([status] * len(envelope.rcpt_tos)) if self.lmtp else status


class SmtpListener:
    """The listening socket; ``start()`` binds, ``close()`` stops accepting and waits."""

    def __init__(self, handler: MailHandler, settings: ListenerSettings,
                 hostname: str = "contactcenter") -> None:
        self.handler = handler
        self.settings = settings
        self.hostname = hostname
        self.port: int | None = None
        self._server: asyncio.Server | None = None

    def _protocol(self) -> Any:
        kind = LMTP if self.settings.protocol == "lmtp" else SMTP
        return kind(self.handler, data_size_limit=self.settings.max_message_bytes,
                    enable_SMTPUTF8=True, decode_data=False, hostname=self.hostname,
                    ident="contactcenter", loop=asyncio.get_running_loop())

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.settings.host,
                                                self.settings.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("tickets: %s listener on %s:%s", self.settings.protocol.upper(),
                 self.settings.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

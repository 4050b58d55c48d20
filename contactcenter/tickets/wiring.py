"""The tickets context wired for one server: its service, the routing glue, the SMTP listener,
the outbox, its routes; started after routing rebuilt its lines, stopped before routing stops.

``TicketsChannel(...)`` needs the shared services only (settings, database, clock, routing);
``start()`` takes up the tickets in routing, starts the outbox and binds the listener (when
enabled), ``add_routes(app)`` installs the API and the page and points the service at the live
hub, ``close()`` stops the listener first (no mail half-received at the stop), then the rest.
``app.py`` keeps only that order.
"""

from __future__ import annotations

import logging

from aiohttp import web

from contactcenter.common.setting_errors import listening
from contactcenter.domain.clock import Clock
from contactcenter.routing.service import RoutingService
from contactcenter.storage.database import Database
from contactcenter.tickets.assignment import TicketRouting
from contactcenter.tickets.inbound import Mailroom
from contactcenter.tickets.outbox import Outbox
from contactcenter.tickets.routes import add_ticket_routes
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.smtp_listener import MailHandler, SmtpListener
from contactcenter.tickets.store import TicketStore
from contactcenter.web.auth import AUTH_KEY

log = logging.getLogger(__name__)


class TicketsChannel:
    """Tickets and their email channel (docs/tickets.md)."""

    def __init__(self, settings: TicketSettings, db: Database, clock: Clock,
                 routing: RoutingService) -> None:
        self.settings = settings
        self.store = TicketStore(db)
        self.service = TicketService(settings, self.store, clock)
        self.routing = TicketRouting(self.service, routing)
        self.mailroom = Mailroom(self.service)
        self.outbox = Outbox(self.store, settings.smtp, clock, self.service.mail_failed,
                             helo_name=settings.domain)
        self.service.wake_outbox = self.outbox.wake
        self.listener: SmtpListener | None = None

    @property
    def smtp_port(self) -> int | None:
        """The listener's bound port (None when it is not enabled)."""
        return self.listener.port if self.listener is not None else None

    async def start(self) -> None:
        queues = self.routing.routing.config.queues
        for box in self.settings.mailboxes:
            if (box.queue or self.settings.queue) not in queues:
                log.warning("tickets: mailbox %s: queue %r is not configured; its tickets "
                            "wait unrouted", box.address, box.queue or self.settings.queue)
        await self.routing.start()
        self.outbox.start()
        self.outbox.wake()  # mails queued before a restart
        if self.settings.listener.enabled:
            listener = SmtpListener(MailHandler(self.mailroom, self.settings),
                                    self.settings.listener)
            lst = self.settings.listener
            with listening("tickets.listener.port", lst.host, lst.port, "tickets.listener.host"):
                await listener.start()
            self.listener = listener

    def add_routes(self, app: web.Application) -> None:
        self.service.publish = app[AUTH_KEY].live.publish
        add_ticket_routes(app, self.service, self.routing)

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
            self.listener = None
        await self.outbox.close()
        await self.routing.close()

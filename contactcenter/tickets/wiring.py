"""The tickets context wired for one server: its service, the routing glue, the SMTP listener,
the outbox, its routes; started after routing rebuilt its lines, stopped before routing stops.

``TicketsChannel(...)`` needs the shared services only (settings, database, clock, routing);
``start()`` takes up the tickets in routing, starts the outbox and binds the listener (when
enabled), the IMAP pollers (``tickets.imap``), the SLA sweep (``escalation.py``) and the
triggers' time automations and webhook sender (``triggers_engine.py``, ``webhooks.py``),
``add_routes(app)`` installs the API and the page and points the service at the live
hub, ``close()`` stops the listener first (no mail half-received at the stop), then the rest.
``app.py`` keeps only that order.
"""

from __future__ import annotations

import logging

from aiohttp import web

from contactcenter.common.setting_errors import listening
from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Channel
from contactcenter.routing.service import RoutingService
from contactcenter.storage.database import Database
from contactcenter.tickets.assignment import TicketRouting
from contactcenter.tickets.attachment_routes import add_attachment_routes
from contactcenter.tickets.attachments import TicketAttachments
from contactcenter.tickets.canned import CannedAnswers
from contactcenter.tickets.collab_routes import CollabRoutes, add_collab_routes
from contactcenter.tickets.csat_routes import add_rating_page
from contactcenter.tickets.escalation import SlaSweeper
from contactcenter.tickets.fields_routes import add_field_routes
from contactcenter.tickets.fields_service import TicketFields
from contactcenter.tickets.fields_store import FieldStore
from contactcenter.tickets.followers import Followers
from contactcenter.tickets.imap import ImapPoller, ImapStatus
from contactcenter.tickets.inbound import Mailroom
from contactcenter.tickets.outbox import Outbox
from contactcenter.tickets.presence import Presence
from contactcenter.tickets.reassign import TicketReassigner
from contactcenter.tickets.routes import add_ticket_routes
from contactcenter.tickets.service import TicketService
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.sla_routes import add_sla_routes
from contactcenter.tickets.smtp_listener import MailHandler, SmtpListener
from contactcenter.tickets.store import TicketStore
from contactcenter.tickets.triggers_engine import TriggerEngine
from contactcenter.tickets.triggers_routes import add_trigger_routes
from contactcenter.tickets.triggers_store import TriggerStore
from contactcenter.tickets.webhooks import WebhookSender
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.live import TopicRule
from contactcenter.web.roles import STAFF

log = logging.getLogger(__name__)


# Ticket-sla events for supervisors (a cluster's standbys let the same subscribers in).
TICKETS_TOPIC = TopicRule("tickets", frozenset(STAFF))


class TicketsChannel:
    """Tickets and their email channel (docs/tickets.md)."""

    def __init__(self, settings: TicketSettings, db: Database, clock: Clock,
                 routing: RoutingService) -> None:
        self.settings = settings
        self.store = TicketStore(db)
        self.service = TicketService(settings, self.store, clock)
        self.routing = TicketRouting(self.service, routing)
        # An agent's tickets go back to the line before a logout or a removal (reassign.py).
        self.reassigner = TicketReassigner(self.routing)
        self.mailroom = Mailroom(self.service)
        self.outbox = Outbox(self.store, settings.smtp, clock, self.service.mail_failed,
                             helo_name=settings.domain)
        self.service.wake_outbox = self.outbox.wake
        self.sla = SlaSweeper(self.service, clock)
        self.service.wake_sla = self.sla.wake
        self.sla.keep_place = self.routing.keep_place  # a ticket an SLA reassigns
        # Triggers and automations (triggers_engine.py) and their webhook calls.
        self.trigger_store = TriggerStore(db)
        self.triggers = TriggerEngine(self.service, self.trigger_store, clock,
                                      settings.triggers)
        self.webhooks = WebhookSender(self.trigger_store, settings.triggers, clock)
        self.triggers.wake_webhooks = self.webhooks.wake
        self.service.on_created = self.triggers.on_created
        self.service.on_changed = self.triggers.on_changed
        self.service.on_merged = self.triggers.on_merged
        self.service.on_split = self.triggers.on_split
        # Types and custom fields, followers, who views what, canned answers.
        self.field_store = FieldStore(db)
        self.fields = TicketFields(self.service, self.field_store)
        self.service.on_solving = self.fields.solving
        self.service.on_new_fields = self.fields.new_in
        self.followers = Followers(self.service)
        self.service.on_public_reply = self.followers.public_reply
        self.service.on_customer_mail = self.followers.customer_message
        self.service.reply_cc = self.followers.reply_cc
        self.presence = Presence()
        self.canned = CannedAnswers(self.service, self._agent_name)
        self.listener: SmtpListener | None = None
        self.clock = clock
        self.imap: list[ImapPoller] = []

    def _agent_name(self, agent_id: str) -> str | None:
        agent = self.routing.routing.config.agents.get(agent_id)
        return agent.name if agent is not None and agent.name else None

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
        escalation_queue = self.settings.sla.escalation.queue
        if escalation_queue and escalation_queue not in queues:
            log.warning("tickets: tickets.sla.escalation.queue %r is not configured; breaches "
                        "will not move tickets", escalation_queue)
        await self.routing.start()
        self.routing.routing.release_work[Channel.TICKET.value] = self.reassigner.release
        self.outbox.start()
        self.outbox.wake()  # mails queued before a restart
        self.sla.start()  # due times passed while we were away fire now, once
        self.webhooks.start()  # calls queued before a restart go out now
        self.triggers.start()  # so do time automations that came due meanwhile
        if self.settings.listener.enabled:
            listener = SmtpListener(MailHandler(self.mailroom, self.settings),
                                    self.settings.listener)
            lst = self.settings.listener
            with listening("tickets.listener.port", lst.host, lst.port, "tickets.listener.host"):
                await listener.start()
            self.listener = listener
        self.imap = [ImapPoller(box, self.settings, self.mailroom, self.store, self.clock)
                     for box in self.settings.imap]
        for poller in self.imap:
            poller.start()

    def imap_status(self) -> list[ImapStatus]:
        """Each IMAP poller's state (health shows it)."""
        return [poller.status() for poller in self.imap]

    def add_routes(self, app: web.Application) -> None:
        live = app[AUTH_KEY].live
        live.rules.append(TICKETS_TOPIC)
        self.service.publish = live.publish
        add_ticket_routes(app, self.service, self.routing)
        add_field_routes(app, self.fields, self.field_store)
        add_sla_routes(app, self.service)
        add_collab_routes(app, CollabRoutes(self.service, self.followers, self.presence,
                                            self.canned))
        add_rating_page(app, self.service)  # public: the survey's signed links
        add_attachment_routes(app, TicketAttachments(self.service))
        audit = app[AUTH_KEY].audit
        self.triggers.audit = lambda actor, action, target, detail: audit.record(
            actor, action, target=target, detail=detail)
        add_trigger_routes(app, self.triggers, self.trigger_store)

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
            self.listener = None
        for poller in self.imap:  # like the listener: no mail half-filed at the stop
            await poller.close()
        self.imap = []
        await self.sla.close()
        await self.triggers.close()
        await self.webhooks.close()
        await self.outbox.close()
        self.routing.routing.release_work.pop(Channel.TICKET.value, None)
        await self.routing.close()

"""The web-chat channel wired for one server: its service, its routes, its start and stop.

Design note: ``ChatChannel(...)`` needs the shared services only (database, clock, routing,
audit); ``start()`` runs once routing has rebuilt its lines (the open conversations are taken
up where the engine has them), ``add_routes(app)`` installs the widget's and the agent's
routes and points the service at the live hub, ``close()`` stops it before routing stops. The
knowledge base (``kb``) answers visitors' questions before a person does (``faq.py``); a
channel's bot flow comes from the flows' registry (``flows``) and runs with the server's
lookups and IVR settings (``bot.py``). Ports ``app.py`` points at the tickets: ``message_left``
(a message left becomes a ticket) and ``transcript_sender`` (the transcript by email,
``transcript_mail.py``). With ``retention_days`` set, ``start()`` also runs the periodic purge
(``retention.py``).
``app.py`` keeps only that order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from contactcenter.chat.attachment_routes import add_attachment_routes
from contactcenter.chat.attachments import ChatAttachments
from contactcenter.chat.leave_message import LEFT_TOPIC
from contactcenter.chat.left_messages_routes import add_left_message_routes
from contactcenter.chat.rating import ChatRatings
from contactcenter.chat.rating_routes import add_rating_routes
from contactcenter.chat.retention import RetentionLoop
from contactcenter.chat.routes import add_chat_routes
from contactcenter.chat.service import ChatService
from contactcenter.chat.settings import ChatSettings
from contactcenter.chat.store import ChatStore
from contactcenter.chat.transcript_mail import MailSender, TranscriptMailer
from contactcenter.chat.visitor_erase_routes import add_erase_routes
from contactcenter.chat.visitor_export import add_export_routes
from contactcenter.domain.clock import Clock
from contactcenter.ivr.model import Flow
from contactcenter.ivr.ports import LookupPort
from contactcenter.ivr.settings import IvrSettings
from contactcenter.kb.service import KnowledgeBase
from contactcenter.routing.service import RoutingService
from contactcenter.storage.database import Database
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.live import TopicRule
from contactcenter.web.pages import add_pages
from contactcenter.web.roles import STAFF

log = logging.getLogger(__name__)


# A live chat's messages for supervisors watching it (a cluster's standbys let them in too).
CHAT_WATCH_TOPIC = TopicRule("chat.", frozenset(STAFF))
# Messages left, for the supervisors' page (left_messages_routes.py).
CHAT_LEFT_TOPIC = TopicRule(LEFT_TOPIC, frozenset(STAFF))


class FlowSource(Protocol):
    """The flows' registry as the chat sees it: the current versions."""

    def snapshot(self) -> Mapping[str, Flow]:
        """Every loaded flow by name."""
        ...

PANEL_ASSETS = Path(__file__).with_name("static") / "panel"


class ChatChannel:
    """Web chat: conversations routed by the queue engine, the widget, the agent's cards."""

    def __init__(self, settings: ChatSettings, routing: RoutingService, db: Database,
                 clock: Clock, audit: Any, kb: KnowledgeBase | None = None,
                 flows: FlowSource | None = None, lookups: LookupPort | None = None,
                 ivr: IvrSettings | None = None, attachments_root: Path | None = None) -> None:
        self.settings = settings
        self.audit = audit
        self.service = ChatService(settings, routing, ChatStore(db), clock)
        self.service.faq.kb = kb
        bots = self.service.bots
        if flows is not None:
            bots.flows = flows.snapshot
        if lookups is not None:
            bots.lookups = lookups
        if ivr is not None:
            bots.settings = ivr
        self.transcripts = TranscriptMailer(self.service)
        self.retention = RetentionLoop(db, clock, audit, settings.retention_days,
                                       settings.retention_check_s)
        # Files of conversations (attachments.py), under the server's data directory
        self.attachments = ChatAttachments(
            self.service, attachments_root or Path(settings.attachments_dir))
        self.retention.before_delete = self.attachments.forget
        # The 1-5 rating offered when a chat with an agent ends (rating.py)
        self.ratings = ChatRatings(self.service)
        self.service.on_ended = self.ratings.offer

    @property
    def transcript_sender(self) -> MailSender | None:
        """The port transcripts go out through (app.py: the tickets' outbound mail)."""
        return self.transcripts.sender

    @transcript_sender.setter
    def transcript_sender(self, port: MailSender | None) -> None:
        self.transcripts.sender = port

    @property
    def message_left(self) -> Any:
        """The port a message left goes through (app.py: the tickets' ``from_chat``)."""
        return self.service.message_left

    @message_left.setter
    def message_left(self, port: Any) -> None:
        self.service.message_left = port

    async def start(self) -> None:
        """Take up open conversations; warn about channels whose queue does not exist."""
        queues = self.service.routing.config.queues
        for channel in self.settings.channels:
            if channel.bot:
                self.service.bots.flow_for(channel)  # warns when it is not a loaded chat flow
            if channel.queue not in queues:
                log.warning("chat channel %s: queue %r is not configured; its visitors will be "
                            "told chat is unavailable", channel.name, channel.queue)
        await self.service.start()
        self.retention.start()

    def add_routes(self, app: web.Application) -> None:
        """The widget's and the agent's routes; agents' chat events on their live topic."""
        self.service.publish = app[AUTH_KEY].live.publish
        if self.service.faq.kb is None and any(c.faq.enabled for c in self.settings.channels):
            log.warning("chat: faq is on but the server has no knowledge base; no articles "
                        "will be offered")
        add_chat_routes(app, self.service, self.audit, self.transcripts)
        add_left_message_routes(app, self.service, self.audit)
        add_export_routes(app, self.service, self.audit)
        add_erase_routes(app, self.service, self.attachments.files, self.audit)
        add_attachment_routes(app, self.attachments, self.audit)
        add_rating_routes(app, self.ratings)
        # Supervisors watch a chat on chat.<id> (supervise.py): staff only, as calls are.
        app[AUTH_KEY].live.rules.extend((CHAT_WATCH_TOPIC, CHAT_LEFT_TOPIC))
        add_pages(app, "chat", PANEL_ASSETS, ("live-chats", "left-messages"))

        async def close_visitor_sockets(_app: web.Application) -> None:
            await self.service.close()

        app.on_shutdown.append(close_visitor_sockets)

    async def close(self) -> None:
        """Stop the purge, stop following routing and close the visitors' sockets
        (idempotent)."""
        await self.retention.close()
        await self.service.close()

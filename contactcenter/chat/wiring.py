"""The web-chat channel wired for one server: its service, its routes, its start and stop.

Design note: ``ChatChannel(...)`` needs the shared services only (database, clock, routing,
audit); ``start()`` runs once routing has rebuilt its lines (the open conversations are taken
up where the engine has them), ``add_routes(app)`` installs the widget's and the agent's
routes and points the service at the live hub, ``close()`` stops it before routing stops.
``app.py`` keeps only that order.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.chat.routes import add_chat_routes
from contactcenter.chat.service import ChatService
from contactcenter.chat.settings import ChatSettings
from contactcenter.chat.store import ChatStore
from contactcenter.domain.clock import Clock
from contactcenter.routing.service import RoutingService
from contactcenter.storage.database import Database
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.pages import add_pages

log = logging.getLogger(__name__)
PANEL_ASSETS = Path(__file__).with_name("static") / "panel"


class ChatChannel:
    """Web chat: conversations routed by the queue engine, the widget, the agent's cards."""

    def __init__(self, settings: ChatSettings, routing: RoutingService, db: Database,
                 clock: Clock, audit: Any) -> None:
        self.settings = settings
        self.audit = audit
        self.service = ChatService(settings, routing, ChatStore(db), clock)

    async def start(self) -> None:
        """Take up open conversations; warn about channels whose queue does not exist."""
        queues = self.service.routing.config.queues
        for channel in self.settings.channels:
            if channel.queue not in queues:
                log.warning("chat channel %s: queue %r is not configured; its visitors will be "
                            "told chat is unavailable", channel.name, channel.queue)
        await self.service.start()

    def add_routes(self, app: web.Application) -> None:
        """The widget's and the agent's routes; agents' chat events on their live topic."""
        self.service.publish = app[AUTH_KEY].live.publish
        add_chat_routes(app, self.service, self.audit)
        add_pages(app, "chat", PANEL_ASSETS, ())

        async def close_visitor_sockets(_app: web.Application) -> None:
            await self.service.close()

        app.on_shutdown.append(close_visitor_sockets)

    async def close(self) -> None:
        """Stop following routing and close the visitors' sockets (idempotent)."""
        await self.service.close()

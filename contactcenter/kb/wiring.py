"""The knowledge base wired for one server: the service, its JSON API and the help center.

Design note: the knowledge base needs only the database, the clock and the audit log, and
starts nothing of its own (its search index lives in the database), so the composition root
builds it with the other contexts and installs its routes with the web server's. The chat's
bot and the agent panel will reach it through ``service`` (a channel may import this floor).
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.kb.help_center import add_help_center
from contactcenter.kb.routes import KbRoutes
from contactcenter.kb.service import KnowledgeBase
from contactcenter.kb.settings import KbSettings
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database


class KnowledgeBaseContext:
    """Articles, their search and the public help center."""

    def __init__(self, db: Database, clock: Clock, audit: AuditLog,
                 settings: KbSettings) -> None:
        self.settings = settings
        self.service = KnowledgeBase(db, clock, audit, settings)

    def add_routes(self, app: web.Application) -> None:
        """The API under ``/api/kb/`` and ``/api/help/``; ``/help`` when the help center is on."""
        app.add_routes(KbRoutes(self.service).routes())
        if self.settings.help_center:
            add_help_center(app, self.service)

"""The knowledge base wired for one server: the service, its JSON API and the help center.

Design note: the knowledge base needs only the database, the clock and the audit log, and
starts nothing of its own (its search index lives in the database), so the composition root
builds it with the other contexts and installs its routes with the web server's. The chat's
bot and the agent panel will reach it through ``service`` (a channel may import this floor).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.kb.help_center import add_help_center
from contactcenter.kb.media import MediaLibrary
from contactcenter.kb.media_routes import MediaRoutes
from contactcenter.kb.routes import KbRoutes
from contactcenter.kb.service import KnowledgeBase
from contactcenter.kb.settings import KbSettings
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database
from contactcenter.web.openapi import declare_enum
from contactcenter.web.pages import add_pages

STATIC_DIR = Path(__file__).with_name("static")
# The knowledge base on the web app, for a context above it that has no constructor argument
# for it (the tickets' "draft article from this ticket"); set by ``add_routes``.
KB_KEY = web.AppKey("kb", KnowledgeBase)


class KnowledgeBaseContext:
    """Articles, their search and the public help center."""

    def __init__(self, db: Database, clock: Clock, audit: AuditLog,
                 settings: KbSettings) -> None:
        self.settings = settings
        self.service = KnowledgeBase(db, clock, audit, settings)
        self.media = MediaLibrary(self.service)

    def add_routes(self, app: web.Application) -> None:
        """The API under ``/api/kb/`` and ``/api/help/``, the staff's editing page at ``/kb``
        (its files, the agent panel's assist script and the help center's style sheet at
        ``/static/kb/``), the articles' files at ``/kb/media/``, and ``/help`` when the help
        center is on."""
        app[KB_KEY] = self.service
        declare_enum(app, "kb.locales", tuple(self.settings.locales))
        app.add_routes(KbRoutes(self.service).routes())
        app.add_routes(MediaRoutes(self.media).routes())
        add_pages(app, "kb", STATIC_DIR, ("kb",))
        if self.settings.help_center:
            add_help_center(app, self.service)

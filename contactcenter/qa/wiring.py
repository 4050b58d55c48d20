"""Quality wired for one server: the transcript store and worker, the keyword lists, the QA
service (calls, chats, tickets), the sampling rules and their loop, the QA report, the
recording player (whose transcript search this context fills) and their routes.

Design note: the composition root builds this once the recording service exists, ``start``s it
before the web server (the worker takes back the transcriptions a stopped server left
running), installs its routes with the others, and ``close``s it before the recording service
and the database. The recording policies are read through the service at every use, so a queue
whose ``transcribe`` an admin switches on is swept from the next look on, without a restart.
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.qa.evaluations import QaService
from contactcenter.qa.interactions import InteractionReader
from contactcenter.qa.keywords import KeywordStore
from contactcenter.qa.report_routes import QaReportRoutes
from contactcenter.qa.routes import QaRoutes, add_qa_routes
from contactcenter.qa.settings import QaSettings
from contactcenter.qa.transcripts import TranscriptStore
from contactcenter.qa.worker import TranscriptWorker
from contactcenter.qa.worklist import SamplingLoop, WorklistStore
from contactcenter.qa.worklist_routes import WorklistRoutes
from contactcenter.recording.player_routes import PlayerSettings, RecordingPlayer, add_player
from contactcenter.recording.policy import PolicyBook
from contactcenter.recording.service import RecordingService
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database


class QaContext:
    """Transcripts, scorecards and evaluations, and the recording player."""

    def __init__(self, db: Database, clock: Clock, audit: AuditLog,
                 recording: RecordingService, settings: QaSettings) -> None:
        self.recording = recording
        self.transcripts = TranscriptStore(db)
        self.keywords = KeywordStore(db)
        self.worker = (TranscriptWorker(self.transcripts, recording.index, recording.paths,
                                        self.policies, clock, settings,
                                        keywords=self.keywords, audit=audit)
                       if settings.transcribe else None)
        self.interactions = InteractionReader(db, recording.index)
        self.service = QaService(db, self.transcripts, recording.index, self.policies, audit,
                                 clock, self.interactions)
        self.worklist = WorklistStore(db, settings, self.interactions)
        self.db, self.settings = db, settings
        self.sampler = SamplingLoop(self.worklist, clock, settings)
        self.audit = audit
        self.player = RecordingPlayer(
            recording, db, audit, PlayerSettings(frozenset(settings.download_roles)),
            text_search=self.transcripts.search)

    def policies(self) -> PolicyBook:
        """The recording policies in force now."""
        return self.recording.policies

    async def start(self) -> None:
        """Start the transcript worker (when transcription is on) and the sampling loop."""
        if self.worker is not None:
            await self.worker.start()
        self.sampler.start()

    def add_routes(self, app: web.Application) -> None:
        """The player's routes and page, and the context's own."""
        add_player(app, self.player)
        add_qa_routes(app, QaRoutes(self.service, self.transcripts, self.worker,
                                    self.recording.index, self.policies, self.keywords))
        app.add_routes(WorklistRoutes(self.worklist, self.audit, self.service.now).routes())
        app.add_routes(QaReportRoutes(self.db, self.settings, self.service.now).routes())

    async def close(self) -> None:
        """Stop the sampling loop and the worker (its running transcriptions are queued
        again)."""
        await self.sampler.close()
        if self.worker is not None:
            await self.worker.close()

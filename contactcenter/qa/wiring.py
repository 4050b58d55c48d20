"""Quality wired for one server: the transcript store and worker, the QA service, the recording
player (whose transcript search this context fills) and their routes.

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
from contactcenter.qa.routes import QaRoutes, add_qa_routes
from contactcenter.qa.settings import QaSettings
from contactcenter.qa.transcripts import TranscriptStore
from contactcenter.qa.worker import TranscriptWorker
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
        self.worker = (TranscriptWorker(self.transcripts, recording.index, recording.paths,
                                        self.policies, clock, settings)
                       if settings.transcribe else None)
        self.service = QaService(db, self.transcripts, recording.index, self.policies, audit,
                                 clock)
        self.player = RecordingPlayer(
            recording, db, audit, PlayerSettings(frozenset(settings.download_roles)),
            text_search=self.transcripts.search)

    def policies(self) -> PolicyBook:
        """The recording policies in force now."""
        return self.recording.policies

    async def start(self) -> None:
        """Start the transcript worker (when transcription is on)."""
        if self.worker is not None:
            await self.worker.start()

    def add_routes(self, app: web.Application) -> None:
        """The player's routes and page, and the context's own."""
        add_player(app, self.player)
        add_qa_routes(app, QaRoutes(self.service, self.transcripts, self.worker,
                                    self.recording.index, self.policies))

    async def close(self) -> None:
        """Stop the worker (its running transcriptions are queued again)."""
        if self.worker is not None:
            await self.worker.close()

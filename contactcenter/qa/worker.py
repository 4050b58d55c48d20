"""The transcript worker: finds finished recordings, transcribes them in child processes.

Design note: the queue is the ``qa_transcripts`` table (``transcripts.py``), so it survives a
restart: ``start`` first puts rows a stopped server left ``running`` back to ``pending``. Each
of ``workers`` loops claims the oldest ``pending`` row and runs ``transcribe_job`` on the file
in a process of its own (pocketsphinx would hold the event loop; a process can also be killed
on shutdown or after ``job_timeout_s``), reading its progress lines into the row as it goes.
A failed attempt goes back to ``pending`` until ``max_attempts``, then stays ``failed`` with
its reason. Each sweep also erases the words of transcripts whose recording retention purged
(a transcript lives at most as long as its audio) and of those past their queue's own, shorter
``transcript_retention_days`` (audited), and catches the keyword hits up (``keywords.py``).
Between sweeps the worker sleeps ``poll_s`` clock seconds, or until ``nudge``. ``close`` sets a closing flag and wakes every loop: a sweep or a
claim in progress finishes its transaction (``common.tasks.stop_gracefully``), and running
children are killed, their rows going back to ``pending``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contactcenter.common.tasks import stop_gracefully
from contactcenter.domain.clock import Clock
from contactcenter.qa.keywords import KeywordStore
from contactcenter.qa.settings import QaSettings
from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.qa.transcripts import QueueChoice, Transcript, TranscriptStore
from contactcenter.recording import tables as rt
from contactcenter.recording.index import RecordingIndex
from contactcenter.recording.paths import SPEAKERS, RecordingPaths, UnsafePathError
from contactcenter.recording.policy import PolicyBook
from contactcenter.storage.audit import AuditLog

log = logging.getLogger(__name__)

STREAM_LIMIT = 64 * 1024 * 1024  # the last line carries every word of the call
PROGRESS_STEP = 0.05  # write progress to the row when it moved this much


def queue_choice(policies: PolicyBook) -> QueueChoice:
    """The queues whose ``recording.transcribe`` is on, as the sweep asks for them."""
    on = frozenset(q for q, p in policies.by_queue.items() if p.transcribe)
    off = frozenset(q for q, p in policies.by_queue.items() if not p.transcribe)
    return QueueChoice(policies.default.transcribe, on, off)


def engine_installed() -> bool:
    """True when pocketsphinx can be imported (the wheel carries its model)."""
    return importlib.util.find_spec("pocketsphinx") is not None


class _JobFailed(Exception):
    pass


class TranscriptWorker:
    """Runs the transcription queue for one server."""

    def __init__(self, store: TranscriptStore, index: RecordingIndex, paths: RecordingPaths,
                 policies: Callable[[], PolicyBook], clock: Clock, settings: QaSettings,
                 python: str = sys.executable, keywords: KeywordStore | None = None,
                 audit: AuditLog | None = None) -> None:
        self.store = store
        self.audit = audit  # transcript retention's rows (``qa.transcript.purge``)
        self.keywords = keywords
        self.index = index
        self.paths = paths
        self.policies = policies
        self.clock = clock
        self.settings = settings
        self.python = python
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()  # set once, by close: ends the sweeper's sleep
        self._closing = False
        self._claim = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._children: set[asyncio.subprocess.Process] = set()
        self.running: dict[str, float] = {}  # recording id -> progress, for the status API

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    async def start(self) -> None:
        """Take back what a stopped server left running, then start sweeping and working."""
        again = await self.store.requeue_running()
        if again:
            log.info("transcripts: %d interrupted transcription(s) queued again", again)
        if not engine_installed():
            log.warning("transcripts: pocketsphinx is not installed; recordings stay queued")
            return
        self._tasks.append(asyncio.create_task(self._sweeper(), name="qa-transcript-sweep"))
        for n in range(self.settings.workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"qa-transcribe-{n}"))

    def nudge(self) -> None:
        """Look for work now instead of at the next sweep."""
        self._wake.set()

    async def close(self) -> None:
        """Stop: a database call in progress finishes, running children are killed and their
        rows go back to ``pending``."""
        self._closing = True
        self._stop.set()
        self._wake.set()
        for proc in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await asyncio.gather(*(stop_gracefully(task) for task in self._tasks))
        self._tasks.clear()

    async def sweep(self) -> int:
        """Erase the transcripts of purged recordings; queue every finished recording that asks
        for a transcript and has none. The number queued."""
        forgotten = await self.store.forget_purged(self._now())
        if forgotten:
            log.info("transcripts: %d erased with their purged recordings", forgotten)
        queued = await self.store.sweep(queue_choice(self.policies()), self._now())
        await self.expire()
        if self.keywords is not None:
            await self.keywords.scan()
        return queued

    async def expire(self) -> int:
        """Transcript retention: erase the transcripts older than their queue's
        ``transcript_retention_days`` (the recordings stay), one audit row each. How many."""
        policies = self.policies()
        expired = await self.store.expire(
            lambda queue: policies.for_queue(queue).transcript_retention_days, self._now())
        for gone in expired:
            if self.audit is not None:
                await self.audit.record(
                    "system:retention", "qa.transcript.purge", gone.recording_id, "ok",
                    {"queue": gone.queue, "transcript_retention_days": gone.days,
                     "started_at": gone.started_at.isoformat() if gone.started_at else None,
                     "words": gone.words})
        if expired:
            log.info("transcripts: %d erased by their queue's transcript retention",
                     len(expired))
        return len(expired)

    async def _pause(self, event: asyncio.Event) -> None:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
        # that lands as the event is set (contactcenter/tickets/outbox.py).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.clock.real(self.settings.poll_s)):
                await event.wait()

    async def _sweeper(self) -> None:
        while not self._closing:
            try:
                if await self.sweep():
                    self._wake.set()
            except Exception:
                log.exception("transcripts: sweep failed")
            await self._pause(self._stop)

    async def _work(self) -> None:
        while not self._closing:
            try:
                async with self._claim:
                    if self._closing:
                        return
                    job = await self.store.claim_next(self._now())
                if job is None:
                    self._wake.clear()
                    if not self._closing:  # no await since the check: close cannot slip by
                        await self._pause(self._wake)
                    continue
                await self.run(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("transcripts: worker error")
                await self._pause(self._stop)

    async def run(self, job: Transcript) -> None:
        """Transcribe one claimed row to its end (done, pending again, or failed)."""
        rec_id = job.recording_id
        self.running[rec_id] = 0.0
        try:
            result = await self._transcribe(job)
        except _JobFailed as exc:
            if self._closing:  # close killed the child: not the file's fault
                await self.store.fail(rec_id, "interrupted by shutdown", self._now(), retry=True)
                return
            retry = job.attempts < self.settings.max_attempts
            log.warning("transcripts: %s failed (attempt %d): %s", rec_id, job.attempts, exc)
            await self.store.fail(rec_id, str(exc), self._now(), retry=retry)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # the database may be going away too
                await self.store.fail(rec_id, "interrupted by shutdown", self._now(), retry=True)
            raise
        else:
            await self.store.finish(rec_id, result, self._now())
            log.info("transcripts: %s done, %d words", rec_id, len(result.words))
        finally:
            self.running.pop(rec_id, None)

    async def _transcribe(self, job: Transcript) -> SpeechResult:
        rec = await self.index.get(job.recording_id)
        if rec is None or rec.status != rt.STATUS_COMPLETE:
            raise _JobFailed(f"the recording is {rec.status if rec else 'gone'}")
        try:
            path = self.paths.resolve(rec.file)
        except (UnsafePathError, OSError) as exc:
            raise _JobFailed(f"the file is not served: {exc}") from None
        if not path.is_file():
            raise _JobFailed("the file is not there")
        speakers = self._speaker_files(rec.file)
        proc = await asyncio.create_subprocess_exec(
            self.python, "-m", "contactcenter.qa.transcribe_job", str(path),
            *(f"{who}={file}" for who, file in speakers),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, limit=STREAM_LIMIT)
        self._children.add(proc)
        if self._closing:  # close came while the child was starting
            proc.kill()
        try:
            async with asyncio.timeout(self.settings.job_timeout_s):
                answer = await self._read(job.recording_id, proc)
                code = await proc.wait()
        except TimeoutError:
            raise _JobFailed(f"took longer than {self.settings.job_timeout_s:g} s") from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            self._children.discard(proc)
        if answer is None:
            raise _JobFailed(f"the transcriber exited with code {code} and no answer")
        if "error" in answer:
            raise _JobFailed(str(answer["error"]))
        words = tuple(Word.from_row(w) for w in answer.get("words", []))
        return SpeechResult(words, float(answer.get("duration_s") or 0.0),
                            str(answer.get("engine") or ""))

    def _speaker_files(self, rel: str) -> list[tuple[str, str]]:
        """Each direction's file when MixMonitor wrote both (``speakers: true``), else none:
        then the mix is transcribed and nobody is named."""
        found = []
        for who in SPEAKERS:
            try:
                path = self.paths.resolve(self.paths.speaker_file(rel, who))
            except (UnsafePathError, OSError, RuntimeError):
                return []
            if not path.is_file():
                return []
            found.append((who, str(path)))
        return found

    async def _read(self, rec_id: str, proc: asyncio.subprocess.Process) -> dict[str, Any] | None:
        assert proc.stdout is not None
        written = 0.0
        answer: dict[str, Any] | None = None
        async for raw in proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "progress" in message:
                fraction = float(message["progress"])
                self.running[rec_id] = fraction
                if fraction - written >= PROGRESS_STEP:
                    written = fraction
                    await self.store.set_progress(rec_id, fraction)
            else:
                answer = message
        return answer

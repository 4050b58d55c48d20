"""Scorecards and evaluations: the use cases (create and edit forms, evaluate a call, a chat or
a ticket, answer automatically from its transcript or its messages, submit, and the agent's
acknowledgement or dispute).

Design note: an evaluation is made from an interaction (a recording, a chat conversation, a
ticket: ``interactions.py``, which names the agent and queue) and a scorecard, whose form is
copied into it. Questions with an ``auto`` rule are answered when the draft is made from the
call's transcript, or from the agent's messages of a chat or replies of a ticket
(``thread.py``), each with its evidence (what was heard or written, when); the evaluator may
change any answer, and the answer then says it was overridden while
keeping the automatic one beside it. Submitting needs every question answered and scores the
evaluation; only then does the agent see it, and they may acknowledge or dispute it once, with
a comment. Every submit, acknowledgement and dispute is an audit row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contactcenter.common.timestamps import aware, iso
from contactcenter.domain.clock import Clock
from contactcenter.qa import tables as t
from contactcenter.qa.interactions import InteractionReader, Subject
from contactcenter.qa.scorecards import (
    Form,
    FormError,
    Score,
    Value,
    auto_answers,
    parse_form,
    score,
)
from contactcenter.qa.thread import Line, auto_answers_from_lines
from contactcenter.qa.transcripts import TranscriptStore
from contactcenter.recording.access import may_access
from contactcenter.recording.index import RecordingIndex
from contactcenter.recording.policy import PolicyBook
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database
from contactcenter.web.roles import Actor

STAFF = frozenset({"supervisor", "admin"})
ACKNOWLEDGE, DISPUTE = "acknowledge", "dispute"


class QaError(Exception):
    """A request that cannot be done; ``kind`` says which HTTP answer fits."""

    def __init__(self, kind: str, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # "not_found" | "forbidden" | "conflict" | "invalid"
        self.problems = problems or []


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A form and its name; ``version`` grows with every save."""

    id: int
    name: str
    active: bool
    version: int
    form: Form
    updated_at: datetime | None = None
    updated_by: str = ""

    def as_json(self) -> dict[str, Any]:
        """The scorecard, its form as written."""
        return {"id": self.id, "name": self.name, "active": self.active,
                "version": self.version, "form": self.form.as_json(),
                "updated_at": iso(self.updated_at), "updated_by": self.updated_by}


def _scorecard(r: t.ScorecardRow) -> Scorecard:
    return Scorecard(r.id, r.name, bool(r.active), r.version, parse_form(r.form),
                     aware(r.updated_at), r.updated_by or "")


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation as stored; ``answers`` maps question ids to
    ``{"value", "auto", "overridden", "note"}``."""

    id: int
    scorecard_id: int
    scorecard_version: int
    form: Form
    recording_id: str | None
    interaction_id: str
    agent_id: str | None
    queue: str
    evaluator: str
    status: str
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    comment: str = ""
    score: Score | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    responded_by: str | None = None
    responded_at: datetime | None = None
    agent_comment: str = ""
    channel: str = t.VOICE
    item_id: str = ""

    def as_json(self) -> dict[str, Any]:
        """The evaluation with its form, answers and score."""
        return {
            "id": self.id, "channel": self.channel, "item_id": self.item_id,
            "scorecard_id": self.scorecard_id,
            "scorecard_version": self.scorecard_version, "form": self.form.as_json(),
            "recording_id": self.recording_id, "interaction_id": self.interaction_id,
            "agent_id": self.agent_id, "queue": self.queue, "evaluator": self.evaluator,
            "status": self.status, "answers": self.answers, "comment": self.comment,
            "score": self.score.as_json() if self.score else None,
            "created_at": iso(self.created_at), "submitted_at": iso(self.submitted_at),
            "responded_by": self.responded_by, "responded_at": iso(self.responded_at),
            "agent_comment": self.agent_comment,
        }


def _evaluation(r: t.EvaluationRow) -> Evaluation:
    result = None
    if r.possible is not None:
        failed_by = tuple(qid for qid, a in (r.answers or {}).items() if a.get("failed"))
        result = Score(r.score or 0.0, r.possible, r.percent, bool(r.failed), failed_by)
    return Evaluation(
        id=r.id, scorecard_id=r.scorecard_id, scorecard_version=r.scorecard_version,
        form=parse_form(r.form), recording_id=r.recording_id, interaction_id=r.interaction_id,
        agent_id=r.agent_id, queue=r.queue or "", evaluator=r.evaluator, status=r.status,
        answers=dict(r.answers or {}), comment=r.comment or "", score=result,
        created_at=aware(r.created_at), submitted_at=aware(r.submitted_at),
        responded_by=r.responded_by, responded_at=aware(r.responded_at),
        agent_comment=r.agent_comment or "", channel=r.channel or t.VOICE,
        item_id=r.item_id or r.recording_id or "")


class QaService:
    """Scorecards and evaluations over the database, the transcripts, the recordings and the
    chats' and tickets' stores (``interactions.py``)."""

    def __init__(self, db: Database, transcripts: TranscriptStore, recordings: RecordingIndex,
                 policies: Callable[[], PolicyBook], audit: AuditLog, clock: Clock,
                 interactions: InteractionReader | None = None) -> None:
        self.db = db
        self.interactions = interactions or InteractionReader(db, recordings)
        self.transcripts = transcripts
        self.recordings = recordings
        self.policies = policies
        self.audit = audit
        self.clock = clock

    def now(self) -> datetime:
        """The clock's time, as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock.time(), UTC)

    # --- scorecards -------------------------------------------------------------------------

    async def scorecards(self, active_only: bool = False) -> list[Scorecard]:
        """Every scorecard by name (only the active ones when asked)."""
        stmt = sa.select(t.ScorecardRow).order_by(t.ScorecardRow.name)
        if active_only:
            stmt = stmt.where(t.ScorecardRow.active.is_(True))
        async with self.db.session() as s:
            return [_scorecard(r) for r in (await s.execute(stmt)).scalars()]

    async def scorecard(self, scorecard_id: int) -> Scorecard:
        """One scorecard; ``QaError`` not_found."""
        async with self.db.session() as s:
            row = await s.get(t.ScorecardRow, scorecard_id)
        if row is None:
            raise QaError("not_found", "no such scorecard")
        return _scorecard(row)

    @staticmethod
    def _form(data: Any) -> Form:
        try:
            return parse_form(data)
        except FormError as exc:
            raise QaError("invalid", str(exc), exc.problems) from None

    async def save_scorecard(self, actor: Actor, name: str, form_data: Any, active: bool = True,
                             scorecard_id: int | None = None) -> Scorecard:
        """Create a scorecard, or save a new version of one (admins)."""
        form = self._form(form_data)
        name = name.strip()
        if not name or len(name) > 100:
            raise QaError("invalid", "name must be 1 to 100 characters")
        async with self.db.session() as s:
            clash = (await s.execute(sa.select(t.ScorecardRow.id)
                                     .where(t.ScorecardRow.name == name))).scalar()
            if clash is not None and clash != scorecard_id:
                raise QaError("conflict", f"a scorecard is already named {name!r}")
            if scorecard_id is None:
                row = t.ScorecardRow(name=name, active=active, version=1, form=form.as_json(),
                                     updated_at=self.now(), updated_by=actor.username)
                s.add(row)
            else:
                found = await s.get(t.ScorecardRow, scorecard_id)
                if found is None:
                    raise QaError("not_found", "no such scorecard")
                row = found
                row.name, row.active, row.form = name, active, form.as_json()
                row.version, row.updated_at, row.updated_by = \
                    row.version + 1, self.now(), actor.username
            await s.commit()
            saved = _scorecard(row)
        await self.audit.record(actor.username, "qa.scorecard.save", str(saved.id), "ok",
                                {"name": saved.name, "version": saved.version})
        return saved

    # --- evaluations ------------------------------------------------------------------------

    async def start(self, actor: Actor, recording_id: str, scorecard_id: int) -> Evaluation:
        """A draft evaluation of a recorded call (``start_item`` of the voice channel)."""
        return await self.start_item(actor, t.VOICE, recording_id, scorecard_id)

    async def _subject(self, actor: Actor, channel: str, item_id: str) -> Subject:
        """The interaction, if ``actor`` may evaluate it (staff; a call's access rule)."""
        if channel not in t.CHANNELS:
            raise QaError("invalid", "channel must be voice, chat or ticket")
        found = await self.interactions.subject(channel, item_id)
        if found is None:
            raise QaError("not_found", {t.VOICE: "no such recording", t.CHAT: "no such chat",
                                        t.TICKET: "no such ticket"}[channel])
        if actor.role not in STAFF or (found.recording is not None and not may_access(
                actor, found.recording, self.policies())):
            raise QaError("forbidden", "only supervisors and admins evaluate interactions")
        return found

    async def start_item(self, actor: Actor, channel: str, item_id: str,
                         scorecard_id: int) -> Evaluation:
        """A draft evaluation of a call, a chat or a ticket, answered from its transcript or
        its messages where the form says how."""
        subject = await self._subject(actor, channel, item_id)
        card = await self.scorecard(scorecard_id)
        if not card.active:
            raise QaError("conflict", "this scorecard is not active")
        answers: dict[str, dict[str, Any]] = {
            q.id: {"value": None, "auto": None, "overridden": False, "note": ""}
            for q in card.form.questions()}
        if channel == t.VOICE:
            transcript = await self.transcripts.get(item_id)
            autos = (auto_answers(card.form, transcript.words)
                     if transcript is not None and transcript.status == t.DONE else {})
        else:
            autos = auto_answers_from_lines(card.form,
                                            await self.interactions.thread(channel, item_id))
        for qid, auto in autos.items():
            answers[qid].update(value=auto.value, auto=auto.as_json())
        row = t.EvaluationRow(
            scorecard_id=card.id, scorecard_version=card.version, form=card.form.as_json(),
            channel=channel, item_id=subject.item_id,
            recording_id=subject.item_id if channel == t.VOICE else None,
            interaction_id=subject.interaction_id, agent_id=subject.agent_id,
            queue=subject.queue, evaluator=actor.username, status=t.DRAFT, answers=answers,
            comment="", failed=False, created_at=self.now(), agent_comment="")
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
            return _evaluation(row)

    async def thread(self, actor: Actor, channel: str,
                     item_id: str) -> tuple[Subject, list[Line]]:
        """A chat's messages or a ticket's thread for the evaluation page: staff see any, an
        agent the ones they handled and were evaluated on (a submitted evaluation)."""
        if channel not in (t.CHAT, t.TICKET):
            raise QaError("invalid", "channel must be chat or ticket")
        found = await self.interactions.subject(channel, item_id)
        if found is None:
            raise QaError("not_found", "no such interaction")
        if actor.role not in STAFF:
            shown = await self.listing(actor, channel=channel, item_id=item_id, limit=1)
            if not shown:
                raise QaError("not_found", "no such interaction")  # an agent learns nothing
        return found, await self.interactions.thread(channel, item_id)

    async def _row(self, s: Any, evaluation_id: int) -> t.EvaluationRow:
        row = await s.get(t.EvaluationRow, evaluation_id)
        if row is None:
            raise QaError("not_found", "no such evaluation")
        return row

    @staticmethod
    def _visible(actor: Actor, row: t.EvaluationRow) -> bool:
        if actor.role in STAFF:
            return True
        return (actor.role == "agent" and actor.agent_id is not None
                and row.agent_id == actor.agent_id and row.status != t.DRAFT)

    async def get(self, actor: Actor, evaluation_id: int) -> Evaluation:
        """One evaluation: staff see any, an agent only their own once submitted."""
        async with self.db.session() as s:
            row = await self._row(s, evaluation_id)
        if not self._visible(actor, row):
            raise QaError("not_found", "no such evaluation")  # an agent learns nothing more
        return _evaluation(row)

    async def listing(self, actor: Actor, agent_id: str | None = None,
                      status: str | None = None, recording_id: str | None = None,
                      limit: int = 100, channel: str | None = None,
                      item_id: str | None = None) -> list[Evaluation]:
        """Newest first; an agent gets only their own submitted evaluations."""
        row = t.EvaluationRow
        stmt = sa.select(row).order_by(row.created_at.desc(), row.id.desc()).limit(limit)
        if actor.role not in STAFF:
            if not actor.agent_id:
                return []
            stmt = stmt.where(row.agent_id == actor.agent_id, row.status != t.DRAFT)
        elif agent_id is not None:
            stmt = stmt.where(row.agent_id == agent_id)
        if status is not None:
            stmt = stmt.where(row.status == status)
        if recording_id is not None:
            stmt = stmt.where(row.recording_id == recording_id)
        if channel is not None:
            stmt = stmt.where(row.channel == channel)
        if item_id is not None:
            stmt = stmt.where(row.item_id == item_id)
        async with self.db.session() as s:
            return [_evaluation(r) for r in (await s.execute(stmt)).scalars()]

    async def update(self, actor: Actor, evaluation_id: int,
                     answers: Mapping[str, Mapping[str, Any]], comment: str | None,
                     submit: bool) -> Evaluation:
        """Change a draft's answers (and comment); ``submit`` scores it and shows it to the
        agent. Only its evaluator or an admin may, and only while it is a draft."""
        async with self.db.session() as s:
            row = await self._row(s, evaluation_id)
            if actor.role not in STAFF:
                raise QaError("forbidden", "only supervisors and admins evaluate calls")
            if row.evaluator != actor.username and actor.role != "admin":
                raise QaError("forbidden", "this draft is another evaluator's")
            if row.status != t.DRAFT:
                raise QaError("conflict", f"the evaluation is {row.status}, not a draft")
            form = parse_form(row.form)
            current = {qid: dict(a) for qid, a in (row.answers or {}).items()}
            problems = []
            for qid, change in answers.items():
                question = form.question(qid)
                if question is None:
                    problems.append(f"{qid}: no such question")
                    continue
                value: Value = change.get("value")
                if value is not None and (problem := question.problem(value)):
                    problems.append(problem)
                    continue
                entry = current.setdefault(qid, {"value": None, "auto": None, "note": ""})
                entry["value"] = value
                auto = entry.get("auto")
                entry["overridden"] = auto is not None and auto.get("value") != value
                if "note" in change:
                    entry["note"] = str(change.get("note") or "")[:1000]
            if submit:
                missing = [q.id for q in form.questions()
                           if current.get(q.id, {}).get("value") is None]
                if missing:
                    problems.append(f"unanswered: {', '.join(missing)}")
            if problems:
                raise QaError("invalid", problems[0], problems)
            if comment is not None:
                row.comment = comment[:5000]
            if submit:
                result = score(form, {qid: a.get("value") for qid, a in current.items()})
                for qid, entry in current.items():
                    entry["failed"] = qid in result.failed_by
                row.score, row.possible, row.percent = result.points, result.possible, \
                    result.percent
                row.failed, row.status, row.submitted_at = result.failed, t.SUBMITTED, \
                    self.now()
            row.answers = current
            await s.commit()
            done = _evaluation(row)
        if submit and done.score is not None:
            await self.audit.record(actor.username, "qa.evaluation.submit", str(done.id), "ok", {
                "agent_id": done.agent_id, "channel": done.channel, "item_id": done.item_id,
                "recording_id": done.recording_id,
                "percent": done.score.percent, "failed": done.score.failed,
                "overridden": sorted(q for q, a in done.answers.items() if a.get("overridden"))})
        return done

    async def respond(self, actor: Actor, evaluation_id: int, response: str,
                      comment: str) -> Evaluation:
        """The evaluated agent acknowledges or disputes a submitted evaluation, once."""
        if response not in (ACKNOWLEDGE, DISPUTE):
            raise QaError("invalid", "response must be acknowledge or dispute")
        async with self.db.session() as s:
            row = await self._row(s, evaluation_id)
            if not self._visible(actor, row):
                raise QaError("not_found", "no such evaluation")
            if actor.role != "agent" or row.agent_id != actor.agent_id:
                raise QaError("forbidden", "only the evaluated agent answers an evaluation")
            if row.status != t.SUBMITTED:
                raise QaError("conflict", f"the evaluation is {row.status}")
            row.status = t.ACKNOWLEDGED if response == ACKNOWLEDGE else t.DISPUTED
            row.responded_by, row.responded_at = actor.username, self.now()
            row.agent_comment = comment[:5000]
            await s.commit()
            done = _evaluation(row)
        await self.audit.record(actor.username, f"qa.evaluation.{response}", str(done.id), "ok",
                                {"agent_id": done.agent_id, "comment": done.agent_comment[:200]})
        return done

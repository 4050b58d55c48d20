"""The evaluators' worklist: sampling rules (``sampling.py``) applied to the recorded calls,
the closed chats and the solved tickets, the picks stored, and a loop that runs them every
``qa.sampling_interval_s`` clock seconds.

Design note: a run looks at this week and the last one (a call that ended after Monday 00:00
still belongs to the week it started in), per active rule: the week's finished interactions of
the rule's channel with an agent, in the rule's queue, grouped by agent (``interactions.py``),
and what the rule picked already; the pure ``choose`` says what to add. ``(rule, channel,
item)`` is unique, so two runs racing (the loop and "sample now") cannot pick one twice: the
loser's insert fails and is retried at the next run. An item's status is not stored: it is the
latest evaluation of that interaction (``open`` when there is none), so evaluating from
anywhere ticks it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contactcenter.common.tasks import stop_gracefully
from contactcenter.common.timestamps import aware, iso
from contactcenter.domain.clock import Clock
from contactcenter.qa import tables as t
from contactcenter.qa.interactions import InteractionReader
from contactcenter.qa.sampling import SamplingRule, check_rule, choose, week_of
from contactcenter.qa.settings import QaSettings
from contactcenter.storage.database import Database

log = logging.getLogger(__name__)
OPEN = "open"


class RuleTaken(Exception):
    """Another rule has that name."""


def _rule(r: t.SamplingRuleRow) -> SamplingRule:
    return SamplingRule(r.id, r.name, r.queue, float(r.percent), r.minimum, r.scorecard_id,
                        bool(r.active), aware(r.updated_at), r.updated_by or "",
                        r.channel or t.VOICE)


class WorklistStore:
    """Sampling rules, their picks, and the worklist read with each pick's status."""

    def __init__(self, db: Database, settings: QaSettings,
                 interactions: InteractionReader) -> None:
        self.db = db
        self.interactions = interactions
        self.tz = ZoneInfo(settings.sampling_timezone)
        self.seed = settings.sampling_seed or secrets.token_hex(16)
        self._running = asyncio.Lock()

    async def rules(self) -> list[SamplingRule]:
        """Every rule, by name."""
        async with self.db.session() as s:
            rows = (await s.execute(sa.select(t.SamplingRuleRow)
                                    .order_by(t.SamplingRuleRow.name))).scalars().all()
        return [_rule(r) for r in rows]

    async def save_rule(self, body: dict[str, Any], by: str, now: datetime,
                        rule_id: int | None = None) -> SamplingRule | None:
        """Create (``rule_id`` None) or change a rule; None when ``rule_id`` is unknown.
        Raises ``sampling.RuleError`` or ``RuleTaken``."""
        fields = check_rule(body)
        async with self.db.session() as s:
            if rule_id is None:
                row = t.SamplingRuleRow()
                s.add(row)
            else:
                found = await s.get(t.SamplingRuleRow, rule_id)
                if found is None:
                    return None
                row = found
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at, row.updated_by = now, by
            try:
                await s.commit()
            except IntegrityError:
                raise RuleTaken(fields["name"]) from None
            return _rule(row)

    async def run(self, now: datetime) -> int:
        """Apply every active rule to this week and the last; the number of calls picked."""
        async with self._running:
            added = 0
            for rule in [r for r in await self.rules() if r.active]:
                for when in (now - timedelta(days=7), now):
                    added += await self._run_rule(rule, when, now)
            return added

    async def _run_rule(self, rule: SamplingRule, when: datetime, now: datetime) -> int:
        week, start, end = week_of(when, self.tz)
        wl = t.WorklistRow
        found = await self.interactions.finished(rule.channel, start, end, rule.queue)
        if not found:
            return 0
        by_id = {f.item_id: f for f in found}
        async with self.db.session() as s:
            picked = set((await s.execute(sa.select(wl.item_id).where(
                wl.rule_id == rule.id, wl.channel == rule.channel,
                wl.item_id.in_(list(by_id))))).scalars())
            calls: dict[str, list[str]] = {}
            for f in found:
                calls.setdefault(f.agent_id or "", []).append(f.item_id)
            new = choose(rule, calls, picked, self.seed)
            for agent, item_id in new:
                f = by_id[item_id]
                s.add(wl(rule_id=rule.id, week=week, channel=rule.channel, item_id=item_id,
                         recording_id=item_id if rule.channel == t.VOICE else None,
                         agent_id=agent, queue=f.queue, started_at=f.started_at,
                         label=f.label[:200], picked_at=now))
            try:
                await s.commit()
            except IntegrityError:  # another run picked some of them first: next time
                log.info("qa sampling: rule %s raced another run; retried later", rule.name)
                return 0
        return len(new)

    async def worklist(self, *, status: str | None = None, rule_id: int | None = None,
                       agent_id: str | None = None, week: str | None = None,
                       channel: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Picks, newest week first, each with its interaction's time and its status (the
        latest evaluation's, or ``open``)."""
        wl, ev, rule = t.WorklistRow, t.EvaluationRow, t.SamplingRuleRow
        latest = (sa.select(ev.channel, ev.item_id, sa.func.max(ev.id).label("eid"))
                  .group_by(ev.channel, ev.item_id).subquery())
        stmt = (sa.select(wl, rule.name, rule.scorecard_id, ev.id, ev.status)
                .join(rule, rule.id == wl.rule_id)
                .outerjoin(latest, sa.and_(latest.c.channel == wl.channel,
                                           latest.c.item_id == wl.item_id))
                .outerjoin(ev, ev.id == latest.c.eid)
                .order_by(wl.week.desc(), wl.started_at.desc(), wl.id))
        if rule_id is not None:
            stmt = stmt.where(wl.rule_id == rule_id)
        if agent_id:
            stmt = stmt.where(wl.agent_id == agent_id)
        if week:
            stmt = stmt.where(wl.week == week)
        if channel:
            stmt = stmt.where(wl.channel == channel)
        if status == OPEN:
            stmt = stmt.where(ev.id.is_(None))
        elif status:
            stmt = stmt.where(ev.status == status)
        async with self.db.session() as s:
            rows = (await s.execute(stmt.limit(limit))).all()
        return [{"id": w.id, "rule_id": w.rule_id, "rule": name, "week": w.week,
                 "channel": w.channel, "item_id": w.item_id,
                 "recording_id": w.recording_id, "agent_id": w.agent_id, "queue": w.queue,
                 "label": w.label, "caller_id": w.label if w.channel == t.VOICE else None,
                 "started_at": iso(aware(w.started_at)),
                 "picked_at": iso(aware(w.picked_at)), "scorecard_id": card,
                 "evaluation_id": eid, "status": estatus or OPEN}
                for w, name, card, eid, estatus in rows]


class SamplingLoop:
    """Runs the rules every ``sampling_interval_s`` clock seconds until ``close``."""

    def __init__(self, store: WorklistStore, clock: Clock, settings: QaSettings) -> None:
        self.store, self.clock, self.settings = store, clock, settings
        self._stop = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop (its first run is at once)."""
        self._task = asyncio.create_task(self._run(), name="qa-sampling")

    async def close(self) -> None:
        """Stop; a run in progress finishes its transaction."""
        self._closing = True
        self._stop.set()
        await stop_gracefully(self._task)
        self._task = None

    async def _run(self) -> None:
        while not self._closing:
            try:
                added = await self.store.run(datetime.fromtimestamp(self.clock.time(), UTC))
                if added:
                    log.info("qa sampling: %d call(s) added to the worklist", added)
            except Exception:
                log.exception("qa sampling: run failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.clock.real(self.settings.sampling_interval_s)):
                    await self._stop.wait()

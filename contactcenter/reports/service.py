"""The live aggregation: tail the interaction log by id and fold new rows into the intervals.

Design note: this reads what the routing writer already committed, every ``refresh_s`` real
seconds, instead of subscribing to routing's dispatch. The call path pays nothing (the figures
are built off the hot path, a few thousand rows per query), the interval tables can never hold
an event the log lost, and a restart carries on exactly where the last committed batch ended
(``store.py``). A read of a report folds in what is new first (``catch_up``), so after
``RoutingService.flush()`` the figures include every event so far. Open agent states are
counted up to now on every read, and in the background at least every ``CREDIT_EVERY_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from contactcenter.common.tasks import stop_gracefully
from contactcenter.reports.aggregate import Aggregator, Deltas, QueueRules
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.store import Cursor, ReportStore
from contactcenter.reports.today import TodayFigures
from contactcenter.storage.database import Database

log = logging.getLogger(__name__)
BATCH = 5000  # log rows per transaction
CREDIT_EVERY_S = 60.0  # clock seconds between background counts of open agent states
MAX_RETRIES = 5


class ReportService:
    """Keeps the interval tables up to date with the interaction log while the server runs."""

    def __init__(self, db: Database, now: Callable[[], float], calendar: Calendar,
                 rules: Callable[[str], QueueRules], *, refresh_s: float = 2.0,
                 batch: int = BATCH, today: TodayFigures | None = None) -> None:
        self.store = ReportStore(db)
        self.now = now  # the server's Clock.time
        self.calendar = calendar
        self.rules = rules
        self.refresh_s = refresh_s
        self.batch = batch
        self.folded = 0  # log rows folded in by this process
        self.today = today  # the wallboard's figures of the day, fed with every batch
        self._agg = Aggregator(calendar, rules)
        self._cursor = Cursor(0, 0.0)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._credited_at = 0.0
        self._closing = False
        self._wake = asyncio.Event()

    @property
    def cursor(self) -> Cursor:
        """The position this process last committed."""
        return self._cursor

    async def start(self) -> None:
        """Load the stored position and start folding in the background."""
        await self.load()
        if self._task is None:
            self._closing = False
            self._wake.clear()
            self._task = asyncio.create_task(self._run(), name="reports-aggregator")

    async def stop(self) -> None:
        """Stop the background task once the batch in progress is committed (what is not
        folded yet is folded at the next start)."""
        self._closing = True
        self._wake.set()  # a cancellation swallowed on the way still ends the loop
        task, self._task = self._task, None
        await stop_gracefully(task)  # a batch in progress finishes its transaction

    def rules_changed(self) -> None:
        """A queue's thresholds may have changed: rows folded from now on use the new ones."""
        self._agg.forget_rules()

    async def load(self) -> None:
        """Take the stored position and open agent states as this process's (``catch_up``
        carries on from there)."""
        cursor = await self.store.ensure_cursor()
        agg = Aggregator(self.calendar, self.rules)
        agg.opens = await self.store.load_opens()
        agg.credited_to = cursor.credited_to
        if self.today is not None:
            await self.today.load(self.store.db)
        self._agg, self._cursor = agg, cursor

    async def _run(self) -> None:
        while not self._closing:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that lands as the event is set.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh_s):
                    await self._wake.wait()
            if self._closing:
                return
            try:
                due = self.now() >= self._credited_at + CREDIT_EVERY_S
                await self.catch_up(credit=due, stoppable=True)
            except Exception:
                log.exception("reports: folding the interaction log in failed")

    async def catch_up(self, credit: bool = True, *, stoppable: bool = False) -> int:
        """Fold in every committed log row not folded yet; with ``credit``, count open agent
        states up to now. Returns the number of rows folded in. ``stoppable`` (the background
        loop): return after the batch in progress once ``stop`` was asked."""
        total = 0
        retries = 0
        while True:
            async with self._lock:
                try:
                    n, done = await self._one_batch(credit)
                except _Conflict:
                    retries += 1
                    if retries > MAX_RETRIES:
                        raise RuntimeError("reports: the aggregation position keeps moving "
                                           "under this process") from None
                    await self.load()
                    continue
            total += n
            if done or (stoppable and self._closing):  # the rest: at the next start
                return total
            await asyncio.sleep(0)  # let the server breathe between batches of a long catch-up

    async def _one_batch(self, credit: bool) -> tuple[int, bool]:
        agg, old, store = self._agg, self._cursor, self.store
        rows = await store.fetch(old.last_event_id, self.batch)
        done = len(rows) < self.batch
        out = Deltas()
        try:
            if rows:
                need = agg.needs_history(rows)
                if need:
                    agg.learn(await store.history(need, rows[0].id), need)
                agg.feed(rows, out)
            now = self.now()
            if done and credit:
                agg.credit_open(now, out)
                self._credited_at = now
            new = Cursor(rows[-1].id if rows else old.last_event_id, agg.credited_to)
            if new == old and not out:
                return 0, done
            opens = {a: agg.opens.get(a) for a in agg.changed_agents}
            if not await store.commit(out, old, new, opens, now):
                raise _Conflict()
        except _Conflict:
            raise
        except BaseException:
            # The aggregator moved on in memory but nothing was stored: start again from
            # what is stored.
            await asyncio.shield(self.load())
            raise
        agg.changed_agents.clear()
        self._cursor = new
        if self.today is not None:
            self.today.add(out)
        self.folded += len(rows)
        return len(rows), done


class _Conflict(Exception):
    """Another process moved the position first."""

"""IVR sessions' retention: sessions older than ``reports.ivr_retention_days`` go, their sums stay.

Design note. The IVR report is counted from the sessions when read (``ivr_report.py``); a
session is a row plus one row per node it entered, so the tables grow with every call. The purge
folds the sessions that started before the kept range into 15-minute sums
(``ivr_flow_intervals``: sessions and seconds per slot, flow, ending and last node;
``ivr_node_intervals``: sessions that reached each node per slot, flow and node) and deletes
them, in one transaction per day of slots, so a report always sees each session exactly once,
either as itself or inside a sum (the reader reads both in one statement). The sums are only
ever added to: a session written late for a slot already folded is folded by the next purge.
The purge runs when the server starts and every ``every_s`` real seconds after.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.common.periodic import Periodic
from contactcenter.reports.intervals import INTERVAL_S, Calendar
from contactcenter.reports.tables import (
    ivr_flow_intervals,
    ivr_node_intervals,
    ivr_session_nodes,
    ivr_sessions,
)
from contactcenter.storage.database import Database

log = logging.getLogger(__name__)
DAY_S = 86400
EVERY_S = 3600.0  # real seconds between purges


@dataclass(frozen=True, slots=True)
class Purged:
    """One purge: sessions deleted (their sums kept), and the slot they all started before."""

    sessions: int
    before: int  # UTC epoch of a slot start; 0 when nothing is purged (kept for ever)


def kept_from(now: float, days: int) -> int:
    """The first slot still kept ``days`` days after ``now``'s: sessions that started before
    it are purged (0 with ``days`` 0: every session is kept)."""
    if days <= 0:
        return 0
    return int((now - days * DAY_S) // INTERVAL_S) * INTERVAL_S


async def purged_before(db: Database) -> int | None:
    """The end of the last slot the retention folded (sessions before it may be gone), or None
    when nothing was ever purged."""
    async with db.engine.connect() as c:
        last = (await c.execute(sa.select(sa.func.max(ivr_flow_intervals.c.slot)))).scalar()
    return None if last is None else int(last) + INTERVAL_S


def not_kept_note(calendar: Calendar, first: dt.date, before: int | None) -> str | None:
    """What a rebuild of days from ``first`` should know about the IVR: None when the range is
    within what is kept."""
    if before is None or calendar.midnight(first) >= before:
        return None
    since = calendar.label(before)
    return (f"IVR sessions that started before {since} are no longer kept "
            "(reports.ivr_retention_days): the IVR report of those days reads their kept "
            "15-minute sums; a rebuild re-counts only the interaction log's figures")


class IvrRetention:
    """Purges the IVR sessions past their retention, keeping their sums, now and periodically."""

    def __init__(self, db: Database, days: int, now: Callable[[], float], *,
                 every_s: float = EVERY_S) -> None:
        self.db = db
        self.days = days
        self.now = now  # the server's Clock.time
        self.every_s = every_s
        self.purged = 0  # sessions purged by this process
        self._loop = Periodic("ivr-sessions-retention", self._pass)

    async def purge(self) -> Purged:
        """Fold and delete every session that started before the kept range, one day of
        slots per transaction."""
        before = kept_from(self.now(), self.days)
        total = 0
        while before:
            done = await self._purge_day(before)
            if done is None:
                break
            total += done
        self.purged += total
        if total:
            log.info("ivr sessions: %d older than %d days purged (their sums kept)", total,
                     self.days)
        return Purged(total, before)

    async def _purge_day(self, before: int) -> int | None:
        async with self.db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot for the fold and the delete: a session committed between the two
                # is neither folded nor deleted (the next purge takes it). SQLite's writer holds
                # its lock from the first insert to the commit, so nothing comes in between.
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                return await self._fold(conn, before)

    async def _fold(self, conn: AsyncConnection, before: int) -> int | None:
        """Fold and delete the first day of slots before ``before``; None when none is left."""
        s, n = ivr_sessions.c, ivr_session_nodes.c
        first = (await conn.execute(sa.select(sa.func.min(s.slot))
                                    .where(s.slot < before))).scalar()
        if first is None:
            return None
        upto = min(before, int(first) + DAY_S)
        old = s.slot < upto
        await conn.execute(ivr_flow_intervals.insert().from_select(
            ["slot", "flow", "ending", "last_node", "sessions", "duration_s"],
            sa.select(s.slot, s.flow, s.ending, s.last_node, sa.func.count(),
                      sa.func.sum(s.ended_at - s.started_at))
            .where(old).group_by(s.slot, s.flow, s.ending, s.last_node)))
        await conn.execute(ivr_node_intervals.insert().from_select(
            ["slot", "flow", "node", "reached", "first_seq"],
            sa.select(s.slot, s.flow, n.node, sa.func.count(sa.distinct(n.session_id)),
                      sa.func.min(n.seq))
            .select_from(ivr_session_nodes.join(ivr_sessions, n.session_id == s.id))
            .where(old).group_by(s.slot, s.flow, n.node)))
        await conn.execute(ivr_session_nodes.delete().where(
            n.session_id.in_(sa.select(s.id).where(old))))
        gone = await conn.execute(ivr_sessions.delete().where(old))
        return int(gone.rowcount or 0)

    async def start(self) -> None:
        """Purge in the background now and every ``every_s`` (nothing with ``days`` 0)."""
        if self.days > 0:
            self._loop.start()

    async def close(self) -> None:
        """Stop purging (a purge under way finishes its day first)."""
        await self._loop.close()

    async def _pass(self) -> float:
        try:
            await self.purge()
        except Exception:  # the database away: the next turn tries again
            log.exception("ivr sessions: purge failed")
        return self.every_s

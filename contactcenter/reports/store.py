"""Reads of the interaction log and writes of the interval tables, for one ``Database``.

Design note: the aggregation's position is one row (``report_cursor``: the last log row folded
in, and the time open agent states are counted up to). A batch's figures, that position and
the agents' open states are written in one transaction, and the position is moved only from
the value the writer started from (``commit`` returns False otherwise), so a second process
folding the same log (``contactcenter reports rebuild`` catching up while the server runs) can
never count a row twice: the loser reloads and carries on from the winner's position. A rebuild
replaces a day's rows while holding that row (``locked``), so no batch lands in between.

Rows are read in id order. The routing service is the log's only writer and appends each batch
in one transaction from one task, so ids are committed in order and "everything after id N" is
never missing a row that commits later with a smaller id.
"""

from __future__ import annotations

import contextlib
import json
import json.scanner
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.reports import tables as t
from contactcenter.reports.aggregate import (
    CONVERSATION_KINDS,
    LOGGED_OUT,
    PAUSED,
    AgentOpen,
    Deltas,
    LogRow,
)
from contactcenter.reports.tables import AGENT_COUNTS, AGENT_FIGURES, QUEUE_COUNTS, QUEUE_FIGURES
from contactcenter.routing.tables import RoutingEventRow, RoutingInteractionRow
from contactcenter.storage.database import Database

_EV = RoutingEventRow.__table__
_IT = RoutingInteractionRow.__table__
_IN_CHUNK = 500  # interaction ids per IN (...) of a history lookup
_QUEUE_INT = frozenset(QUEUE_COUNTS)
_QMAX = QUEUE_FIGURES.index(t.QUEUE_MAX)
_AGENT_INT = frozenset(AGENT_COUNTS)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the aggregation stands."""

    last_event_id: int
    credited_to: float


def _row_query() -> sa.Select[Any]:
    return (sa.select(_EV.c.id, _EV.c.at, _EV.c.kind, _EV.c.interaction_id, _EV.c.agent_id,
                      _EV.c.queue, _EV.c.payload, _IT.c.channel)
            .select_from(_EV.outerjoin(_IT, _IT.c.id == _EV.c.interaction_id)))


def _json_loads() -> Callable[[str], Any]:
    """``json.loads`` for the log's own JSON (``json.dumps`` output: no surrounding blanks),
    one C call per value: ``json.loads`` goes through three Python frames and a regex for the
    whitespace around the value, a third of the cost of folding a row in."""
    make = getattr(json.scanner, "c_make_scanner", None)  # private: typeshed omits it
    if make is None:  # no C accelerator
        return json.loads
    scan = make(json.JSONDecoder())
    return lambda text: scan(text, 0)[0]


_LOADS = _json_loads()


def _log_rows(result: Iterable[Any]) -> list[LogRow]:
    loads = _LOADS
    return [LogRow(r[0], r[1], r[2], r[3], r[4], r[5],
                   (loads(r[6]) if isinstance(r[6], str) else r[6]) or {}, r[7] or "voice")
            for r in result]


_MARKS = {"qmark": lambda i: "?", "numeric_dollar": lambda i: f"${i}",
          "format": lambda i: "%s", "numeric": lambda i: f":{i}"}


@dataclass(frozen=True, slots=True)
class _Sql:
    """The hot statements in the driver's own SQL: the tail of the log, and an upsert per
    figure table. SQLAlchemy's statement and row processing cost more CPU per row than
    counting the row (a fold runs every 2 s on the server)."""

    tail: str  # rows after an id (limit)
    tail_upto: str  # ... not past an id, stamped before a time (a rebuild)
    upserts: dict[str, tuple[str, tuple[str, ...]]]  # table -> (SQL, column order)

    @classmethod
    def of(cls, style: str, dialect: str) -> _Sql:
        mark = _MARKS[style]
        select = ("SELECT e.id, e.at, e.kind, e.interaction_id, e.agent_id, e.queue, e.payload,"
                  " i.channel FROM routing_events e"
                  " LEFT OUTER JOIN routing_interactions i ON i.id = e.interaction_id")
        tail = f"{select} WHERE e.id > {mark(1)} ORDER BY e.id LIMIT {mark(2)}"
        upto = (f"{select} WHERE e.id > {mark(1)} AND e.id <= {mark(2)} AND e.at < {mark(3)}"
                f" ORDER BY e.id LIMIT {mark(4)}")
        greatest = "greatest" if dialect == "postgresql" else "max"
        upserts = {}
        for table in (*t.FIGURE_TABLES, t.queue_days):
            cols = tuple(c.name for c in table.columns)
            keys = [c.name for c in table.primary_key.columns]
            sets = []
            for name in cols:
                if name in keys or name in ("hour", "day"):
                    continue
                if name == t.QUEUE_MAX:
                    sets.append(f"{name} = {greatest}({table.name}.{name}, excluded.{name})")
                else:
                    sets.append(f"{name} = {table.name}.{name} + excluded.{name}")
            marks = ", ".join(mark(i) for i in range(1, len(cols) + 1))
            sql = (f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})"
                   f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}")
            upserts[table.name] = (sql, cols)
        return cls(tail, upto, upserts)


class ReportStore:
    """The reports' reads and writes on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._statements: _Sql | None = None

    # ------------------------------------------------------------------ the log
    async def fetch(self, after_id: int, limit: int, *, upto_id: int | None = None,
                    before_at: float | None = None,
                    conn: AsyncConnection | None = None) -> list[LogRow]:
        """Log rows after ``after_id`` in id order (at most ``limit``; not past ``upto_id`` or
        at/after ``before_at`` when given)."""
        async with self._conn(conn) as c:
            sql = self._sql(c)
            if upto_id is None and before_at is None:
                return _log_rows(await _raw_fetch(c, sql.tail, (after_id, limit)))
            return _log_rows(await _raw_fetch(c, sql.tail_upto, (
                after_id, upto_id if upto_id is not None else 2**62,
                before_at if before_at is not None else float("inf"), limit)))

    async def history(self, iids: Iterable[str], before_id: int,
                      conn: AsyncConnection | None = None) -> list[LogRow]:
        """Earlier conversation rows of ``iids`` (before ``before_id``), in log order."""
        ids = sorted(iids)
        rows: list[LogRow] = []
        async with self._conn(conn) as c:
            for i in range(0, len(ids), _IN_CHUNK):
                query = (_row_query()
                         .where(_EV.c.interaction_id.in_(ids[i:i + _IN_CHUNK]),
                                _EV.c.kind.in_(CONVERSATION_KINDS), _EV.c.id < before_id))
                rows += _log_rows(await c.execute(query))
        rows.sort(key=lambda r: r.id)
        return rows

    async def last_id_before(self, at: float) -> int:
        """The id of the last log row stamped before ``at`` (0: none)."""
        async with self._conn(None) as c:
            found = await c.scalar(sa.select(sa.func.max(_EV.c.id)).where(_EV.c.at < at))
        return int(found or 0)

    async def states_at(self, at: float) -> dict[str, AgentOpen]:
        """Each agent's open state at ``at``, from the log: its last state row before then,
        and for a paused agent the reason changes (``agent-pause``) after that row."""
        last = (sa.select(_EV.c.agent_id, sa.func.max(_EV.c.id).label("id"))
                .where(_EV.c.kind == "agent-state", _EV.c.at < at)
                .group_by(_EV.c.agent_id).subquery())
        query = (sa.select(_EV.c.id, _EV.c.agent_id, _EV.c.at, _EV.c.payload)
                 .join(last, last.c.id == _EV.c.id))
        opens: dict[str, AgentOpen] = {}
        state_ids: dict[str, int] = {}
        async with self._conn(None) as c:
            for row_id, agent, when, payload in await c.execute(query):
                payload = payload or {}
                state = str(payload.get("state") or LOGGED_OUT)
                if state == LOGGED_OUT or agent is None:
                    continue
                reason = str(payload.get("reason") or "") if state == PAUSED else ""
                opens[agent] = AgentOpen(state, reason, float(when))
                state_ids[agent] = int(row_id)
            paused = sorted(a for a, st in opens.items() if st.state == PAUSED)
            for i in range(0, len(paused), _IN_CHUNK):
                chunk = paused[i:i + _IN_CHUNK]
                pauses = (sa.select(_EV.c.id, _EV.c.agent_id, _EV.c.at, _EV.c.payload)
                          .where(_EV.c.kind == "agent-pause", _EV.c.at < at,
                                 _EV.c.agent_id.in_(chunk))
                          .order_by(_EV.c.id))
                for row_id, agent, when, payload in await c.execute(pauses):
                    st = opens[agent]
                    reason = str((payload or {}).get("reason") or "")
                    if row_id > state_ids[agent] and reason != st.reason:
                        opens[agent] = AgentOpen(PAUSED, reason, float(when))
        return opens

    # ------------------------------------------------------------------ position
    async def ensure_cursor(self) -> Cursor:
        """The aggregation's position (a new database starts at the log's beginning)."""
        async with self.db.engine.begin() as c:
            found = await self._read_cursor(c)
            if found is not None:
                return found
            await c.execute(self._insert(t.cursor).values(
                id=1, last_event_id=0, credited_to=0.0, updated_at=0.0
            ).on_conflict_do_nothing(index_elements=["id"]))
            return await self._read_cursor(c) or Cursor(0, 0.0)

    async def read_cursor(self) -> Cursor:
        """The position now (the start of the log when none is stored)."""
        async with self._conn(None) as c:
            return await self._read_cursor(c) or Cursor(0, 0.0)

    @staticmethod
    async def _read_cursor(conn: AsyncConnection) -> Cursor | None:
        row = (await conn.execute(sa.select(t.cursor.c.last_event_id, t.cursor.c.credited_to)
                                  .where(t.cursor.c.id == 1))).first()
        return Cursor(int(row[0]), float(row[1])) if row is not None else None

    async def load_opens(self) -> dict[str, AgentOpen]:
        """The open agent states stored with the position."""
        async with self._conn(None) as c:
            rows = await c.execute(sa.select(t.agent_open))
            return {r.agent_id: AgentOpen(r.state, r.reason, float(r.since)) for r in rows}

    async def commit(self, deltas: Deltas, old: Cursor, new: Cursor,
                     opens: dict[str, AgentOpen | None], now: float) -> bool:
        """Add ``deltas``, store ``opens`` (None: logged out) and move the position from ``old``
        to ``new``, in one transaction; False (nothing written) when the position was not
        ``old`` any more."""
        async with self.db.engine.begin() as c:
            moved = await c.execute(
                t.cursor.update()
                .where(t.cursor.c.id == 1, t.cursor.c.last_event_id == old.last_event_id,
                       t.cursor.c.credited_to == old.credited_to)
                .values(last_event_id=new.last_event_id, credited_to=new.credited_to,
                        updated_at=now))
            if moved.rowcount != 1:
                await c.rollback()
                return False
            await self._add(c, deltas)
            gone = sorted(a for a, st in opens.items() if st is None)
            if gone:
                await c.execute(t.agent_open.delete().where(t.agent_open.c.agent_id.in_(gone)))
            kept = [{"agent_id": a, "state": st.state, "reason": st.reason, "since": st.since}
                    for a, st in sorted(opens.items()) if st is not None]
            if kept:
                stmt = self._insert(t.agent_open)
                await c.execute(stmt.on_conflict_do_update(
                    index_elements=["agent_id"],
                    set_={k: stmt.excluded[k] for k in ("state", "reason", "since")}), kept)
        return True

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[tuple[AsyncConnection, Cursor]]:
        """A transaction holding the position row (no batch commits meanwhile) and the
        position; everything written on the connection commits together at the end."""
        async with self.db.engine.begin() as c:
            # A write first: SQLite takes its write lock, PostgreSQL locks the row.
            await c.execute(t.cursor.update().where(t.cursor.c.id == 1)
                            .values(updated_at=t.cursor.c.updated_at))
            yield c, await self._read_cursor(c) or Cursor(0, 0.0)

    async def replace(self, conn: AsyncConnection, start: int, end: int, day: str,
                      deltas: Deltas) -> None:
        """Make the local day ``day``, the intervals starting in ``[start, end)``, exactly
        ``deltas`` (a rebuild)."""
        for table in t.FIGURE_TABLES:
            await conn.execute(table.delete().where(table.c.start >= start, table.c.start < end))
        await conn.execute(t.queue_days.delete().where(t.queue_days.c.day == day))
        await self._add(conn, deltas.within(start, end))

    # ------------------------------------------------------------------ figure rows
    async def _add(self, conn: AsyncConnection, d: Deltas) -> None:
        b = d.buckets
        rows: dict[str, list[dict[str, Any]]] = {
            t.queue_intervals.name: [
                {"start": k[0], "hour": b[k[0]][0], "day": b[k[0]][1], "queue": k[1],
                 "channel": k[2], **_values(QUEUE_FIGURES, v, _QUEUE_INT)}
                for k, v in sorted(d.queue.items())],
            t.agent_intervals.name: [
                {"start": k[0], "hour": b[k[0]][0], "day": b[k[0]][1], "agent_id": k[1],
                 "queue": k[2], "channel": k[3], **_values(AGENT_FIGURES, v, _AGENT_INT)}
                for k, v in sorted(d.agent.items())],
            t.agent_states.name: [
                {"start": k[0], "hour": b[k[0]][0], "day": b[k[0]][1], "agent_id": k[1],
                 "state": k[2], "reason": k[3], "seconds": v}
                for k, v in sorted(d.states.items())],
            t.dispositions.name: [
                {"start": k[0], "hour": b[k[0]][0], "day": b[k[0]][1], "queue": k[1],
                 "channel": k[2], "agent_id": k[3], "disposition": k[4], "count": v}
                for k, v in sorted(d.dispositions.items())],
        }
        days: dict[tuple[str, str, str], list[float]] = {}
        for (start, queue, channel), values in d.queue.items():
            day = days.setdefault((b[start][1], queue, channel), [0.0] * len(QUEUE_FIGURES))
            for i, v in enumerate(values):
                day[i] = max(day[i], v) if i == _QMAX else day[i] + v
        rows[t.queue_days.name] = [
            {"day": k[0], "queue": k[1], "channel": k[2],
             **_values(QUEUE_FIGURES, v, _QUEUE_INT)} for k, v in sorted(days.items())]
        sql = self._sql(conn)
        for name, items in rows.items():
            if items:
                stmt, cols = sql.upserts[name]
                await conn.exec_driver_sql(stmt, [tuple(r[c] for c in cols) for r in items])

    def _insert(self, table: sa.Table) -> Any:
        if self.db.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _sql(self, conn: AsyncConnection) -> _Sql:
        if self._statements is None:
            self._statements = _Sql.of(conn.dialect.paramstyle, conn.dialect.name)
        return self._statements

    @contextlib.asynccontextmanager
    async def _conn(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        if conn is not None:
            yield conn
            return
        async with self.db.engine.connect() as c:
            yield c


async def _raw_fetch(conn: AsyncConnection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """Rows as the driver gives them (tuples, records), in one round trip: SQLAlchemy's result
    rows cost more per row than the row is worth here. Other drivers go through SQLAlchemy."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    name = conn.dialect.driver
    if name == "aiosqlite":
        return list(await driver.execute_fetchall(sql, params))
    if name == "asyncpg":
        return list(await driver.fetch(sql, *params))
    return list((await conn.exec_driver_sql(sql, params)).all())


def _values(names: Sequence[str], values: Sequence[float], ints: frozenset[str]) -> dict[str, Any]:
    return {n: (round(v) if n in ints else v) for n, v in zip(names, values)}

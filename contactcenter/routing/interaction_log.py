"""The interaction log: append-only routing events plus the router's current-state tables.

``routing_events`` is the history reports read (one row per state change). ``routing_interactions``
and ``routing_agents`` hold the latest state of every interaction and agent so that a restarted
server can rebuild its waiting lines without replaying history. Both are written in one
transaction per batch, so the current state never runs ahead of the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from sqlalchemy import JSON, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.domain.interaction import OPEN_STATES, InteractionState
from contactcenter.domain.routing_events import RoutingEvent
from contactcenter.domain.routing_records import AgentRecord, InteractionRecord
from contactcenter.routing.tables import RoutingAgentRow, RoutingEventRow, RoutingInteractionRow
from contactcenter.storage.database import Database
from contactcenter.storage.leadership import Fence
from contactcenter.storage.sqlite_batch import run_writes

_INTERACTION_FIELDS = tuple(f.name for f in fields(InteractionRecord))
_AGENT_FIELDS = tuple(f.name for f in fields(AgentRecord))
_EVENT_FIELDS = ("at", "kind", "interaction_id", "agent_id", "queue", "payload")
_KEY_COLUMNS = ("interaction_id", "agent_id", "queue")
_NOT_PAYLOAD = frozenset({"at", *_KEY_COLUMNS})  # as in RoutingEvent.payload
# Values in column order, read in C, from the records themselves (frozen snapshots):
# ``dataclasses.asdict`` deep-copied every dict and list (data, skills, wrap-ups), and even a
# dict comprehension per row was a visible share of the writer's time.
_GET_INTERACTION = operator.attrgetter(*_INTERACTION_FIELDS)
_GET_AGENT = operator.attrgetter(*_AGENT_FIELDS)
_PLACEHOLDERS = {"qmark": lambda i: "?", "numeric_dollar": lambda i: f"${i}",
                 "format": lambda i: "%s", "numeric": lambda i: f":{i}"}

# json.dumps of an empty one
_EMPTY_JSON: MappingProxyType[type, str] = MappingProxyType({dict: "{}", list: "[]"})
Params = list[list[Any]] | list[tuple[Any, ...]]
Writes = list[tuple[str, Params]]  # (driver SQL, rows) in the order they run


def _json_dumps() -> Callable[[Any], str]:
    """``json.dumps`` with its default arguments: the same text, but one C call per value.

    ``json.dumps`` goes through three Python frames and builds a new C encoder per value,
    more than half of its time for the small dicts stored here. No circular-reference check
    (records hold plain data; a cycle would still fail, with RecursionError).
    """
    make = getattr(json.encoder, "c_make_encoder", None)  # private: typeshed omits it
    if make is None:  # no C accelerator
        return json.dumps
    std = json.JSONEncoder()
    encode = make(None, std.default, json.encoder.encode_basestring_ascii, std.indent,
                  std.key_separator, std.item_separator, std.sort_keys, std.skipkeys,
                  std.allow_nan)
    join = "".join
    return lambda value: join(encode(value, 0))


@dataclass(frozen=True, slots=True)
class _EventShape:
    """How events of one class become ``routing_events`` rows (built once per class).

    ``RoutingEvent.payload`` calls ``dataclasses.fields`` and filters it for every event; the
    same dict is built here from names known in advance and a C getter.
    """

    kind: str
    has: tuple[bool, ...]  # interaction_id, agent_id, queue (_KEY_COLUMNS)
    names: tuple[str, ...] | None  # payload fields; None: the class has its own payload()
    get: Callable[[Any], tuple[Any, ...]]

    @classmethod
    def of(cls, event_type: type[RoutingEvent]) -> _EventShape:
        names = tuple(f.name for f in fields(event_type))
        has = tuple(n in names or hasattr(event_type, n) for n in _KEY_COLUMNS)
        if event_type.payload is not RoutingEvent.payload:
            return cls(event_type.kind, has, None, _no_values)
        payload = tuple(n for n in names if n not in _NOT_PAYLOAD)
        if len(payload) > 1:
            get: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(*payload)
        elif payload:
            one = operator.attrgetter(payload[0])
            get = lambda ev: (one(ev),)
        else:
            get = _no_values
        return cls(event_type.kind, has, payload, get)


def _no_values(_: Any) -> tuple[Any, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class _Statements:
    """The three statements of ``append`` in the driver's own SQL and parameter style.

    Rows go to the driver as plain sequences, JSON columns as JSON text, as SQLAlchemy's
    ``JSON`` type would store them (Python None included: JSON ``null``). Going through a
    compiled Core statement cost about 20 us of Python per row (parameter processing).
    """

    events: str
    interactions: str
    agents: str
    interaction_json: tuple[int, ...]  # positions of JSON columns in the record's values
    agent_json: tuple[int, ...]

    @classmethod
    def of(cls, style: str) -> _Statements:
        return cls(
            _insert_sql(RoutingEventRow.__table__, _EVENT_FIELDS, None, style),
            _insert_sql(RoutingInteractionRow.__table__, _INTERACTION_FIELDS, "id", style),
            _insert_sql(RoutingAgentRow.__table__, _AGENT_FIELDS, "agent_id", style),
            _json_positions(RoutingInteractionRow.__table__, _INTERACTION_FIELDS),
            _json_positions(RoutingAgentRow.__table__, _AGENT_FIELDS),
        )


def _insert_sql(table: Any, names: tuple[str, ...], key: str | None, style: str) -> str:
    """An INSERT of ``names`` (an upsert on ``key`` when given) in the driver's paramstyle."""
    mark = _PLACEHOLDERS[style]
    marks = ", ".join(mark(i) for i in range(1, len(names) + 1))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    if key is not None:
        sets = ", ".join(f"{n} = excluded.{n}" for n in names if n != key)
        sql += f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
    return sql


def _json_positions(table: Any, names: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(i for i, n in enumerate(names) if isinstance(table.c[n].type, JSON))


def _record_rows(
    records: Iterable[Any], get: Callable[[Any], tuple[Any, ...]], json_at: tuple[int, ...],
    dumps: Callable[[Any], str],
) -> list[list[Any]]:
    rows = []
    for rec in records:
        values = list(get(rec))
        for i in json_at:
            value = values[i]
            # Most are None, {} or [] (no callback, no data, no wrap-up): skip the encoder.
            if value is None:
                values[i] = "null"
            elif value or type(value) not in _EMPTY_JSON:
                values[i] = dumps(value)
            else:
                values[i] = _EMPTY_JSON[type(value)]
        rows.append(values)
    return rows


class InteractionLog:
    """Reads and writes the routing tables of one ``Database``."""

    def __init__(self, db: Database, fence: Fence | None = None) -> None:
        self.db = db
        # Several nodes: each write proves, in its transaction, that this node still leads.
        self.fence = fence
        self._statements: _Statements | None = None
        self._shapes: dict[type[RoutingEvent], _EventShape] = {}
        self._dumps = _json_dumps()

    def _sql(self) -> _Statements:
        if self._statements is None:
            self._statements = _Statements.of(self.db.engine.dialect.paramstyle)
        return self._statements

    def _event_rows(self, events: Iterable[RoutingEvent]) -> list[tuple[Any, ...]]:
        shapes, dumps, rows = self._shapes, self._dumps, []
        for ev in events:
            if not ev.persist:
                continue
            shape = shapes.get(type(ev))
            if shape is None:
                shape = shapes[type(ev)] = _EventShape.of(type(ev))
            has_iid, has_agent, has_queue = shape.has
            names = shape.names
            payload = ev.payload() if names is None else dict(zip(names, shape.get(ev)))
            rows.append((
                ev.at, shape.kind,
                ev.interaction_id if has_iid else None,  # type: ignore[attr-defined]
                ev.agent_id if has_agent else None,  # type: ignore[attr-defined]
                ev.queue if has_queue else None,  # type: ignore[attr-defined]
                dumps(payload),
            ))
        return rows

    def _writes(
        self, events: Iterable[RoutingEvent], interactions: Iterable[InteractionRecord],
        agents: Iterable[AgentRecord],
    ) -> Writes:
        """The statements and rows of one ``append`` (none: nothing to store)."""
        rows = self._event_rows(events)
        irows = {r.id: r for r in interactions}  # full snapshots: the last one wins
        arows = {r.agent_id: r for r in agents}
        sql, dumps = self._sql(), self._dumps
        writes: Writes = []
        if rows:
            writes.append((sql.events, rows))
        if irows:
            writes.append((sql.interactions, _record_rows(
                irows.values(), _GET_INTERACTION, sql.interaction_json, dumps)))
        if arows:
            writes.append((sql.agents, _record_rows(
                arows.values(), _GET_AGENT, sql.agent_json, dumps)))
        return writes

    async def append(
        self,
        events: Iterable[RoutingEvent],
        interactions: Iterable[InteractionRecord] = (),
        agents: Iterable[AgentRecord] = (),
    ) -> None:
        """Store events (history) and the latest rows (current state) in one transaction."""
        writes = self._writes(events, interactions, agents)
        if writes:
            async with self.db.engine.connect() as conn:
                await _store(conn, await _driver(conn), writes, self.fence)

    def writer(self) -> LogWriter:
        """An ``append`` that keeps its connection from batch to batch (for one task)."""
        return LogWriter(self)

    async def open_interactions(self) -> list[InteractionRecord]:
        """Every interaction not yet finished, for a restart."""
        states = sorted(s.value for s in OPEN_STATES)
        async with self.db.session() as session:
            result = await session.execute(
                select(RoutingInteractionRow).where(RoutingInteractionRow.state.in_(states))
            )
            return [_to_record(r) for r in result.scalars()]

    async def recently_exited(self, since: float, limit: int) -> list[InteractionRecord]:
        """Interactions that left a queue (state ``exited``) at ``since`` or later, at most
        the ``limit`` latest: their customers may still ask for a callback after a restart."""
        row = RoutingInteractionRow
        async with self.db.session() as session:
            result = await session.execute(
                select(row).where(row.state == InteractionState.EXITED.value,
                                  row.updated_at >= since)
                .order_by(row.updated_at.desc()).limit(limit)
            )
            return [_to_record(r) for r in result.scalars()]

    async def agents(self) -> list[AgentRecord]:
        """Every agent's last stored presence."""
        async with self.db.session() as session:
            result = await session.execute(select(RoutingAgentRow))
            return [
                AgentRecord(
                    agent_id=r.agent_id, presence=r.presence, pause_reason=r.pause_reason,
                    queues=list(r.queues or []), answered_today=r.answered_today, day=r.day,
                    updated_at=r.updated_at, wrapups=list(r.wrapups or []),
                )
                for r in result.scalars()
            ]

    async def events(
        self, interaction_id: str | None = None, agent_id: str | None = None, limit: int = 10_000
    ) -> list[dict[str, Any]]:
        """History rows in order, optionally for one interaction or agent (for reports/tests)."""
        query = select(RoutingEventRow).order_by(RoutingEventRow.id).limit(limit)
        if interaction_id is not None:
            query = query.where(RoutingEventRow.interaction_id == interaction_id)
        if agent_id is not None:
            query = query.where(RoutingEventRow.agent_id == agent_id)
        async with self.db.session() as session:
            result = await session.execute(query)
            return [
                {"at": r.at, "kind": r.kind, "interaction_id": r.interaction_id,
                 "agent_id": r.agent_id, "queue": r.queue, **(r.payload or {})}
                for r in result.scalars()
            ]


def _to_record(r: RoutingInteractionRow) -> InteractionRecord:
    return InteractionRecord(
        id=r.id, channel=r.channel, queue=r.queue, priority=r.priority, skills=dict(r.skills),
        data=dict(r.data), callback=r.callback, state=r.state, arrived_at=r.arrived_at,
        queue_entered_at=r.queue_entered_at, seq=r.seq, relax_step=r.relax_step,
        attempts=r.attempts, agent_id=r.agent_id, offer_id=r.offer_id, offers=r.offers,
        connected_at=r.connected_at, retry_at=r.retry_at, updated_at=r.updated_at,
    )


class LogWriter:
    """``InteractionLog.append`` on one pooled connection kept from batch to batch.

    Checking a connection out of SQLAlchemy's pool and back in (greenlet switches, a shielded
    close, a reset rollback that is one more hop to aiosqlite's thread) cost more CPU than the
    rows of a 50 ms batch. The routing writer keeps one while it has work and gives it back
    when it goes idle (``release``), so an idle or stopped server holds none. Not for
    concurrent use: one task owns it.
    """

    def __init__(self, log: InteractionLog) -> None:
        self._log = log
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    async def append(
        self,
        events: Iterable[RoutingEvent],
        interactions: Iterable[InteractionRecord] = (),
        agents: Iterable[AgentRecord] = (),
    ) -> None:
        """As ``InteractionLog.append``: one transaction, committed when this returns."""
        writes = self._log._writes(events, interactions, agents)
        if not writes:
            return
        if self._conn is None:
            conn = await self._log.db.engine.connect()  # pings a server connection first
            try:
                self._driver = await _driver(conn)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        conn = self._conn
        try:
            await _store(conn, self._driver, writes, self._log.fence)
        except BaseException:
            # Whatever failed (the server went away, a cancelled round trip), the next batch
            # starts on a fresh connection rather than on one in an unknown state.
            self._conn = self._driver = None
            await asyncio.shield(_discard(conn))
            raise

    async def release(self) -> None:
        """Give the connection back to the pool (the next ``append`` takes one again)."""
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            await asyncio.shield(conn.close())  # back in the pool even if we are cancelled


async def _discard(conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.invalidate()
    await conn.close()


async def _driver(conn: AsyncConnection) -> Any:
    """The driver's own connection (aiosqlite or asyncpg) under a pooled one."""
    return (await conn.get_raw_connection()).driver_connection


async def _store(conn: AsyncConnection, driver: Any, writes: Writes,
                 fence: Fence | None = None) -> None:
    """One transaction, straight on the driver connection for the two drivers we know.

    SQLAlchemy's async layer costs a greenlet switch per statement and, on SQLite, a hop to
    aiosqlite's thread per statement, cursor and commit; the batch needs neither.
    """
    dialect = conn.dialect
    if fence is not None and dialect.driver != "asyncpg":
        raise ValueError("only PostgreSQL (asyncpg) keeps a cluster's fence")
    if dialect.driver == "aiosqlite":
        await _aiosqlite_store(driver, writes)
    elif dialect.driver == "asyncpg":
        async with driver.transaction():
            if fence is not None:
                await fence.check(driver)
            for sql, rows in writes:
                await driver.executemany(sql, rows)
    else:
        async with conn.begin():
            for sql, rows in writes:
                await conn.exec_driver_sql(sql, [tuple(r) for r in rows])


async def _aiosqlite_store(driver: Any, writes: Writes) -> None:
    run_in_thread = getattr(driver, "_execute", None)  # aiosqlite's own (private) entry point
    if run_in_thread is not None:
        await run_in_thread(run_writes, driver._conn, writes)
        return
    # Public calls only: one hop per statement.
    try:
        for sql, rows in writes:
            await driver.executemany(sql, rows)
        await driver.commit()
    except BaseException:
        await driver.rollback()
        raise

"""The interaction log: append-only routing events plus the router's current-state tables.

``routing_events`` is the history reports read (one row per state change). ``routing_interactions``
and ``routing_agents`` hold the latest state of every interaction and agent so that a restarted
server can rebuild its waiting lines without replaying history. Both are written in one
transaction per batch, so the current state never runs ahead of the history.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, MetaData, String, event, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.domain.interaction import OPEN_STATES
from contactcenter.domain.routing_events import RoutingEvent
from contactcenter.domain.routing_records import AgentRecord, InteractionRecord
from contactcenter.storage.base import Base
from contactcenter.storage.database import Database


class RoutingEventRow(Base):
    """One routing event (history)."""

    __tablename__ = "routing_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    interaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RoutingInteractionRow(Base):
    """The latest state of one interaction."""

    __tablename__ = "routing_interactions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    skills: Mapped[dict[str, int]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    callback: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    arrived_at: Mapped[float] = mapped_column(Float)
    queue_entered_at: Mapped[float] = mapped_column(Float)
    seq: Mapped[int] = mapped_column(Integer)
    relax_step: Mapped[int] = mapped_column(Integer, default=-1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    offer_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    offers: Mapped[int] = mapped_column(Integer, default=0)
    connected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    retry_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_routing_interactions_state", "state"),)


class RoutingAgentRow(Base):
    """The latest presence and queues of one agent."""

    __tablename__ = "routing_agents"
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    presence: Mapped[str] = mapped_column(String(16))
    pause_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    queues: Mapped[list[str]] = mapped_column(JSON)
    answered_today: Mapped[int] = mapped_column(Integer, default=0)
    day: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[float] = mapped_column(Float)
    # Wrap-ups in progress (AgentRecord.wrapups), so a restart keeps them; added later.
    wrapups: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


# Columns added to ``routing_agents`` after its first release: (name, DDL type).
_LATER_AGENT_COLUMNS = (("wrapups", "JSON"),)


@event.listens_for(Base.metadata, "after_create")
def _add_missing_agent_columns(target: MetaData, connection: Connection, **_: object) -> None:
    # create_all() never alters an existing table: bring an older routing_agents up to date.
    inspector = inspect(connection)
    if not inspector.has_table(RoutingAgentRow.__tablename__):
        return
    have = {c["name"] for c in inspector.get_columns(RoutingAgentRow.__tablename__)}
    for name, ddl in _LATER_AGENT_COLUMNS:
        if name not in have:
            connection.execute(
                text(f"ALTER TABLE {RoutingAgentRow.__tablename__} ADD COLUMN {name} {ddl}"))


def _event_row(ev: RoutingEvent) -> dict[str, Any]:
    return {
        "at": ev.at,
        "kind": ev.kind,
        "interaction_id": getattr(ev, "interaction_id", None),
        "agent_id": getattr(ev, "agent_id", None),
        "queue": getattr(ev, "queue", None),
        "payload": ev.payload(),
    }


_INTERACTION_FIELDS = tuple(f.name for f in fields(InteractionRecord))
_AGENT_FIELDS = tuple(f.name for f in fields(AgentRecord))
_EVENT_FIELDS = ("at", "kind", "interaction_id", "agent_id", "queue", "payload")
# Values in column order, read in C, from the records themselves (frozen snapshots):
# ``dataclasses.asdict`` deep-copied every dict and list (data, skills, wrap-ups), and even a
# dict comprehension per row was a visible share of the writer's time.
_GET_EVENT = operator.itemgetter(*_EVENT_FIELDS)
_GET_INTERACTION = operator.attrgetter(*_INTERACTION_FIELDS)
_GET_AGENT = operator.attrgetter(*_AGENT_FIELDS)
_PLACEHOLDERS = {"qmark": lambda i: "?", "numeric_dollar": lambda i: f"${i}",
                 "format": lambda i: "%s", "numeric": lambda i: f":{i}"}


@dataclass(frozen=True, slots=True)
class _Write:
    """One executemany in the driver's own SQL and parameter style.

    The rows go to the driver as plain tuples, JSON columns as JSON text, as SQLAlchemy's
    ``JSON`` type would store them (Python None included: JSON ``null``). Going through a
    compiled Core statement cost about 20 us of Python per row (parameter processing), most
    of the writer's time at 200 calls/s.
    """

    sql: str
    names: tuple[str, ...]
    json: frozenset[str]

    @classmethod
    def of(cls, table: Any, names: tuple[str, ...], key: str | None, style: str) -> _Write:
        mark = _PLACEHOLDERS[style]
        cols = ", ".join(names)
        marks = ", ".join(mark(i) for i in range(1, len(names) + 1))
        sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks})"
        if key is not None:
            sets = ", ".join(f"{n} = excluded.{n}" for n in names if n != key)
            sql += f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
        json_cols = frozenset(n for n in names if isinstance(table.c[n].type, JSON))
        return cls(sql, names, json_cols)

    async def run(self, conn: Any, rows: list[Any], get: Callable[[Any], tuple[Any, ...]]) -> None:
        """Insert ``rows``; ``get`` reads one row's values in ``names`` order (a C getter)."""
        json_at = [i for i, n in enumerate(self.names) if n in self.json]
        dumps = json.dumps
        params = []
        for row in rows:
            values = list(get(row))
            for i in json_at:
                values[i] = dumps(values[i])
            params.append(tuple(values))
        await conn.exec_driver_sql(self.sql, params)


class InteractionLog:
    """Reads and writes the routing tables of one ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._statements: tuple[_Write, _Write, _Write] | None = None

    def _writes(self) -> tuple[_Write, _Write, _Write]:
        """The three statements of ``append``, as driver SQL built once per dialect."""
        if self._statements is None:
            style = self.db.engine.dialect.paramstyle
            self._statements = (
                _Write.of(RoutingEventRow.__table__, _EVENT_FIELDS, None, style),
                _Write.of(RoutingInteractionRow.__table__, _INTERACTION_FIELDS, "id", style),
                _Write.of(RoutingAgentRow.__table__, _AGENT_FIELDS, "agent_id", style),
            )
        return self._statements

    async def append(
        self,
        events: Sequence[RoutingEvent],
        interactions: Iterable[InteractionRecord] = (),
        agents: Iterable[AgentRecord] = (),
    ) -> None:
        """Store events (history) and the latest rows (current state) in one transaction."""
        rows = [_event_row(e) for e in events if e.persist]
        irows = {r.id: r for r in interactions}  # last one wins
        arows = {r.agent_id: r for r in agents}
        if not (rows or irows or arows):
            return
        insert_events, upsert_interactions, upsert_agents = self._writes()
        async with self.db.engine.begin() as conn:
            if rows:
                await insert_events.run(conn, rows, _GET_EVENT)
            if irows:
                await upsert_interactions.run(conn, list(irows.values()), _GET_INTERACTION)
            if arows:
                await upsert_agents.run(conn, list(arows.values()), _GET_AGENT)

    async def open_interactions(self) -> list[InteractionRecord]:
        """Every interaction not yet finished, for a restart."""
        states = sorted(s.value for s in OPEN_STATES)
        async with self.db.session() as session:
            result = await session.execute(
                select(RoutingInteractionRow).where(RoutingInteractionRow.state.in_(states))
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

"""Triggers, their time automations' runs and the webhook deliveries in the database.

Design note: like ``store.py``, helpers that are part of a ticket's change take the caller's
session (a trigger's changes, its run row and its queued webhook commit with the change that
fired it, or not at all); rows leave as ``triggers.Trigger`` or ``Delivery`` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.storage.database import Database
from contactcenter.tickets.model import Status, TicketConflict, TicketNotFound
from contactcenter.tickets.tables import (
    TicketHistoryRow,
    TicketRow,
    TicketTriggerRow,
    TicketTriggerRunRow,
    TicketWebhookRow,
)
from contactcenter.tickets.triggers import Trigger, parse_trigger

DELIVERIES_MAX = 500


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook call and what became of it (the secret stays in the database)."""

    id: int
    trigger_id: int | None
    trigger_name: str
    ticket_id: int | None
    url: str
    body: str
    status: str
    attempts: int
    next_try_at: float | None
    response_code: int | None
    last_error: str | None
    created_at: float
    done_at: float | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "trigger_id": self.trigger_id, "trigger": self.trigger_name,
                "ticket_id": self.ticket_id, "url": self.url, "status": self.status,
                "attempts": self.attempts, "next_try_at": self.next_try_at,
                "response_code": self.response_code, "last_error": self.last_error,
                "created_at": self.created_at, "done_at": self.done_at}


def delivery_of(row: TicketWebhookRow) -> Delivery:
    return Delivery(row.id, row.trigger_id, row.trigger_name, row.ticket_id, row.url, row.body,
                    row.status, row.attempts, row.next_try_at, row.response_code,
                    row.last_error, row.created_at, row.done_at)


def trigger_of(row: TicketTriggerRow) -> Trigger:
    """A stored trigger (checked when saved; checked again: a definition is never trusted)."""
    return parse_trigger({"name": row.name, "event": row.event, "enabled": row.enabled,
                          "conditions": row.conditions, "actions": row.actions},
                         position=row.position, trigger_id=row.id)


def _definition(trigger: Trigger) -> dict[str, Any]:
    data = trigger.as_json(secrets=True)
    actions = [{k: v for k, v in a.items() if k != "secret_set"} for a in data["actions"]]
    return {"name": trigger.name, "event": trigger.event, "enabled": trigger.enabled,
            "conditions": [{k: v for k, v in c.items() if v is not None or k != "value"}
                           for c in data["conditions"]], "actions": actions}


class TriggerStore:
    """Reads and writes the triggers' tables of one ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ triggers
    @staticmethod
    async def triggers_in(s: AsyncSession) -> list[Trigger]:
        rows = (await s.execute(sa.select(TicketTriggerRow).order_by(
            TicketTriggerRow.position, TicketTriggerRow.id))).scalars().all()
        return [trigger_of(r) for r in rows]

    async def triggers(self) -> list[Trigger]:
        async with self.db.session() as s:
            return await self.triggers_in(s)

    async def get(self, trigger_id: int) -> Trigger:
        async with self.db.session() as s:
            row = await s.get(TicketTriggerRow, trigger_id)
        if row is None:
            raise TicketNotFound(f"no trigger {trigger_id}")
        return trigger_of(row)

    async def add(self, trigger: Trigger, now: float, actor: str) -> Trigger:
        """Store a new trigger; without a position it goes last."""
        try:
            async with self.db.session() as s, s.begin():
                last = (await s.execute(sa.select(sa.func.max(TicketTriggerRow.position))
                                        )).scalar_one_or_none()
                d = _definition(trigger)
                row = TicketTriggerRow(
                    name=d["name"], event=d["event"], enabled=d["enabled"],
                    conditions=d["conditions"], actions=d["actions"],
                    position=trigger.position or (int(last or 0) + 10), created_at=now,
                    updated_at=now, updated_by=actor[:200])
                s.add(row)
                await s.flush()
                return trigger_of(row)
        except IntegrityError:
            raise TicketConflict(f"a trigger is already called {trigger.name!r}") from None

    async def replace(self, trigger: Trigger, now: float, actor: str) -> Trigger:
        try:
            async with self.db.session() as s, s.begin():
                row = await s.get(TicketTriggerRow, trigger.id, with_for_update=True)
                if row is None:
                    raise TicketNotFound(f"no trigger {trigger.id}")
                d = _definition(trigger)
                row.name, row.event, row.enabled = d["name"], d["event"], d["enabled"]
                row.conditions, row.actions = d["conditions"], d["actions"]
                row.position = trigger.position or row.position
                row.updated_at, row.updated_by = now, actor[:200]
                await s.flush()
                return trigger_of(row)
        except IntegrityError:
            raise TicketConflict(f"a trigger is already called {trigger.name!r}") from None

    async def delete(self, trigger_id: int) -> Trigger:
        async with self.db.session() as s, s.begin():
            row = await s.get(TicketTriggerRow, trigger_id, with_for_update=True)
            if row is None:
                raise TicketNotFound(f"no trigger {trigger_id}")
            gone = trigger_of(row)
            await s.delete(row)
        return gone

    # ------------------------------------------------------------------ status entries
    @staticmethod
    async def status_since(s: AsyncSession, ticket_id: int, created_at: float) -> float:
        """When the ticket entered its current status (its last status change, else its
        creation)."""
        at = (await s.execute(sa.select(sa.func.max(TicketHistoryRow.at)).where(
            TicketHistoryRow.ticket_id == ticket_id, TicketHistoryRow.field == "status"))
        ).scalar_one_or_none()
        return float(at) if at is not None else created_at

    @staticmethod
    async def open_tickets(s: AsyncSession, limit: int) -> list[tuple[TicketRow, float]]:
        """Tickets not closed (most recently updated first) with their status entries."""
        since = (sa.select(TicketHistoryRow.ticket_id,
                           sa.func.max(TicketHistoryRow.at).label("at"))
                 .where(TicketHistoryRow.field == "status")
                 .group_by(TicketHistoryRow.ticket_id).subquery())
        rows = (await s.execute(
            sa.select(TicketRow, since.c.at).outerjoin(since, since.c.ticket_id == TicketRow.id)
            .where(TicketRow.status != Status.CLOSED.value)
            .order_by(TicketRow.updated_at.desc(), TicketRow.id.desc()).limit(limit))).all()
        return [(r[0], float(r[1]) if r[1] is not None else r[0].created_at) for r in rows]

    @staticmethod
    async def ran(s: AsyncSession, trigger_id: int, ticket_id: int, entry: float) -> bool:
        return (await s.execute(sa.select(TicketTriggerRunRow.id).where(
            TicketTriggerRunRow.trigger_id == trigger_id,
            TicketTriggerRunRow.ticket_id == ticket_id,
            TicketTriggerRunRow.entry == entry).limit(1))).first() is not None

    @staticmethod
    async def runs(s: AsyncSession) -> set[tuple[int, int, float]]:
        """Every (trigger, ticket, entry) a time automation fired for."""
        rows = (await s.execute(sa.select(TicketTriggerRunRow.trigger_id,
                                          TicketTriggerRunRow.ticket_id,
                                          TicketTriggerRunRow.entry))).all()
        return {(int(a), int(b), float(c)) for a, b, c in rows}

    @staticmethod
    def add_run(s: AsyncSession, trigger_id: int, ticket_id: int, entry: float,
                now: float) -> None:
        s.add(TicketTriggerRunRow(trigger_id=trigger_id, ticket_id=ticket_id, entry=entry,
                                  at=now))

    # ------------------------------------------------------------------ webhooks
    @staticmethod
    async def queue_webhook(s: AsyncSession, *, trigger: Trigger, ticket_id: int, url: str,
                            secret: str, body: str, now: float) -> None:
        s.add(TicketWebhookRow(
            trigger_id=trigger.id or None, trigger_name=trigger.name, ticket_id=ticket_id,
            url=url, secret=secret, body=body, status="queued", attempts=0, next_try_at=now,
            response_code=None, last_error=None, created_at=now, done_at=None))

    async def due_webhooks(self, now: float, limit: int = 20
                           ) -> list[tuple[Delivery, str]]:
        """Queued calls due at ``now``, oldest first, with their secrets."""
        async with self.db.session() as s:
            rows = (await s.execute(
                sa.select(TicketWebhookRow).where(TicketWebhookRow.status == "queued",
                                                  TicketWebhookRow.next_try_at <= now)
                .order_by(TicketWebhookRow.next_try_at, TicketWebhookRow.id).limit(limit)
            )).scalars().all()
        return [(delivery_of(r), r.secret) for r in rows]

    async def next_webhook_at(self) -> float | None:
        async with self.db.session() as s:
            return (await s.execute(sa.select(sa.func.min(TicketWebhookRow.next_try_at))
                                    .where(TicketWebhookRow.status == "queued"))
                    ).scalar_one_or_none()

    async def webhook_tried(self, delivery_id: int, status: str, now: float, *,
                            code: int | None, error: str | None,
                            next_try_at: float | None) -> None:
        async with self.db.session() as s, s.begin():
            await s.execute(sa.update(TicketWebhookRow).where(
                TicketWebhookRow.id == delivery_id, TicketWebhookRow.status == "queued")
                .values(status=status, attempts=TicketWebhookRow.attempts + 1,
                        response_code=code, last_error=error[:500] if error else None,
                        next_try_at=next_try_at, done_at=None if status == "queued" else now))

    async def deliveries(self, *, trigger_id: int | None = None, status: str | None = None,
                         ticket_id: int | None = None, limit: int = 100
                         ) -> list[Delivery]:
        """The log of webhook calls, newest first."""
        q = sa.select(TicketWebhookRow)
        if trigger_id is not None:
            q = q.where(TicketWebhookRow.trigger_id == trigger_id)
        if status is not None:
            q = q.where(TicketWebhookRow.status == status)
        if ticket_id is not None:
            q = q.where(TicketWebhookRow.ticket_id == ticket_id)
        async with self.db.session() as s:
            rows = (await s.execute(q.order_by(TicketWebhookRow.id.desc())
                                    .limit(min(limit, DELIVERIES_MAX)))).scalars().all()
        return [delivery_of(r) for r in rows]

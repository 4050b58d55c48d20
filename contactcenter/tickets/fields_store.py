"""Ticket types, custom field definitions and tickets' field values in the database.

The in-session helpers take the caller's session, so values are stored in the same
transaction as the ticket's history rows (``fields_service.py``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.storage.database import Database
from contactcenter.tickets.fields import FieldDef, Kind
from contactcenter.tickets.tables import TicketFieldRow, TicketFieldValueRow, TicketTypeRow


def _def_of(row: TicketFieldRow) -> FieldDef:
    return FieldDef(row.key, row.label, Kind(row.kind), tuple(row.options or ()),
                    row.required_on_solve, row.position)


class FieldStore:
    """Reads and writes ``ticket_types``, ``ticket_fields`` and ``ticket_field_values``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def session(self) -> AsyncSession:
        return self.db.session()

    # ------------------------------------------------------------------ definitions
    async def types(self) -> list[str]:
        async with self.db.session() as s:
            return await self.types_in(s)

    @staticmethod
    async def types_in(s: AsyncSession) -> list[str]:
        rows = (await s.execute(sa.select(TicketTypeRow.name)
                                .order_by(TicketTypeRow.position))).scalars().all()
        return list(rows)

    async def set_types(self, names: tuple[str, ...]) -> None:
        """The list of types, replaced as a whole (tickets keep a type no longer listed)."""
        async with self.db.session() as s, s.begin():
            await s.execute(sa.delete(TicketTypeRow))
            s.add_all(TicketTypeRow(name=n, position=i) for i, n in enumerate(names))

    async def fields(self) -> list[FieldDef]:
        async with self.db.session() as s:
            return await self.fields_in(s)

    @staticmethod
    async def fields_in(s: AsyncSession) -> list[FieldDef]:
        rows = (await s.execute(sa.select(TicketFieldRow).order_by(
            TicketFieldRow.position, TicketFieldRow.key))).scalars().all()
        return [_def_of(r) for r in rows]

    async def save_field(self, field: FieldDef, by: str, now: float, *, create: bool
                         ) -> FieldDef | None:
        """Create (None when the key is taken) or replace (None when unknown) a field."""
        async with self.db.session() as s, s.begin():
            row = await s.get(TicketFieldRow, field.key)
            if (row is None) == (not create):
                return None
            if row is None:
                top = (await s.execute(sa.select(sa.func.max(TicketFieldRow.position))
                                       )).scalar_one_or_none()
                row = TicketFieldRow(key=field.key, position=(top or 0) + 1)
                s.add(row)
            row.label, row.kind, row.options = field.label, field.kind.value, list(field.options)
            row.required_on_solve, row.updated_at, row.updated_by = (field.required_on_solve,
                                                                      now, by[:200])
            await s.flush()
            return _def_of(row)

    async def delete_field(self, key: str) -> bool:
        """Remove a field and every ticket's value of it."""
        async with self.db.session() as s, s.begin():
            await s.execute(sa.delete(TicketFieldValueRow).where(TicketFieldValueRow.key == key))
            result = await s.execute(sa.delete(TicketFieldRow).where(TicketFieldRow.key == key))
        return bool(getattr(result, "rowcount", 0))

    # ------------------------------------------------------------------ values
    async def values(self, ticket_id: int) -> dict[str, Any]:
        async with self.db.session() as s:
            return await self.values_in(s, ticket_id)

    @staticmethod
    async def values_in(s: AsyncSession, ticket_id: int) -> dict[str, Any]:
        rows = (await s.execute(sa.select(TicketFieldValueRow.key, TicketFieldValueRow.value)
                                .where(TicketFieldValueRow.ticket_id == ticket_id))).all()
        return {k: v for k, v in rows}

    @staticmethod
    async def values_for(s: AsyncSession, ticket_ids: list[int]) -> dict[int, dict[str, Any]]:
        """The values of many tickets at once (the triggers' sweep and dry run)."""
        out: dict[int, dict[str, Any]] = {}
        for at in range(0, len(ticket_ids), 500):  # bounded IN lists
            rows = (await s.execute(sa.select(
                TicketFieldValueRow.ticket_id, TicketFieldValueRow.key, TicketFieldValueRow.value)
                .where(TicketFieldValueRow.ticket_id.in_(ticket_ids[at:at + 500])))).all()
            for ticket_id, key, value in rows:
                out.setdefault(ticket_id, {})[key] = value
        return out

    @staticmethod
    async def put_value(s: AsyncSession, ticket_id: int, key: str,
                        checked: tuple[Any, str] | None) -> None:
        """Store (or, with None, clear) one value of a ticket."""
        row = await s.get(TicketFieldValueRow, (ticket_id, key))
        if checked is None:
            if row is not None:
                await s.delete(row)
        elif row is None:
            s.add(TicketFieldValueRow(ticket_id=ticket_id, key=key, value=checked[0],
                                      text=checked[1]))
        else:
            row.value, row.text = checked

"""Setting a ticket's type and custom field values, and the check before it is solved.

Each change is one transaction with its history rows (``type``, ``field:<key>``) under the
tickets' lock, as every other change of a ticket (``service.py``); whoever may change the
ticket may set its fields. ``apply_in`` is that change inside a caller's transaction: the
API's ``set``, a new ticket's values (``new_in``, the service's hook: a ticket is made with its
type and values or not at all, and its ``created`` triggers see them) and a trigger's
``set_field`` action all go through it, so all are checked alike. A change by a person starts
the ``updated`` triggers (``changed`` names ``type`` and ``fields.<key>``); a trigger's own
change does not (the loop safety of ``service.change_in``). ``solving`` is the service's hook
before a change to ``solved``: people (the API, a reply that solves) must fill the required
fields first; triggers and the system are not held to it, so a time automation never stops at
a field nobody can fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets.fields import FieldRefused, check_value, missing_on_solve
from contactcenter.tickets.fields_store import FieldStore
from contactcenter.tickets.model import Change, NewTicket, TicketNotFound
from contactcenter.tickets.service import SYSTEM, Effects, TicketService, Who
from contactcenter.tickets.store import ticket_of
from contactcenter.tickets.tables import TicketRow

UNCHANGED: Any = object()  # a ``type`` left as it is


class TicketFields:
    """Types and custom fields of tickets over one service."""

    def __init__(self, service: TicketService, store: FieldStore) -> None:
        self.service = service
        self.store = store

    async def of(self, ticket_id: int, who: Who) -> dict[str, Any]:
        """A ticket's type and values (404 as the ticket itself when ``who`` may not see it)."""
        ticket = await self.service.ticket(ticket_id, who)
        async with self.store.session() as s:
            row = await s.get(TicketRow, ticket.id)
            values = await self.store.values_in(s, ticket.id)
        return {"type": row.ticket_type if row is not None else None, "values": values}

    async def set(self, ticket_id: int, who: Who, values: Mapping[str, Any],
                  ticket_type: Any = UNCHANGED) -> dict[str, Any]:
        """Change the type (None: no type) and the values given (None: clear one)."""
        effects = Effects()
        async with self.service.lock, self.service.store.session() as s, s.begin():
            row = await self.service.store.row(s, ticket_id, for_update=True)
            if row is None or not self.service.may_see(ticket_of(row), who):
                raise TicketNotFound(f"no ticket #{ticket_id}")
            changed = await apply_in(self.service, s, row, who, values, ticket_type, effects)
            hook = self.service.on_changed
            if changed and hook is not None and not who.name.startswith("trigger:"):
                await hook(s, row, who, changed, effects)
            effects.tell(row.assignee, "ticket-updated", ticket_of(row))
            result = {"type": row.ticket_type,
                      "values": await self.store.values_in(s, row.id)}
        await self.service.run(effects)
        return result

    async def new_in(self, s: AsyncSession, row: TicketRow, new: NewTicket, who: Who) -> None:
        """The service's hook: a new ticket's type and values, checked and stored in ``s``
        (``FieldRefused`` naming the field or the type rolls the whole ticket back)."""
        await apply_in(self.service, s, row, who, new.field_values,
                       new.ticket_type if new.ticket_type is not None else UNCHANGED, None)

    async def solving(self, s: AsyncSession, row: TicketRow, who: Who) -> None:
        """Refuse to solve ``row`` while a field required on solve is empty (422)."""
        if who == SYSTEM or who.name.startswith("trigger:"):
            return
        missing = missing_on_solve(await self.store.fields_in(s),
                                   await self.store.values_in(s, row.id))
        if missing:
            raise FieldRefused(f"ticket #{row.id} cannot be solved before these fields are "
                               f"filled: {', '.join(f.label for f in missing)}")


async def apply_in(service: TicketService, s: AsyncSession, row: TicketRow, who: Who,
                   values: Mapping[str, Any], ticket_type: Any, effects: Effects | None
                   ) -> dict[str, tuple[Any, Any]]:
    """Check, then store ``values`` (None clears one) and ``ticket_type`` (``UNCHANGED``: kept,
    None: no type) on ``row`` in ``s``, each change with its history row; returns what changed
    as ``{"type" | "fields.<key>": (old, new)}``. Everything is checked before anything is
    written. ``effects`` None: a ticket being made (its SLA clocks start after this)."""
    store = FieldStore
    fields = {f.key: f for f in await store.fields_in(s)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise FieldRefused(f"no field {unknown[0]!r} (fields: "
                           f"{', '.join(fields) or 'none defined'})")
    checked = {key: check_value(fields[key], value) for key, value in values.items()}
    if ticket_type is not UNCHANGED and ticket_type != row.ticket_type \
            and ticket_type is not None:
        types = await store.types_in(s)
        if ticket_type not in types:
            raise FieldRefused(f"no ticket type {ticket_type!r} (types: "
                               f"{', '.join(types) or 'none defined'})")
    now = service.clock.time()
    changed: dict[str, tuple[Any, Any]] = {}
    if ticket_type is not UNCHANGED and ticket_type != row.ticket_type:
        service.store.add_change(s, Change(row.id, now, who.name, "type", row.ticket_type,
                                           ticket_type))
        changed["type"] = (row.ticket_type, ticket_type)
        row.ticket_type = ticket_type
    old = await store.values_in(s, row.id)
    for key, value in checked.items():
        new = value[0] if value is not None else None
        if new == old.get(key):
            continue
        await store.put_value(s, row.id, key, value)
        service.store.add_change(s, Change(row.id, now, who.name, f"field:{key}",
                                           old.get(key), new))
        changed[f"fields.{key}"] = (old.get(key), new)
        old[key] = new
    if changed and effects is not None:
        row.updated_at = now
        # A policy may look at the type and the values (sla_policies.py).
        await service.reconsider_sla_in(s, row, row.priority, who, effects)
    return changed

"""Triggers at work: cascades inside the tickets' transactions, the time automations' sweep,
the dry run. The rules themselves are ``triggers.py`` (pure); this module is their I/O.

Design note.
* ``TicketService`` calls ``on_created`` / ``on_changed`` (and ``merge.py`` ``on_merged`` /
  ``on_split``) inside the transaction of the change (under the tickets' lock), so what triggers do commits with the change that fired them, or
  not at all. Their changes go through ``TicketService.change_in`` as the actor
  ``trigger:<name>`` (history rows, routing, the agents' events as for any change), and
  ``change_in`` starts no cascade for such an actor: that is the loop safety.
* Time automations are swept from the database: every ``check_s`` at most (sooner when a
  ticket's next due moment is nearer, or when a change woke the sweep), each due (trigger,
  ticket) fires in its own transaction with a ``ticket_trigger_runs`` row keyed by the
  ticket's entry into its status (unique), so it fires once, also across a restart, and again
  only after the ticket left that status and came back.
* Mails go through the outbox; webhook calls are ``ticket_webhooks`` rows the sender works
  through; both are queued in the same transaction. Every firing is audited
  (``tickets.trigger.fire``) after the commit.
* The facts include the ticket's type and custom field values, read in the same session
  (``facts_in``); the sweep and the dry run read the values of all their tickets at once, and
  only when a rule looks at them. A ``set_field`` goes through ``fields_service.apply_in``,
  checked against the fields as they are now (a field deleted since is skipped, saying why).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.common.tasks import stop_gracefully
from contactcenter.domain.clock import Clock
from contactcenter.tickets.fields_service import UNCHANGED, apply_in
from contactcenter.tickets.fields_store import FieldStore
from contactcenter.tickets.mail.compose import Outgoing, compose, new_message_id
from contactcenter.tickets.model import Change, Status, Ticket, TicketError
from contactcenter.tickets.service import Effects, TicketService, Who
from contactcenter.tickets.store import ticket_of
from contactcenter.tickets.tables import TicketRow
from contactcenter.tickets.triggers import (
    Catalog,
    Facts,
    Plan,
    Trigger,
    cascade,
    due_at,
    facts_of,
    matches,
    plan,
    uses_fields,
)
from contactcenter.tickets.triggers_settings import TriggerSettings
from contactcenter.tickets.triggers_store import TriggerStore

log = logging.getLogger(__name__)
Audit = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]


async def _no_audit(_actor: str, _action: str, _target: str, _detail: dict[str, Any]) -> None:
    return None


class TriggerEngine:
    """Runs the stored triggers on tickets' changes and on time."""

    def __init__(self, service: TicketService, store: TriggerStore, clock: Clock,
                 settings: TriggerSettings) -> None:
        self.service = service
        self.store = store
        self.clock = clock
        self.settings = settings
        self.audit: Audit = _no_audit  # the audit log's, once the web is up
        self.wake_webhooks: Callable[[], None] = lambda: None
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def catalog(self) -> Catalog:
        """The types and fields a rule is checked against when an admin saves it."""
        async with self.store.db.session() as s:
            return Catalog(tuple(await FieldStore.types_in(s)),
                           {f.key: f for f in await FieldStore.fields_in(s)})

    @staticmethod
    async def facts_in(s: AsyncSession, row: TicketRow, since: float, changed: Any = (),
                       other: Ticket | None = None) -> Facts:
        """What conditions read of ``row`` now, its type and field values included."""
        return facts_of(ticket_of(row), since, changed, other, ticket_type=row.ticket_type,
                        fields=await FieldStore.values_in(s, row.id))

    # ------------------------------------------------------------------ cascades
    async def on_created(self, s: AsyncSession, row: TicketRow, who: Who,
                         effects: Effects) -> None:
        """The ``created`` triggers on a ticket just stored in ``s``."""
        await self._cascade(s, row, "created", (), effects)

    async def on_changed(self, s: AsyncSession, row: TicketRow, who: Who,
                         changed: dict[str, tuple[Any, Any]], effects: Effects) -> None:
        """The ``updated`` triggers after ``who`` changed ``changed`` of ``row`` in ``s``."""
        await self._cascade(s, row, "updated", changed, effects)

    async def on_merged(self, s: AsyncSession, row: TicketRow, other: TicketRow, who: Who,
                        effects: Effects) -> None:
        """The ``merged`` triggers on ``row`` once ``other`` was merged into it in ``s``."""
        await self._cascade(s, row, "merged", (), effects, other)

    async def on_split(self, s: AsyncSession, row: TicketRow, other: TicketRow, who: Who,
                       effects: Effects) -> None:
        """The ``split`` triggers on ``row``, the new ticket split off ``other`` in ``s``
        (after its ``created`` triggers, once its messages moved)."""
        await self._cascade(s, row, "split", (), effects, other)

    async def _cascade(self, s: AsyncSession, row: TicketRow, event: str,
                       changed: Any, effects: Effects, other: TicketRow | None = None) -> None:
        stored = [t for t in await self.store.triggers_in(s) if t.enabled]
        timed = [t for t in stored if t.event == "time"]
        triggers = [t for t in stored if t.event == event]
        if not triggers and not timed:
            return
        now = self.clock.time()
        since = await self.store.status_since(s, row.id, row.created_at)
        related = ticket_of(other) if other is not None else None
        out = cascade(triggers, event, await self.facts_in(s, row, since, changed, related),
                      now, agents=sorted(self.service.agents()),
                      queues=sorted(self.service.queues()))
        for step in out.plans:
            await self._apply(s, row, step, event, effects, related)
        # The change may have made a time automation due for this ticket: the sweep looks
        # again (it would otherwise sleep up to check_s).
        after = await self.facts_in(s, row, await self.store.status_since(s, row.id,
                                                                           row.created_at))
        if any(due_at(t, after) is not None for t in timed):
            effects.after.append(self._wake_sweep)

    def _wake_sweep(self) -> None:
        self._wake.set()

    async def _apply(self, s: AsyncSession, row: TicketRow, step: Plan, event: str,
                     effects: Effects, other: Ticket | None = None) -> None:
        """Carry out one trigger's plan on ``row`` in ``s`` (``other``: the ticket merged in,
        or split from, which webhooks carry as ``other``)."""
        trigger = step.trigger
        who = Who(trigger.actor, staff=True)
        now = self.clock.time()
        skipped = list(step.skipped)
        if not step.changes.is_empty():
            try:
                await self.service.change_in(s, row, step.changes, who, effects)
            except TicketError as exc:  # refused before anything was written
                skipped.append(str(exc))
        if step.fields:
            try:
                await apply_in(self.service, s, row, who, dict(step.fields), UNCHANGED,
                               effects)
            except TicketError as exc:  # checked before anything was written
                skipped.append(str(exc))
        for email in step.emails:
            await self._mail(s, row, email.to, email.subject, email.text, trigger, effects)
        ticket = ticket_of(row)
        for hook in step.webhooks:
            payload = {"type": "ticket.trigger", "trigger": trigger.name, "event": event,
                       "at": now, "ticket": ticket.as_json()}
            if other is not None:
                payload["other"] = other.as_json()
            payload["fields"] = {"type": row.ticket_type,
                                 "values": await FieldStore.values_in(s, row.id)}
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
            await self.store.queue_webhook(s, trigger=trigger, ticket_id=row.id, url=hook.url,
                                           secret=hook.secret, body=body, now=now)
        if step.webhooks:
            effects.after.append(self.wake_webhooks)
        fired: dict[str, Any] = {"trigger": trigger.name, "event": event,
                                 "emails": len(step.emails), "webhooks": len(step.webhooks),
                                 "skipped": skipped}
        if other is not None:
            fired["other"] = other.id
        self.service.store.add_change(s, Change(row.id, now, trigger.actor, "trigger", None,
                                                fired))
        detail = {"ticket": row.id, "event": event, "skipped": skipped,
                  "changes": sorted(_changed_fields(step)), "emails": len(step.emails),
                  "webhooks": [h.url for h in step.webhooks]}
        effects.after.append(lambda: self.audit(trigger.actor, "tickets.trigger.fire",
                                                f"ticket:{row.id}", detail))

    async def _mail(self, s: AsyncSession, row: TicketRow, to: str, subject: str, text: str,
                    trigger: Trigger, effects: Effects) -> None:
        """A trigger's mail: to the requester in the ticket's thread, or to an address (not
        filed on the ticket: a reply to it is not the customer's)."""
        if to == "requester":
            if await self.service.queue_mail_in(s, row, text, automatic=True, kind="trigger",
                                                effects=effects) is not None:
                effects.mail = True
            return
        settings = self.service.settings
        box = settings.mailbox_for(row.mailbox, row.queue)
        sender = box.address if box is not None else f"triggers@{settings.domain}"
        now = self.clock.time()
        message_id = new_message_id(settings.domain)
        raw = compose(Outgoing(
            sender=sender, sender_name=box.name if box is not None else "Tickets",
            to=to, to_name="", subject=f"{subject} [#{row.id}]"[:250],
            text=f"{text}\n\nTicket #{row.id}: {row.subject}\nStatus: {row.status}\n"
                 f"Queue: {row.queue}\nAssignee: {row.assignee or '(nobody)'}\n",
            automatic=True), message_id, now).as_bytes()
        await self.service.store.add_mail(
            s, direction="out", status="queued", raw=raw, peer=to, envelope_from=sender,
            envelope_to=[to], now=now, message_id=message_id, automatic=True,
            kind="trigger", flags=[trigger.name[:32]])
        effects.mail = True

    # ------------------------------------------------------------------ dry run
    async def dry_run(self, trigger: Trigger) -> dict[str, Any]:
        """Which tickets ``trigger`` matches now (not closed, newest first, at most
        ``scan_max``) and what it would do to each; nothing is written. A time automation
        also leaves out the tickets it already fired for in their current status."""
        now = self.clock.time()
        agents, queues = sorted(self.service.agents()), sorted(self.service.queues())
        async with self.store.db.session() as s:
            rows = await self.store.open_tickets(s, self.settings.scan_max)
            runs = await self.store.runs(s) if trigger.event == "time" and trigger.id else set()
            values = await FieldStore.values_for(s, [r.id for r, _ in rows]) \
                if uses_fields(trigger) else {}
        found = []
        for row, since in rows:
            facts = facts_of(ticket_of(row), since, ticket_type=row.ticket_type,
                             fields=values.get(row.id))
            if not matches(trigger, facts, now) or (trigger.id, row.id, since) in runs:
                continue
            step = plan(trigger, facts, agents=agents, queues=queues)
            found.append({"ticket": {"id": row.id, "subject": row.subject,
                                     "status": row.status}, **step.as_json(facts)})
        return {"matches": found, "scanned": len(rows), "at": now}

    # ------------------------------------------------------------------ time automations
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tickets-automations")

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await stop_gracefully(self._task)
        self._task = None

    async def _run(self) -> None:
        while not self._closing:
            self._wake.clear()
            wait = self.settings.check_s
            try:
                next_at = await self.sweep()
                if next_at is not None:
                    wait = min(wait, max(0.0, next_at - self.clock.time()))
            except Exception:
                log.exception("tickets: automations sweep failed")
            if self._closing:
                break
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: see outbox.py
                async with asyncio.timeout(self.clock.real(wait)):
                    await self._wake.wait()

    async def sweep(self) -> float | None:
        """Fire every time automation due now (each once per ticket per status entry);
        returns when the next one will be due (None: none in view)."""
        async with self.store.db.session() as s:
            timed = [t for t in await self.store.triggers_in(s)
                     if t.enabled and t.event == "time"]
            if not timed:
                return None
            rows = await self.store.open_tickets(s, self.settings.scan_max)
            runs = await self.store.runs(s)
            values = await FieldStore.values_for(s, [r.id for r, _ in rows]) \
                if any(uses_fields(t) for t in timed) else {}
        now = self.clock.time()
        next_at: float | None = None
        for row, since in rows:
            facts = facts_of(ticket_of(row), since, ticket_type=row.ticket_type,
                             fields=values.get(row.id))
            for trigger in timed:
                if (trigger.id, row.id, since) in runs:
                    continue
                due = due_at(trigger, facts)
                if due is None:
                    continue
                if due > now:
                    next_at = due if next_at is None else min(next_at, due)
                elif matches(trigger, facts, now):
                    try:
                        await self.fire(trigger, row.id)
                    except Exception:
                        log.exception("tickets: automation %r on ticket #%d failed",
                                      trigger.name, row.id)
        return next_at

    async def fire(self, trigger: Trigger, ticket_id: int) -> bool:
        """Fire one time automation on one ticket if it still matches and has not fired for
        the ticket's current status entry; returns whether it fired."""
        service = self.service
        effects = Effects()
        async with service.lock, service.store.session() as s, s.begin():
            row = await service.store.row(s, ticket_id, for_update=True)
            if row is None or Status(row.status) is Status.CLOSED:
                return False
            since = await self.store.status_since(s, row.id, row.created_at)
            facts: Facts = await self.facts_in(s, row, since)
            now = self.clock.time()
            if await self.store.ran(s, trigger.id, row.id, since) \
                    or not matches(trigger, facts, now):
                return False
            self.store.add_run(s, trigger.id, row.id, since, now)
            step = plan(trigger, facts, agents=sorted(service.agents()),
                        queues=sorted(service.queues()))
            await self._apply(s, row, step, "time", effects)
        await service.run(effects)
        return True


def _changed_fields(step: Plan) -> set[str]:
    c = step.changes
    out = {n for n in ("status", "priority", "queue", "tags", "assignee")
           if getattr(c, n) is not None}
    out |= {f"fields.{key}" for key, _ in step.fields}
    return out | ({"assignee"} if c.unassign else set())

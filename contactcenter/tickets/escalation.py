"""SLA escalation: a sweep over the tickets' stored due times, on the project Clock.

Design note: the moments that matter are rows (``tickets.sla_next_at``, indexed), never
in-memory timers, so a restart loses nothing and a standby that becomes leader carries on. The
loop sleeps until the earliest one (at most ``tickets.sla.check_s``, woken early whenever a use
case set or moved a ticket's clocks), then escalates every ticket due, each in one transaction
under the tickets' lock: the stages reached (``sla.fired``) are marked fired in the same
transaction as what they did, so each fires exactly once, also across a crash.

A warning is recorded in the ticket's history and announced; a breach also raises the priority
one step (``escalation.raise_priority``) and/or moves the ticket to ``escalation.queue``, as a
change by the actor ``sla`` (the queue engine sees it as any other change: an unassigned
ticket waits again with its new priority or queue). Both are announced to the assignee
(``agent.<id>``, ``ticket-sla``) and to staff (topic ``tickets``), and mailed to
``escalation.notify`` through the outbox when set. That mail is not filed on the ticket (a
reply to it must not land in the customer's thread).

With ``escalation.reassign`` a breach (and with ``reassign_on_warning`` a warning) also takes
a new or open ticket from its assignee, in the same transaction: a ``reassigned`` history row
(old: the agent, new: why) and the unassignment by ``sla``, so the queue engine offers the
ticket again at the place its age gives it. The engine has no "anyone but" rule: which agent
gets it is the queue's strategy's choice; under ``longest_idle`` the agent who just gave it
up is the most recently busy, so every other ready agent comes first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.common.periodic import Periodic
from contactcenter.domain.clock import Clock
from contactcenter.ivr.hours import local_time
from contactcenter.tickets import sla
from contactcenter.tickets.mail.compose import Outgoing, compose, new_message_id
from contactcenter.tickets.model import ACTIVE, Change, Priority, Status, TicketChanges
from contactcenter.tickets.service import Effects, TicketService, Who
from contactcenter.tickets.store import clocks_of, put_clocks, ticket_of
from contactcenter.tickets.tables import TicketRow

log = logging.getLogger(__name__)
SLA = Who("sla", staff=True)
_UP = {Priority.LOW: Priority.NORMAL, Priority.NORMAL: Priority.HIGH,
       Priority.HIGH: Priority.URGENT, Priority.URGENT: Priority.URGENT}
_WORDS = {"first_response": "first response", "next_response": "next response",
          "resolution": "resolution"}


class SlaSweeper:
    """Escalates tickets whose SLA warning or breach is due (``wake()`` after a change)."""

    def __init__(self, service: TicketService, clock: Clock) -> None:
        self.service = service
        self.settings = service.settings.sla
        self.clock = clock
        self._stuck = False  # a ticket failed: its due time stays past until the next pass
        self._loop = Periodic("tickets-sla", self._pass, clock.real)
        # ``TicketRouting.keep_place`` (set by the wiring): a ticket taken from its agent
        # re-enters the line at the place its age gives it.
        self.keep_place: Callable[[set[int]], None] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.policies)

    def wake(self) -> None:
        self._loop.wake()

    def start(self) -> None:
        if self.enabled:
            self._loop.start()

    async def close(self) -> None:
        await self._loop.close()  # a pass in progress finishes its transaction

    async def _pass(self) -> float:
        """One sweep; the wait until the next due stage (``check_s`` at most)."""
        try:
            await self.sweep()
        except Exception:
            log.exception("tickets: SLA sweep failed")
            self._stuck = True
        wait = self.settings.check_s
        if not self._stuck:
            with contextlib.suppress(Exception):
                next_at = await self.service.store.sla_next()
                if next_at is not None:
                    wait = min(wait, max(0.0, next_at - self.clock.time()))
        return wait

    async def sweep(self) -> int:
        """Escalate every ticket due now; returns how many stages fired. A ticket that fails
        is logged and left for the next pass (``check_s`` later), not retried in a loop."""
        count = 0
        done: set[int] = set()
        self._stuck = False
        while not self._loop.closing:
            due = [i for i in await self.service.store.sla_due(self.clock.time())
                   if i not in done]
            if not due:
                break
            for ticket_id in due:
                try:
                    fired = await self.escalate(ticket_id)
                except Exception:
                    log.exception("tickets: SLA escalation of ticket #%d failed", ticket_id)
                    self._stuck = True
                    fired = 0
                count += fired
                if not fired:
                    done.add(ticket_id)
        return count

    async def escalate(self, ticket_id: int) -> int:
        """Fire the stages of one ticket that are due (each once); returns how many."""
        service, store = self.service, self.service.store
        effects = Effects()
        async with service.lock, store.session() as s, s.begin():
            row = await store.row(s, ticket_id, for_update=True)
            if row is None:
                return 0
            now = self.clock.time()
            clocks = clocks_of(row)
            stages = sla.fired(clocks, now)
            put_clocks(row, sla.mark(clocks, stages))  # also clears a stale sla_next_at
            if not stages:
                return 0
            for stage in stages:
                target = stage.split(":")[0]
                store.add_change(s, Change(row.id, now, SLA.name, "sla", None, {
                    "stage": stage, "due": clocks.due(target)}))
            breach = any(stage.endswith(":breach") for stage in stages)
            esc = self.settings.escalation
            changes = TicketChanges()
            if breach:
                priority = Priority(row.priority)
                queue = esc.queue if esc.queue and esc.queue != row.queue else None
                if queue is not None and queue not in service.queues():
                    log.warning("tickets: escalation queue %r is not configured", queue)
                    queue = None
                changes = TicketChanges(
                    priority=_UP[priority] if esc.raise_priority and _UP[priority] != priority
                    else None, queue=queue)
            # Only a new or open ticket is taken away: the engine offers those again; a
            # pending or on-hold one would only wait unassigned.
            taken_from = row.assignee if row.assignee and esc.reassigns(stages) \
                and Status(row.status) in ACTIVE else None
            if taken_from is not None:
                store.add_change(s, Change(row.id, now, SLA.name, "reassigned", taken_from,
                                           _why(stages)))
                changes = replace(changes, unassign=True)
            if not changes.is_empty():
                await service.change_in(s, row, changes, SLA, effects)
            ticket = ticket_of(row)
            event: dict[str, Any] = {"type": "ticket-sla", "stages": stages,
                                     "ticket": ticket.as_json()}
            if taken_from is not None:
                event["reassigned_from"] = taken_from
            effects.staff.append(event)
            # The agent it was taken from hears it too (``ticket-unassigned`` besides).
            for agent in dict.fromkeys(a for a in (ticket.assignee, taken_from) if a):
                effects.notify.setdefault(agent, []).append(event)
            if esc.notify:
                await self._notify(s, row, stages, now, taken_from)
                effects.mail = True
        if taken_from is not None and self.keep_place is not None:
            # Back in line as at its creation: with its age it goes before younger tickets.
            self.keep_place({ticket_id} & effects.route)
        await service.run(effects)
        return len(stages)

    async def _notify(self, s: AsyncSession, row: TicketRow, stages: list[str],
                      now: float, taken_from: str | None) -> None:
        """Queue the supervisor's mail about ``stages`` of the ticket in ``row``."""
        settings = self.service.settings
        box = settings.mailbox_for(row.mailbox, row.queue)
        sender = box.address if box is not None else f"sla@{settings.domain}"
        lines = []
        for stage in stages:
            target, kind = stage.split(":")
            due = getattr(row, f"{target}_due")
            what = "is overdue" if kind == "breach" else "is due soon"
            lines.append(f"The {_WORDS[target]} of ticket #{row.id} {what} "
                         f"(due {_when(due, settings.sla.calendar.timezone)}).")
        text = "\n".join(lines) + (
            f"\n\nSubject: {row.subject}\nQueue: {row.queue}\nPriority: {row.priority}\n"
            f"Assignee: {row.assignee or '(nobody)'}\n")
        if taken_from is not None:
            text += f"Taken from {taken_from}: it is offered again.\n"
        kind = "breach" if any(st.endswith(":breach") for st in stages) else "warning"
        message_id = new_message_id(settings.domain)
        raw = compose(Outgoing(
            sender=sender, sender_name=box.name if box is not None else "SLA",
            to=settings.sla.escalation.notify, to_name="",
            subject=f"SLA {kind}: ticket #{row.id}: {row.subject}"[:250], text=text,
            automatic=True), message_id, now).as_bytes()
        # Not filed on the ticket (ticket_id None): a reply to it is not the customer's.
        await self.service.store.add_mail(
            s, direction="out", status="queued", raw=raw, peer=settings.sla.escalation.notify,
            envelope_from=sender, envelope_to=[settings.sla.escalation.notify], now=now,
            message_id=message_id, automatic=True, kind="escalation", flags=stages)


def _why(stages: list[str]) -> str:
    """The history's reason for a reassignment: the stages that fired, in words."""
    return "SLA " + ", ".join(
        f"{_WORDS[target]} {'breached' if kind == 'breach' else 'warning'}"
        for target, kind in (stage.split(":") for stage in stages))


def _when(epoch: float | None, tz: str) -> str:
    """A due time for people, in the calendar's time zone."""
    if epoch is None:
        return "never"
    return local_time(epoch, tz).strftime("%Y-%m-%d %H:%M %Z")

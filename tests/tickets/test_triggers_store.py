"""Triggers on each database (SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set): the
tickets' service with the trigger engine and the webhook sender over a real database, a real
aiohttp receiver; a cascade on create, a time automation once per status entry (the unique
run row), a webhook refused then delivered, the delivery log."""

from __future__ import annotations

import asyncio
import json

from triggers_receiver import Jump, Receiver

from contactcenter.tickets.model import NewTicket, Origin, Requester, Status, TicketChanges
from contactcenter.tickets.service import SYSTEM, TicketService
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import TicketStore
from contactcenter.tickets.triggers import parse_trigger
from contactcenter.tickets.triggers_engine import TriggerEngine
from contactcenter.tickets.triggers_settings import TriggerSettings
from contactcenter.tickets.triggers_store import TriggerStore
from contactcenter.tickets.webhooks import WebhookSender, verify

DAY = 86400.0
SECRET = "a webhook secret of the store test"
T = 15.0


def _new(subject: str) -> NewTicket:
    return NewTicket(subject=subject, origin=Origin.EMAIL, queue="email",
                     requester=Requester("zoe@customer.test", "Zoe"))


async def test_cascades_automations_and_webhooks_on_each_database(database):
    receiver = Receiver([503])
    await receiver.start()
    clock = Jump()
    settings = TriggerSettings(webhook_retry_s=10, webhook_max_attempts=3)
    service = TicketService(TicketSettings(queue="email"), TicketStore(database), clock)
    service.agents = lambda: {"a1"}
    service.queues = lambda: {"email"}
    store = TriggerStore(database)
    engine = TriggerEngine(service, store, clock, settings)
    service.on_created, service.on_changed = engine.on_created, engine.on_changed
    sender = WebhookSender(store, settings, clock)
    engine.wake_webhooks = sender.wake
    sender.start()  # its loop sends as soon as a call is queued
    url = f"http://127.0.0.1:{receiver.port}/hook"
    try:
        await store.add(parse_trigger({
            "name": "vip", "event": "created",
            "conditions": [{"field": "requester", "op": "contains", "value": "@customer.test"}],
            "actions": [{"type": "add_tag", "value": "vip"}, {"type": "assign", "value": "a1"},
                        {"type": "webhook", "url": url, "secret": SECRET}]}),
            clock.time(), "root")
        await store.add(parse_trigger({
            "name": "stale", "event": "time",
            "conditions": [{"field": "status", "op": "is", "value": "pending"},
                           {"field": "hours_in_status", "op": "at_least", "value": 72}],
            "actions": [{"type": "set_status", "value": "solved"}]}), clock.time(), "root")
        ticket = await service.create(_new("Printer on fire"), SYSTEM)
        assert (ticket.tags, ticket.assignee) == (("vip",), "a1")

        headers, body, code = await receiver.next()
        assert code == 503 and verify(SECRET, body, headers["X-CC-Signature"])
        assert json.loads(body)["ticket"]["tags"] == ["vip"]
        async with asyncio.timeout(T):  # the refusal stored (its next try counted from then)
            while (await store.deliveries())[0].attempts == 0:
                await asyncio.sleep(0.02)
        clock.offset += 11
        sender.wake()
        headers, again, code = await receiver.next()
        assert (code, again) == (200, body)
        log = await store.deliveries()
        async with asyncio.timeout(T):
            while log[0].status == "queued":  # the sender stores the answer after it came
                await asyncio.sleep(0.02)
                log = await store.deliveries()
        assert [(d.status, d.attempts, d.response_code) for d in log] == [
            ("delivered", 2, 200)]

        await service.update(ticket.id, TicketChanges(status=Status.PENDING), SYSTEM)
        next_at = await engine.sweep()
        assert next_at is not None and 3 * DAY - 60 < next_at - clock.time() <= 3 * DAY
        clock.offset += 3 * DAY + 1
        assert await engine.sweep() is None
        assert (await service.store.get(ticket.id)).status is Status.SOLVED
        # Once per entry: fired again directly, it refuses (the run row is there).
        stale = next(t for t in await store.triggers() if t.name == "stale")
        await service.update(ticket.id, TicketChanges(status=Status.OPEN), SYSTEM)
        await service.update(ticket.id, TicketChanges(status=Status.PENDING), SYSTEM)
        assert await engine.fire(stale, ticket.id) is False  # a new entry, not due yet
        clock.offset += 3 * DAY + 1
        assert await engine.fire(stale, ticket.id) is True
        assert await engine.fire(stale, ticket.id) is False
        fired = [h for h in await service.store.history(ticket.id)
                 if h.actor == "trigger:stale" and h.field == "status"]
        assert len(fired) == 2
    finally:
        await sender.close()
        await receiver.close()

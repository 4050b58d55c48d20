"""Triggers and automations on the real server (SQLite file, migrations applied): a trigger on
create tags and assigns; an updated trigger does not re-fire on its own change; the automation
"pending for 3 days -> solved" fires once on a simulated clock, also across a restart; a
webhook to a real aiohttp server that refuses the first try is delivered signed, retried and
logged, exactly once across a restart between the attempts; the dry run writes nothing.

The simulated clock jumps (``Jump.offset``): the server sees three days pass at once, and the
test wakes the sweep instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tickets_floor import Relay, T, TicketsFloor, free_port, tickets_settings
from triggers_receiver import Jump, Receiver

from contactcenter.app import ContactCenter
from contactcenter.domain.clock import Clock
from contactcenter.storage.audit import AuditLog
from contactcenter.tickets.triggers_settings import TriggerSettings
from contactcenter.tickets.webhooks import verify

DAY = 86400.0
SECRET = "a webhook secret of the test"
NEW = {"subject": "Printer on fire", "text": "Smoke everywhere.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}


@contextlib.asynccontextmanager
async def floor_of(tmp_path: Path, clock: Clock, **tickets: Any
                   ) -> AsyncIterator[TicketsFloor]:
    """The tickets floor on ``clock``; started again on the same database by a second
    ``floor_of`` with the same ``tmp_path``."""
    relay = Relay()
    await relay.start()
    port = free_port()
    settings = tickets_settings(tmp_path, port=port, relay_port=relay.port, **tickets)
    server = ContactCenter(settings, clock=clock, upgrade_schema=True)
    await server.start()
    floor = TicketsFloor(settings, clock, server, relay, port)
    try:
        yield floor
    finally:
        for http in floor.clients:
            await http.close()
        await server.stop()
        await relay.close()


async def _history(client, number: int) -> list[tuple[str, str, Any, Any]]:
    shown = await client.call("GET", f"/api/tickets/{number}")
    return [(h["actor"], h["field"], h["old"], h["new"]) for h in shown["history"]]


async def _until(condition, what: str) -> None:
    async with asyncio.timeout(T):
        while not await condition():
            await asyncio.sleep(0.02)


async def test_a_trigger_on_create_tags_and_assigns_and_no_trigger_refires(tmp_path):
    async with floor_of(tmp_path, Clock()) as floor:
        admin = await floor.user("root", None, "admin")
        boss = await floor.user("boss", None, "supervisor")
        await boss.call("GET", "/api/tickets/triggers", expect=403)
        made = await admin.call("POST", "/api/tickets/triggers", {
            "name": "fire to alice", "event": "created",
            "conditions": [{"field": "subject", "op": "contains", "value": "fire"},
                           {"field": "origin", "op": "is", "value": "api"}],
            "actions": [{"type": "add_tag", "value": "fire"},
                        {"type": "assign", "value": "a1"},
                        {"type": "set_priority", "value": "high"},
                        {"type": "email", "to": "boss@example.com", "subject": "Fire",
                         "text": "A ticket about a fire."}]}, expect=201)
        # Any update tags the ticket "touched"; its own change must not fire it again, and
        # the other updated trigger sees the tag it added only in its own cascade order.
        await admin.call("POST", "/api/tickets/triggers", {
            "name": "touch", "event": "updated",
            "conditions": [{"field": "tags", "op": "not_contains", "value": "touched"}],
            "actions": [{"type": "add_tag", "value": "touched"}]}, expect=201)
        await admin.call("POST", "/api/tickets/triggers", {
            "name": "untouch", "event": "updated",
            "conditions": [{"field": "tags", "op": "contains", "value": "touched"}],
            "actions": [{"type": "remove_tag", "value": "touched"}], "enabled": False},
            expect=201)
        listed = (await admin.call("GET", "/api/tickets/triggers"))["triggers"]
        assert [t["name"] for t in listed] == ["fire to alice", "touch", "untouch"]

        ticket = await boss.call("POST", "/api/tickets", NEW, expect=201)
        assert (ticket["tags"], ticket["assignee"], ticket["priority"]) == (
            ["fire"], "a1", "high")
        number = ticket["id"]
        other = await boss.call("POST", "/api/tickets", {**NEW, "subject": "Paper jam"},
                                expect=201)
        assert (other["tags"], other["assignee"]) == ([], None)

        envelope, sent = await floor.relay.next()  # through the outbox, automatic
        assert envelope.rcpt_tos == ["boss@example.com"]
        assert sent["Subject"] == f"Fire [#{number}]"
        assert sent["Auto-Submitted"] == "auto-replied"
        assert "A ticket about a fire." in sent.get_content()
        history = await _history(boss, number)
        assert ("trigger:fire to alice", "tags", [], ["fire"]) in history
        assert ("trigger:fire to alice", "assignee", None, "a1") in history
        assert ("trigger:fire to alice", "priority", "normal", "high") in history

        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "pending"})
        after = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]
        assert after["tags"] == ["fire", "touched"]
        fired = [h for h in await _history(boss, number) if h[0] == "trigger:touch"]
        assert [h[1] for h in fired] == ["tags", "trigger"]  # once: no re-fire on itself
        # An enabled "untouch" would now undo it on the next update, once; still no loop.
        await admin.call("PUT", f"/api/tickets/triggers/{listed[2]['id']}",
                         {**listed[2], "enabled": True})
        await boss.call("PATCH", f"/api/tickets/{number}", {"priority": "urgent"})
        tags = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["tags"]
        assert tags == ["fire"]

        audit = await AuditLog(floor.server.db).list(action_prefix="tickets.trigger.")
        actions = {(e.action, e.actor) for e in audit}
        assert ("tickets.trigger.create", "root") in actions
        assert ("tickets.trigger.update", "root") in actions
        assert ("tickets.trigger.fire", "trigger:fire to alice") in actions
        assert made["id"] > 0


async def test_pending_three_days_is_solved_once_across_a_restart(tmp_path):
    clock = Jump()
    automation = {
        "name": "close stale", "event": "time",
        "conditions": [{"field": "status", "op": "is", "value": "pending"},
                       {"field": "hours_in_status", "op": "at_least", "value": 72}],
        "actions": [{"type": "set_status", "value": "solved"},
                    {"type": "add_tag", "value": "auto-solved"}]}
    async with floor_of(tmp_path, clock) as floor:
        admin = await floor.user("root", None, "admin")
        stored = await admin.call("POST", "/api/tickets/triggers", automation, expect=201)
        number = (await admin.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await admin.call("PATCH", f"/api/tickets/{number}", {"status": "pending"})
        fresh = (await admin.call("POST", "/api/tickets", NEW, expect=201))["id"]
        # Not yet: the dry run matches nothing and the sweep fires nothing.
        dry = await admin.call("POST", "/api/tickets/triggers/dry-run", stored)
        assert dry["matches"] == [] and dry["scanned"] == 2
        clock.offset += 3 * DAY - 60
        admin = await floor.user("root-soon", None, "admin")  # sessions expired meanwhile
        dry = await admin.call("POST", "/api/tickets/triggers/dry-run", stored)
        assert dry["matches"] == []
        clock.offset += 120
        admin = await floor.user("root-later", None, "admin")  # sessions expired meanwhile
        dry = await admin.call("POST", "/api/tickets/triggers/dry-run", stored)
        assert [(m["ticket"]["id"], m["changes"]) for m in dry["matches"]] == [
            (number, {"status": ["pending", "solved"], "tags": [[], ["auto-solved"]]})]
        assert (await admin.call("GET", f"/api/tickets/{number}"))["ticket"]["status"] \
            == "pending"  # the dry run wrote nothing
    async with floor_of(tmp_path, clock) as floor:
        # Three days passed while the server was down: it fires at the start, once.
        admin = await floor.user("root2", None, "admin")

        async def solved() -> bool:
            shown = await admin.call("GET", f"/api/tickets/{number}")
            return shown["ticket"]["status"] == "solved"

        await _until(solved, "the automation")
        assert await floor.tickets.triggers.sweep() is None  # nothing else due, ever
        history = await _history(admin, number)
        assert [h for h in history if h[0] == "trigger:close stale"][:2] == [
            ("trigger:close stale", "status", "pending", "solved"),
            ("trigger:close stale", "tags", [], ["auto-solved"])]
        assert (await admin.call("GET", f"/api/tickets/{fresh}"))["ticket"]["status"] == "new"
        # Reopened and set pending again: a new entry into the status, three days more.
        await admin.call("PATCH", f"/api/tickets/{number}", {"status": "open"})
        await admin.call("PATCH", f"/api/tickets/{number}", {"status": "pending"})
        assert await floor.tickets.triggers.sweep() is not None  # due in three days
        clock.offset += 3 * DAY + 1
        floor.tickets.triggers.wake()
        admin = await floor.user("root3", None, "admin")  # sessions expired meanwhile
        await _until(solved, "the automation, for the second entry")
        fired = [h for h in await _history(admin, number)
                 if h[0] == "trigger:close stale" and h[1] == "status"]
        assert len(fired) == 2


async def test_a_webhook_refused_first_is_retried_signed_and_logged_across_a_restart(
        tmp_path):
    receiver = Receiver([500])
    await receiver.start()
    clock = Jump()
    url = f"http://127.0.0.1:{receiver.port}/hook"
    triggers = TriggerSettings(webhook_retry_s=3600, webhook_max_attempts=3)
    try:
        async with floor_of(tmp_path, clock, triggers=triggers) as floor:
            admin = await floor.user("root", None, "admin")
            await admin.call("POST", "/api/tickets/triggers", {
                "name": "hook", "event": "created", "conditions": [],
                "actions": [{"type": "webhook", "url": url, "secret": SECRET}]}, expect=201)
            bad = await admin.call("POST", "/api/tickets/triggers", {
                "name": "meta", "event": "created", "actions": [
                    {"type": "webhook", "url": "http://169.254.169.254/x", "secret": SECRET}]},
                expect=422)
            assert "link-local" in bad["error"]
            listed = (await admin.call("GET", "/api/tickets/triggers"))["triggers"]
            assert listed[0]["actions"][0]["secret"] is None  # write-only
            number = (await admin.call("POST", "/api/tickets", NEW, expect=201))["id"]
            headers, body, code = await receiver.next()
            assert code == 500
            assert verify(SECRET, body, headers["X-CC-Signature"])
            sent = json.loads(body)
            assert (sent["trigger"], sent["event"], sent["ticket"]["id"]) == (
                "hook", "created", number)
            first_id = headers["X-CC-Delivery"]

            async def tried() -> bool:
                log = await admin.call("GET", "/api/tickets/webhooks/deliveries")
                return bool(log["deliveries"]) and log["deliveries"][0]["attempts"] == 1

            await _until(tried, "the first attempt logged")
            log = (await admin.call("GET", "/api/tickets/webhooks/deliveries"))["deliveries"]
            assert (log[0]["status"], log[0]["response_code"], log[0]["ticket_id"]) == (
                "queued", 500, number)
            assert log[0]["next_try_at"] >= clock.time() + 3500
            assert "secret" not in log[0]
        clock.offset += 3601  # the retry came due while the server was stopped
        async with floor_of(tmp_path, clock, triggers=triggers) as floor:
            headers, body2, code = await receiver.next()
            assert code == 200 and body2 == body  # the same body, signed again
            assert verify(SECRET, body2, headers["X-CC-Signature"])
            assert headers["X-CC-Delivery"] == first_id
            assert abs(int(headers["X-CC-Timestamp"]) - clock.time()) < 60
            admin = await floor.user("root2", None, "admin")

            async def delivered() -> bool:
                log = await admin.call("GET", "/api/tickets/webhooks/deliveries?status="
                                              "delivered")
                return len(log["deliveries"]) == 1

            await _until(delivered, "the delivery logged")
            entry = (await admin.call("GET", "/api/tickets/webhooks/deliveries"))[
                "deliveries"]
            assert [(d["status"], d["attempts"], d["response_code"]) for d in entry] == [
                ("delivered", 2, 200)]
            assert await floor.tickets.webhooks.send_due() == 0
        assert receiver.requests.empty()  # exactly two calls: refused, then delivered once
    finally:
        await receiver.close()

"""SLA clocks and escalation on the real server: due times stored on tickets and shown by the
API, the pause while pending, the sweep that warns and then escalates (history, priority, the
escalation queue, a live event, a supervisor's mail through the outbox on a real SMTP relay),
each stage exactly once, also across restarts; and the badges of the /tickets page in Chromium.

Targets are a few real seconds long (the calendar is round the clock: business-time arithmetic
has its golden cases in test_sla_clock.py); tests wait for what happens, never for how long.
"""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import expect
from tickets_floor import T, logged_in_page, tickets_floor

from contactcenter.tickets.settings import EscalationSettings, SlaPolicy, SlaSettings

BOSS = "boss@example.com"
NEW = {"subject": "Printer on fire", "text": "Smoke everywhere.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe"}}
SLOW = SlaPolicy(name="slow", first_response_s=36000, resolution_s=72000)


def fast(first_response_s: float = 4.0, **escalation: object) -> SlaSettings:
    return SlaSettings(
        policies=[SlaPolicy(name="fast", queue="email", priority="normal",
                            first_response_s=first_response_s, resolution_s=36000), SLOW],
        warn_at=0.5, check_s=30,
        escalation=EscalationSettings(**{"notify": BOSS, **escalation}))


async def _until(condition, what: str) -> None:
    async with asyncio.timeout(T):
        while not await condition():
            await asyncio.sleep(0.05)


async def _live_event(ws) -> dict:
    while True:
        msg = await ws.receive_json(timeout=T)
        if msg["type"] == "event":
            return msg["data"]


async def test_a_breached_first_response_warns_then_escalates_once(tmp_path):
    async with tickets_floor(tmp_path, sla=fast(queue="escalated")) as floor:
        boss = await floor.user("boss", None, "supervisor")
        async with boss.http.ws_connect(f"{floor.url}/api/live") as ws:
            assert (await ws.receive_json(timeout=T))["type"] == "hello"
            await ws.send_json({"type": "subscribe", "topics": ["tickets"]})
            assert (await ws.receive_json(timeout=T))["topics"] == ["tickets"]

            # Nobody is logged in: the ticket waits unassigned in queue "email".
            made = await boss.call("POST", "/api/tickets", NEW, expect=201)
            number = made["id"]
            sla = made["sla"]
            assert sla["policy"] == "fast" and sla["overdue"] is False
            first = sla["first_response"]
            assert first["state"] == "ok" and 0 < first["left_s"] <= 4
            assert first["due"] == first["warn"] + 2  # warn_at 0.5 of 4 s
            assert sla["resolution"]["left_s"] > 35000
            # An urgent one matches no "normal" policy: the next one in order.
            urgent = await boss.call("POST", "/api/tickets", {**NEW, "priority": "urgent"},
                                     expect=201)
            assert urgent["sla"]["policy"] == "slow"

            warning = await _live_event(ws)
            assert (warning["type"], warning["stages"], warning["ticket"]["id"]) == (
                "ticket-sla", ["first_response:warning"], number)
            breach = await _live_event(ws)
            assert breach["stages"] == ["first_response:breach"]
            assert (breach["ticket"]["priority"], breach["ticket"]["queue"]) == (
                "high", "escalated")

        # The supervisor's mails went out through the outbox, marked automatic.
        for kind in ("warning", "breach"):
            envelope, sent = await floor.relay.next()
            assert envelope.rcpt_tos == [BOSS]
            assert sent["Subject"] == f"SLA {kind}: ticket #{number}: Printer on fire"
            assert sent["Auto-Submitted"] == "auto-replied"
            assert f"ticket #{number}" in sent.get_content()

        shown = await boss.call("GET", f"/api/tickets/{number}")
        ticket = shown["ticket"]
        assert ticket["sla"]["overdue"] is True
        assert ticket["sla"]["first_response"]["state"] == "breached"
        assert ticket["sla"]["first_response"]["left_s"] < 0
        escalations = [(h["actor"], h["field"], h["old"], h["new"]) for h in shown["history"]
                       if h["actor"] == "sla"]
        assert escalations == [
            ("sla", "sla", None, {"stage": "first_response:warning",
                                  "due": first["due"]}),
            ("sla", "sla", None, {"stage": "first_response:breach", "due": first["due"]}),
            ("sla", "priority", "normal", "high"),
            ("sla", "queue", "email", "escalated"),
        ]
        # Moved: it waits in the escalation queue with its new priority (a new round).
        assert floor.server.routing.state_of(f"ticket-{number}-2") is not None
        overdue = await boss.call("GET", "/api/tickets?view=overdue")
        assert [t["id"] for t in overdue["tickets"]] == [number]

        # Nothing fires twice: another sweep finds nothing, the history is as it was.
        assert await floor.tickets.sla.sweep() == 0
        again = await boss.call("GET", f"/api/tickets/{number}")
        assert len(again["history"]) == len(shown["history"])
        # A reply now meets the first response late; it is no longer overdue.
        await boss.call("POST", f"/api/tickets/{number}/replies", {"text": "On our way."},
                        expect=201)
        after = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
        assert after["first_response"]["state"] == "breached"
        assert after["first_response"]["met_at"] is not None and after["overdue"] is False
        assert (await boss.call("GET", "/api/tickets?view=overdue"))["tickets"] == []


async def test_pending_pauses_the_clocks_and_a_reopen_moves_them_on(tmp_path):
    async with tickets_floor(tmp_path, sla=fast(first_response_s=3600)) as floor:
        boss = await floor.user("boss", None, "supervisor")
        number = (await boss.call("POST", "/api/tickets", NEW, expect=201))["id"]
        due0 = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"][
            "resolution"]["due"]
        # Answered and set pending in one step: first response met, resolution paused.
        await boss.call("POST", f"/api/tickets/{number}/replies",
                        {"text": "Which printer?", "status": "pending"}, expect=201)
        paused = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
        assert paused["first_response"]["state"] == "met"
        assert paused["paused"] is True and paused["resolution"]["state"] == "paused"
        row_next = (await boss.call("GET", "/api/tickets?view=all"))["tickets"][0]
        assert row_next["sla"]["resolution"]["due"] == due0
        start = floor.clock.time()
        await _until(lambda: _later(floor, start), "a moment of pause")
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "open"})
        moved = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
        assert moved["paused"] is False and moved["resolution"]["state"] == "ok"
        assert moved["resolution"]["due"] > due0  # on by the pause's length, never back
        # Solved: the resolution target is met and nothing is overdue any more.
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "solved"})
        done = (await boss.call("GET", f"/api/tickets/{number}"))["ticket"]["sla"]
        assert done["resolution"]["state"] == "met" and done["paused"] is False


async def _later(floor, start: float) -> bool:
    return bool(floor.clock.time() > start + 0.2)


async def test_an_escalation_fires_once_across_restarts(tmp_path):
    settings = fast(first_response_s=8.0)  # the first server stops well before the warning
    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss", None, "supervisor")
        made = await boss.call("POST", "/api/tickets", NEW, expect=201)
        due = made["sla"]["first_response"]["due"]
    # The server was away while the warning and the breach came due.
    await _until(lambda: _past(due), "the due time")
    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss2", None, "supervisor")
        _, sent = await floor.relay.next()
        assert sent["Subject"].startswith("SLA breach")  # the breach says it all: one mail
        await _until(lambda: _fired(boss, made["id"], 1), "the breach in the history")
    async with tickets_floor(tmp_path, sla=settings) as floor:
        boss = await floor.user("boss3", None, "supervisor")
        assert await floor.tickets.sla.sweep() == 0
        shown = await boss.call("GET", f"/api/tickets/{made['id']}")
        stages = [h["new"]["stage"] for h in shown["history"] if h["field"] == "sla"]
        assert stages == ["first_response:breach"]
        assert shown["ticket"]["priority"] == "high"
        assert floor.relay.mails.empty()


async def _past(epoch: float) -> bool:
    return time.time() > epoch


async def _fired(boss, number: int, count: int) -> bool:
    shown = await boss.call("GET", f"/api/tickets/{number}")
    return sum(h["field"] == "sla" for h in shown["history"]) >= count


async def test_the_page_shows_time_left_overdue_and_paused(tmp_path, browser):
    async with tickets_floor(tmp_path, sla=fast(notify="")) as floor:
        await floor.user("boss", None, "supervisor")  # logs in with the browser below
        client = await floor.user("lead", None, "supervisor")
        late = (await client.call("POST", "/api/tickets", {**NEW, "subject": "Late"},
                                  expect=201))["id"]
        calm = (await client.call("POST", "/api/tickets", {**NEW, "subject": "Calm",
                                                           "priority": "low"}, expect=201))["id"]
        waiting = (await client.call("POST", "/api/tickets", {**NEW, "subject": "Waiting",
                                                              "priority": "high"},
                                     expect=201))["id"]
        await client.call("PATCH", f"/api/tickets/{waiting}", {"status": "pending"})
        await _until(lambda: _fired(client, late, 2), "the breach")

        page = await logged_in_page(browser, floor, "boss")
        ms = T * 1000
        row = page.locator("#tickets tbody tr", has_text="Late")
        await expect(row.locator(".sla")).to_have_class("sla sla-breached", timeout=ms)
        await expect(row.locator(".sla")).to_contain_text("overdue")
        await expect(page.locator("#tickets tbody tr", has_text="Calm").locator(".sla")
                     ).to_contain_text("left")
        await expect(page.locator("#tickets tbody tr", has_text="Waiting").locator(".sla")
                     ).to_have_class("sla sla-paused")
        # The ticket shows both of its clocks.
        await row.click()
        await expect(page.locator("#t-sla [data-target=first_response]")).to_contain_text(
            "First response overdue", timeout=ms)
        await expect(page.locator("#t-sla [data-target=resolution]")).to_contain_text("left")
        # The overdue view lists only the late one.
        await page.select_option("#view", "overdue")
        await expect(page.locator("#tickets tbody tr")).to_have_count(1, timeout=ms)
        await expect(page.locator("#tickets tbody tr")).to_contain_text("Late")
        assert late not in (calm, waiting)

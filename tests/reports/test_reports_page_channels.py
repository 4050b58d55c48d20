"""In Chromium: the reports page's tickets and chats reports, on tickets made through the
running server's ticket service (the customer's answer through its mailroom) and a chat written
through the chat store: the tickets chart has points (screenshot taken), and each table equals
its JSON and its CSV, the next-response columns included; a message left out of hours shows in
the chats report (messages left, offered)."""

from __future__ import annotations

import csv
import io
from email.message import EmailMessage

from panel_floor import login, panel_floor
from playwright.async_api import expect
from test_reports_page import T, _canvas_points, _table, shown

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.offline import OfflineStore, new_message
from contactcenter.chat.store import ChatStore
from contactcenter.tickets.inbound import ReceivedMail
from contactcenter.tickets.model import (
    NewTicket,
    Origin,
    Requester,
    Status,
    TicketChanges,
    Visibility,
)
from contactcenter.tickets.service import Who


async def _same_as_json_and_csv(page, floor, kind: str) -> dict:  # type: ignore[no-untyped-def]
    """The page's table of ``kind`` equals its JSON and its CSV; returns the JSON."""
    cells = await _table(page)
    query = (await page.get_attribute("#csv", "href")).split("?", 1)[1]
    assert "group=queue" in query
    data = await (await page.request.get(f"{floor.url}/api/reports/{kind}?{query}")).json()
    sheet = list(csv.reader(io.StringIO(await (await page.request.get(
        f"{floor.url}/api/reports/{kind}.csv?{query}")).text())))
    assert sheet[0] == data["columns"]
    json_rows = [*data["rows"], data["totals"]]
    assert len(cells) == len(json_rows) == len(sheet) - 1 > 1
    for page_row, json_row, csv_row in zip(cells, json_rows, sheet[1:], strict=True):
        for col, cell in zip(data["columns"], csv_row, strict=True):
            want = shown(col, json_row[col])
            if col != "period_start":
                assert page_row[col] == want, (kind, col)
            assert cell == want, (kind, col)
    return data


async def test_reports_page_tickets_and_chats_match_json_and_csv(browser, tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        tickets = floor.server.tickets.service
        agent = min(floor.server.routing_config.agents)
        sam, alice = Who("Sam", staff=True), Who("Alice", agent_id=agent, staff=True)
        made = []
        for n in range(2):
            made.append(await tickets.create(NewTicket(
                f"Printer {n}", Origin.WEB, tickets.settings.queue,
                Requester("ann@customer.test", "Ann"), assignee=agent), sam))
        await floor.clock.sleep(3)
        await tickets.write(made[0].id, "Try turning it off and on.", alice, Visibility.PUBLIC)
        answer = EmailMessage()  # the customer writes again: our next reply is a next response
        answer["From"], answer["To"] = "ann@customer.test", "support@example.com"
        answer["Subject"], answer["Message-ID"] = f"Re: [Ticket#{made[0].id}]", "<a1@c.test>"
        answer.set_content("Still nothing.")
        outcome = await floor.server.tickets.mailroom.receive(ReceivedMail(
            "ann@customer.test", ("support@example.com",), answer.as_bytes()))
        assert outcome.status == "reply"
        await tickets.write(made[0].id, "Then unplug it.", alice, Visibility.PUBLIC)
        await tickets.update(made[0].id, TicketChanges(status=Status.SOLVED), sam)
        chats, now = ChatStore(floor.server.db), floor.clock.time()
        chat = ConversationRecord("report-chat", "web", "v1", "Vic", (), {}, "", "support",
                                  ConversationState.CLOSED, now - 60, agent_id=agent,
                                  closed_at=now - 10, closed_by="agent")
        await chats.create(chat, "0" * 64)
        await chats.save_state(chat)  # the end of it (create stores the start only)
        await chats.append(Message(chat.id, 1, Sender.AGENT, "Hi", now - 45, agent_id=agent))
        await chats.create(ConversationRecord(  # an article answered it: never queued
            "report-faq", "web", "v2", "Val", (), {}, "", "support", ConversationState.CLOSED,
            now - 30, closed_at=now - 30, closed_by="self_served", faq_outcome="answered"),
            "1" * 64)
        await OfflineStore(floor.server.db).add(new_message(  # left out of hours: offered too
            channel="web", queue="support", visitor_id="v3", visitor_name="Vera", answers=(),
            text="Call me back", page="", reason="closed", created_at=now - 20))

        await floor.add_user("sup", "supervisor")
        page = await login(browser, floor, "sup")
        await page.goto(f"{floor.url}/reports")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=T)
        await page.select_option("#kind", "tickets")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "2", timeout=T)

        chart = await page.evaluate("window.__charts.tickets.data")
        assert sum(v or 0 for v in chart[1]) == 2  # created
        assert sum(v or 0 for v in chart[2]) == 1  # solved
        assert max(v or 0 for v in chart[3]) == 1  # still open at the end of its interval
        await page.locator("#charts").screenshot(path=str(tmp_path / "reports-tickets.png"))
        assert (tmp_path / "reports-tickets.png").stat().st_size > 5000
        assert await _canvas_points(page, "#chart-tickets", (0xBE, 0x18, 0x5D)) > 20  # backlog

        data = await _same_as_json_and_csv(page, floor, "tickets")
        assert data["totals"]["created"] == 2 and data["totals"]["first_responses"] == 1
        assert data["totals"]["solved"] == 1 and data["totals"]["backlog"] == 1
        assert data["totals"]["next_responses"] == 1  # and the page shows it
        assert await page.locator("#report th", has_text="Next responses").count() == 1
        assert await page.locator("#report th", has_text="SLA next response %").count() == 1
        await expect(page.locator("#report tfoot td[data-col=next_responses]")).to_have_text("1")

        # The chats report; the tickets chart is put away.
        await page.select_option("#kind", "chats")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "3", timeout=T)
        assert await page.locator("#chart-tickets").is_hidden()
        data = await _same_as_json_and_csv(page, floor, "chats")
        assert [(r["queue"], r["offered"], r["started"], r["left_messages"],
                 r["first_responses"], r["closed_by_agent"], r["self_served"], r["deflection_pct"])
                for r in data["rows"]] == [("support", 3, 2, 1, 1, 1, 1, 50.0)]
        assert await page.locator("#report th", has_text="Deflection %").count() == 1
        assert await page.locator("#report th", has_text="Messages left").count() == 1

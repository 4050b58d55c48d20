"""In Chromium: the reports page's chats report per agent (docs/reports.md, Chats, per agent):
the group selector offers "agent" for the chats report only; with it the table has a row per
agent, equal to its JSON and its CSV (``group=agent``), the figures that are no agent's empty;
the tickets API takes ``group=agent`` too, the queues API refuses it."""

from __future__ import annotations

import csv
import io

from panel_floor import login, panel_floor
from playwright.async_api import expect
from test_reports_page import T, _table, shown

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.store import ChatStore


async def test_reports_page_chats_per_agent_match_json_and_csv(browser, tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        agents = sorted(floor.server.routing_config.agents)[:2]
        chats, now = ChatStore(floor.server.db), floor.clock.time()
        for n, (agent, first) in enumerate([(agents[0], 15), (agents[0], 25), (agents[1], 5)]):
            chat = ConversationRecord(f"agent-chat-{n}", "web", f"v{n}", "Vic", (), {}, "",
                                      "support", ConversationState.CLOSED, now - 60,
                                      agent_id=agent, closed_at=now - 10, closed_by="agent")
            await chats.create(chat, f"{n}" * 64)
            await chats.save_state(chat)
            await chats.append(Message(chat.id, 1, Sender.AGENT, "Hi", now - 60 + first,
                                       agent_id=agent))

        await floor.add_user("sup", "supervisor")
        page = await login(browser, floor, "sup")
        await page.goto(f"{floor.url}/reports")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=T)
        assert await page.locator('#group option[value="agent"]').count() == 0  # queues
        await page.select_option("#kind", "chats")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "2", timeout=T)
        await page.select_option("#group", "agent")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "3", timeout=T)

        cells = await _table(page)
        query = (await page.get_attribute("#csv", "href")).split("?", 1)[1]
        assert "group=agent" in query
        data = await (await page.request.get(f"{floor.url}/api/reports/chats?{query}")).json()
        sheet = list(csv.reader(io.StringIO(await (await page.request.get(
            f"{floor.url}/api/reports/chats.csv?{query}")).text())))
        assert data["group"] == "agent" and sheet[0] == data["columns"]
        assert "agent" in data["columns"]
        json_rows = [*data["rows"], data["totals"]]
        assert len(cells) == len(json_rows) == len(sheet) - 1 == 3
        for page_row, json_row, csv_row in zip(cells, json_rows, sheet[1:], strict=True):
            for col, cell in zip(data["columns"], csv_row, strict=True):
                want = shown(col, json_row[col])
                if col != "period_start":
                    assert page_row[col] == want, col
                assert cell == want, col
        assert [(r["agent"], r["first_responses"], r["avg_first_response_s"], r["closed"],
                 r["started"]) for r in data["rows"]] == [
            (agents[0], 2, 20.0, 2, None), (agents[1], 1, 5.0, 1, None)]
        assert cells[0]["started"] == "" and cells[0]["agent"] == agents[0]
        await expect(page.locator('#report th[data-col="agent"]')).to_have_text("Agent")
        tickets = await page.request.get(f"{floor.url}/api/reports/tickets?{query}")
        assert tickets.status == 200 and (await tickets.json())["columns"][2] == "agent"
        queues = await page.request.get(f"{floor.url}/api/reports/queues?{query}")
        assert queues.status == 400  # not in its declared enum: the agents report is for that

        # Another kind without rows per agent: the choice goes back to queue.
        await page.select_option("#kind", "queues")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "4", timeout=T)
        assert await page.locator('#group option[value="agent"]').count() == 0
        assert await page.input_value("#group") == "queue"

"""In Chromium: the reports page's IVR report, with its flow filter and the funnel of the demo
flow (table and bar chart with points) after three simulated callers took three paths: one
hung up in the main menu, one waited in line and hung up there, one served itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from floor import until
from ivr_funnel_flow import add_self_service
from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.config.schema import Settings
from contactcenter.sim import CallerScript, Press, Silence

T = 20_000  # ms: only catches hangs


async def _self_service(settings: Settings) -> Settings:
    add_self_service(Path(settings.flows_dir))
    return settings


async def _funnel(page) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return await page.evaluate("""() => [...document.querySelectorAll(
        '#funnel-table tbody tr')].map((tr) => Object.fromEntries(
        [...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent])))""")


async def test_reports_page_shows_the_ivr_funnel(browser, tmp_path):
    async with panel_floor(tmp_path, speed=10.0, prepare=_self_service) as floor:
        recorder = floor.server.reports.ivr_sessions
        calls = [await floor.sim.place_call(CallerScript(
            caller_id=f"555020{i}", exten="200", steps=steps, hangup_after=hangup))
            for i, (steps, hangup) in enumerate((
                ([], 10),  # hangs up in the main menu
                ([Press("1", after=0.5)], 12),  # nobody logged in: hangs up in line
                ([Silence(), Press("9", after=0.5)], 400)))]  # self-service
        for call in calls:
            await asyncio.wait_for(call.ended(), timeout=60)
        await until(lambda: recorder.recorded + recorder.pending >= 3)

        await floor.add_user("sup", "supervisor")
        page = await login(browser, floor, "sup")
        await page.goto(f"{floor.url}/reports")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=T)
        await expect(page.locator("#funnel")).to_be_hidden()
        await page.select_option("#kind", "ivr")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "2", timeout=T)
        await expect(page.locator("#flow-label")).to_be_visible()
        assert "demo" in await page.locator("#flow option").all_text_contents()

        # The table is the report per flow: three sessions, two of them contained.
        row = await page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            '#report tbody tr td')].map((td) => [td.dataset.col, td.textContent]))""")
        assert (row["flow"], row["sessions"], row["queued"], row["contained"],
                row["containment_pct"]) == ("demo", "3", "1", "2", "66.7")

        # The funnel: each node with the sessions that reached it, charted as bars with points.
        await page.select_option("#flow", "demo")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "3", timeout=T)
        funnel = await _funnel(page)
        assert [(r["node"], r["reached"], r["left"]) for r in funnel] == [
            ("identify", "3", "0"), ("welcome", "3", "0"), ("main_menu", "3", "1"),
            ("opening_hours", "1", "0"), ("sales", "1", "0"), ("goodbye", "1", "1")]
        assert await page.locator("#funnel-note").text_content() == "demo: 3 sessions"
        chart = await page.evaluate("window.__charts.funnel.data")
        assert chart[1] == [3, 3, 3, 1, 1, 1] and chart[2] == [0, 0, 1, 0, 0, 1]
        blue = await page.evaluate("""() => {
            const c = document.querySelector('#chart-funnel canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] > 200 && Math.abs(d[i] - 0x25) < 40 && Math.abs(d[i + 1] - 0x63) < 40
                    && Math.abs(d[i + 2] - 0xeb) < 40) n++;
            }
            return n;
        }""")
        assert blue > 50
        await page.locator("#funnel").screenshot(path=str(tmp_path / "funnel.png"))
        assert (tmp_path / "funnel.png").stat().st_size > 3000

        # The CSV link carries the flow filter and the rows the page shows.
        href = await page.get_attribute("#csv", "href")
        assert href.startswith("/api/reports/ivr.csv?") and "flow=demo" in href
        sheet = await (await page.request.get(f"{floor.url}{href}")).text()
        assert sheet.splitlines()[1].split(",")[2:4] == ["demo", "3"]

"""In Chromium: the reports page charts a day of calls made through the simulator (screenshot,
points on the canvas), and every report's table equals its JSON and its CSV, where a cell a
spreadsheet would run as a formula (a disposition typed as ``=cmd...``) is neutralized."""

from __future__ import annotations

import csv
import io
from typing import Any

from floor import Arrivals
from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.domain import routing_events as rev
from contactcenter.sim import CallerScript, Phone, Press

T = 20_000  # ms: only catches hangs
EVIL = "=cmd|' /C calc'!A0"
RISKY = ("=", "+", "-", "@", "\t", "\r")


def shown(col: str, value: Any) -> str:
    """A JSON value as the page must show it (docs/reports.md: one decimal for s and %)."""
    if value is None:
        return ""
    if isinstance(value, float) or (isinstance(value, int) and col.endswith(("_s", "_pct"))):
        return f"{value:.1f}" if col.endswith(("_s", "_pct")) else str(value)
    return str(value)


async def _play_a_few_calls(floor) -> None:  # type: ignore[no-untyped-def]
    server, sim, clock = floor.server, floor.sim, floor.clock
    seen = Arrivals()
    server.routing.subscribe(seen.add)
    sim.add_phone(Phone("PJSIP/1001", answer_after=1.0, talk_for=None))
    await server.routing.agent_login("1001", ["sales"])
    script = CallerScript(caller_id="5550001", exten="200", steps=[Press("1", after=0.5)],
                          hangup_after=None)
    for n, disposition in enumerate((EVIL, "sold")):
        mark = len(seen.events)
        call = await sim.place_call(script)
        conn = await seen.wait(lambda e: isinstance(e, rev.Connected), mark)
        await clock.sleep(4 + 3 * n)
        await sim.hangup_channel(call.caller_channel)
        await seen.wait(lambda e, i=conn.interaction_id: isinstance(e, rev.Completed)
                        and e.interaction_id == i, mark)
        await server.routing.wrapup_done("1001", disposition, None)
    await server.routing.agent_pause("1001", "@lunch")  # busy: the next caller gives up
    mark = len(seen.events)
    gone = await sim.place_call(script)
    await seen.wait(lambda e: isinstance(e, rev.Entered), mark)
    await clock.sleep(8)
    await sim.hangup_channel(gone.caller_channel)
    await seen.wait(lambda e: isinstance(e, rev.Abandoned), mark)
    await clock.sleep(2)
    await server.routing.agent_logout("1001")  # nothing open: the figures stop moving
    await server.routing.flush()


async def _table(page) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return await page.evaluate("""() => [...document.querySelectorAll(
        '#report tbody tr, #report tfoot tr')].map((tr) => Object.fromEntries(
        [...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent])))""")


async def _canvas_points(page, chart: str, rgb: tuple[int, int, int]) -> int:  # type: ignore[no-untyped-def]
    """Pixels of the chart's canvas close to a series' colour."""
    return await page.evaluate("""([sel, [r, g, b]]) => {
        const c = document.querySelector(sel + ' canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] > 200 && Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40
                && Math.abs(d[i + 2] - b) < 40) n++;
        }
        return n;
    }""", [chart, list(rgb)])


async def test_reports_page_charts_the_day_and_matches_json_and_csv(browser, tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        await _play_a_few_calls(floor)
        await floor.add_user("sup", "supervisor")
        page = await login(browser, floor, "sup")  # lands on the wallboard, which links here
        await page.click("#reports-link")
        await page.wait_for_url(f"{floor.url}/reports")
        await expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=T)

        # The charts: the day per 15 minutes, with points where the calls were.
        volume = await page.evaluate("window.__charts.volume.data")
        assert sum(v or 0 for v in volume[1]) == 3  # offered
        assert sum(v or 0 for v in volume[2]) == 2  # answered
        assert sum(v or 0 for v in volume[3]) == 1  # abandoned
        await page.locator("#charts").screenshot(path=str(tmp_path / "reports-charts.png"))
        assert (tmp_path / "reports-charts.png").stat().st_size > 5000
        assert await _canvas_points(page, "#chart-volume", (0x25, 0x63, 0xEB)) > 20  # offered
        # One interval had answers: one service-level point, one ASA point (hollow circles).
        assert await _canvas_points(page, "#chart-service", (0x7C, 0x3A, 0xED)) > 8
        assert await _canvas_points(page, "#chart-service", (0xD9, 0x77, 0x06)) > 8

        loaded = 1
        for kind in ("queues", "agents", "pauses", "dispositions"):
            if kind != "queues":
                await page.select_option("#kind", kind)
                loaded += 1
                await expect(page.locator("body")).to_have_attribute(
                    "data-loaded", str(loaded), timeout=T)
            cells = await _table(page)
            query = (await page.get_attribute("#csv", "href")).split("?", 1)[1]
            data = await (await page.request.get(f"{floor.url}/api/reports/{kind}?{query}")).json()
            csv_resp = await page.request.get(f"{floor.url}/api/reports/{kind}.csv?{query}")
            assert csv_resp.headers["content-type"].startswith("text/csv")
            sheet = list(csv.reader(io.StringIO(await csv_resp.text())))
            assert sheet[0] == data["columns"]
            json_rows = [*data["rows"], data["totals"]]
            assert len(cells) == len(json_rows) == len(sheet) - 1 > 1
            for page_row, json_row, csv_row in zip(cells, json_rows, sheet[1:]):
                for col, cell in zip(data["columns"], csv_row):
                    want = shown(col, json_row[col])
                    if col != "period_start":
                        assert page_row[col] == want, (kind, col)
                    risky = isinstance(json_row[col], str) and want.startswith(RISKY)
                    assert cell == ("'" + want if risky else want), (kind, col)

        # The formula a disposition carried is text in the CSV, the page shows it as typed.
        dispositions = await _table(page)
        assert EVIL in [r["disposition"] for r in dispositions]
        csv_text = await (await page.request.get(
            f"{floor.url}/api/reports/dispositions.csv?{query}")).text()
        assert "'" + EVIL in csv_text and "\r\n" + EVIL not in csv_text
        pauses = await (await page.request.get(
            f"{floor.url}/api/reports/pauses.csv?{query}")).text()
        assert ",'@lunch," in pauses

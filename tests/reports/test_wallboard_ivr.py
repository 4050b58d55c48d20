"""One truth for the IVR: after three simulated callers took three paths through the demo flow
(one hung up in the main menu, one waited in line and hung up there, one served itself), the
wallboard shows today's callers and self-service containment per flow (in Chromium, live), its
document equals the IVR report for today figure for figure, and /metrics has the same per flow."""

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


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith("cc_ivr_"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


async def test_wallboard_and_metrics_show_the_ivr_report_for_today(browser, tmp_path):
    async with panel_floor(tmp_path, speed=10.0, prepare=_self_service) as floor:
        await floor.add_user("sup", "supervisor")
        page = await login(browser, floor, "sup")
        assert page.url.endswith("/wallboard")
        await expect(page.locator("#no-ivr")).to_be_visible(timeout=T)

        recorder = floor.server.reports.ivr_sessions
        calls = [await floor.sim.place_call(CallerScript(
            caller_id=f"555030{i}", exten="200", steps=steps, hangup_after=hangup))
            for i, (steps, hangup) in enumerate((
                ([], 10),  # hangs up in the main menu
                ([Press("1", after=0.5)], 12),  # nobody logged in: hangs up in line
                ([Silence(), Press("9", after=0.5)], 400)))]  # self-service
        for call in calls:
            await asyncio.wait_for(call.ended(), timeout=60)
        await until(lambda: recorder.recorded >= 3)

        # Live on the page, no reload: three callers, two of them served by the IVR.
        row = page.locator('#ivr tr[data-flow="demo"]')
        await expect(row.locator(".i-sessions")).to_have_text("3", timeout=T)
        await expect(row.locator(".i-contained")).to_have_text("2")
        await expect(row.locator(".i-containment")).to_have_text("66.7%")
        await expect(page.locator("#no-ivr")).to_be_hidden()

        board = await (await page.request.get(f"{floor.url}/api/panel/wallboard")).json()
        report = await (await page.request.get(
            f"{floor.url}/api/reports/ivr?by=total&group=flow")).json()
        rows: dict[str, Any] = {r["flow"]: {k: v for k, v in r.items()
                                            if k not in ("period", "period_start", "flow")}
                                for r in report["rows"]}
        assert board["ivr"] == rows
        assert (rows["demo"]["sessions"], rows["demo"]["queued"], rows["demo"]["contained"],
                rows["demo"]["containment_pct"]) == (3, 1, 2, 66.7)

        metrics = _samples(await (await page.request.get(f"{floor.url}/metrics")).text())
        assert metrics['cc_ivr_sessions_today{flow="demo"}'] == 3.0
        assert metrics['cc_ivr_contained_today{flow="demo"}'] == 2.0
        assert metrics['cc_ivr_containment_today_ratio{flow="demo"}'] == 2 / 3
        assert metrics['cc_ivr_sessions_total{flow="demo"}'] == 3.0
        assert metrics['cc_ivr_sessions_contained_total{flow="demo"}'] == 2.0
        assert {key.partition("{")[2] for key in metrics} == {'flow="demo"}'}
        await page.locator("#ivr").screenshot(path=str(tmp_path / "ivr.png"))

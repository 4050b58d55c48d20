"""In Chromium: the supervisor's wallboard changes live (no reload) and barge starts on the
call whose button was pressed (checked on the ChanSpy the simulated PBX received)."""

from __future__ import annotations

import asyncio

from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.sim import CallerScript, Press

T = 20_000  # ms: generous, only catches hangs


async def _until(probe, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    """Poll ``probe`` until it returns something truthy (the timeout only catches hangs)."""
    for _ in range(int(timeout / 0.05)):
        value = probe()
        if value:
            return value
        await asyncio.sleep(0.05)
    return probe()


async def test_wallboard_updates_live_and_barge_targets_the_right_call(browser, tmp_path):
    async with panel_floor(tmp_path, speed=5.0) as floor:
        server = floor.server
        await floor.add_user("sup", "supervisor", "1010")  # Jon's device is the supervisor's phone
        for agent_id in ("1001", "1006"):  # the only sales agents logged in
            await server.routing.agent_login(agent_id)
        page = await login(browser, floor, "sup")
        assert page.url.endswith("/wallboard")
        sales = page.locator('#queues tr[data-queue="sales"]')
        await expect(sales.locator(".q-agents")).to_have_text("available 2", timeout=T)
        await expect(sales.locator(".q-answered")).to_have_text("0")
        await page.evaluate("window.__noReload = 'still here'")

        calls = []
        for n in range(2):
            calls.append(await floor.sim.place_call(CallerScript(
                caller_id=f"555000{n}", exten="200", hangup_after=None,
                steps=[Press("1", after=0.5)])))
            for _ in range(400):  # one at a time, so each call's agent is known
                if len(server.monitor.live_calls()) == n + 1:
                    break
                await asyncio.sleep(0.05)
        live = {c.caller_id: c for c in server.monitor.live_calls()}
        assert set(live) == {"5550000", "5550001"}

        await expect(page.locator("#calls tbody tr")).to_have_count(2, timeout=T)
        await expect(sales.locator(".q-answered")).to_have_text("2", timeout=T)
        await expect(sales.locator(".q-agents")).to_have_text("busy 2", timeout=T)
        assert await page.evaluate("window.__noReload") == "still here"

        target = live["5550001"]
        row = page.locator(f'#calls tr[data-interaction="{target.interaction_id}"]')
        await expect(row).to_contain_text("5550001")
        await row.locator("button.mon-barge").click()
        await expect(page.locator('#sessions li[data-mode="barge"]')).to_have_count(1, timeout=T)
        assert await page.locator("#monitor-error").text_content() == ""

        spies = await _until(lambda: [o for o in floor.sim.requests("Originate")
                                      if o.get("Application") == "ChanSpy"])
        assert len(spies) == 1
        spyee, options = spies[0]["Data"].split(",", 1)
        assert spyee == target.agent_channel  # the exact channel of the call clicked
        assert "B" in options  # barge: speak to both parties
        assert live["5550000"].agent_channel not in spies[0]["Data"]
        starts = await _until(lambda: floor.sim.events.named("ChanSpyStart"))
        assert [e["SpyeeChannel"] for e in starts] == [target.agent_channel]
        sessions = server.monitor.sessions()
        assert [(s.interaction_id, s.leg.mode.value) for s in sessions] == \
            [(target.interaction_id, "barge")]

"""In Chromium: an agent logs in and goes available, a call pops with its IVR data, the agent
hangs up through the server and dispositions the call."""

from __future__ import annotations

import asyncio

from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.sim import CallerScript, Press
from contactcenter.storage.customers import CustomerRecord, CustomerStore

T = 20_000  # ms: generous, only catches hangs


async def test_agent_goes_available_gets_screen_pop_hangs_up_and_dispositions(browser, tmp_path):
    async with panel_floor(tmp_path) as floor:
        server = floor.server
        await CustomerStore(server.db).upsert(CustomerRecord(
            phone="5551234", name="Ada Lovelace", account="12345", tier="gold"))
        await floor.add_user("carla", "agent", "1003")  # Carla: the only support agent logged in
        page = await login(browser, floor, "carla")
        assert page.url.endswith("/agent")

        state = page.locator("#state")
        await expect(state).to_have_text("logged_out", timeout=T)
        await page.click("#queues-login")
        await expect(state).not_to_have_text("logged_out", timeout=T)
        await page.select_option("#pause-reason", "lunch")
        await page.click("#pause")
        await expect(state).to_have_text("paused", timeout=T)
        await expect(page.locator("#pause-shown")).to_have_text("(lunch)", timeout=T)
        await page.click("#available")
        await expect(state).to_have_text("available", timeout=T)
        assert server.routing.agent("1003").state == "available"

        # A caller picks support (2) and types an account number; the IVR queues them.
        call = await floor.sim.place_call(CallerScript(
            caller_id="5551234", exten="200", hangup_after=None,
            steps=[Press("2", after=0.5), Press("12345#", after=0.5)]))
        pop = page.locator("#pop")
        await expect(pop).to_be_visible(timeout=T)
        await expect(state).to_have_text("busy", timeout=T)
        await expect(page.locator("#pop-caller")).to_have_text("5551234")
        await expect(page.locator("#pop-queue")).to_have_text("support")
        await expect(page.locator("#pop-path")).to_contain_text("main_menu → support_account")
        await expect(page.locator("#pop-inputs")).to_contain_text("account")
        await expect(page.locator("#pop-inputs")).to_contain_text("12345")
        await expect(page.locator("#pop-lookup")).to_contain_text("Ada Lovelace")
        iid = await pop.get_attribute("data-interaction")
        assert iid and server.routing.state_of(iid) is not None
        assert call.connected_to == "PJSIP/1003"

        # Hang up through the server: an AMI Hangup of the agent's leg ends the call.
        agent_channels = [c.agent_channel for c in server.monitor.live_calls()]
        assert len(agent_channels) == 1
        await page.click("#hangup")
        await expect(state).to_have_text("wrapup", timeout=T)
        await expect(page.locator("#wrapup")).to_be_visible()
        await asyncio.wait_for(call.ended(), timeout=20)
        assert agent_channels[0] not in floor.sim.channels
        timer = page.locator("#wrapup-timer")
        await expect(timer).to_contain_text("/ 0:30", timeout=T)  # support: 30 s wrap-up
        first = await timer.text_content()
        await expect(timer).not_to_have_text(first or "", timeout=T)  # it runs

        await page.select_option("#disposition", "escalated")
        await page.fill("#notes", "customer wants a manager")
        await page.click("#wrapup-done")
        await expect(state).to_have_text("available", timeout=T)
        await expect(page.locator("#wrapup")).to_be_hidden()
        await expect(page.locator("#figures")).to_contain_text("escalated: 1", timeout=T)

        await server.routing.flush()
        rows = await server.routing.log.events(interaction_id=iid)
        done = [r for r in rows if r["kind"] == "wrapup-done"]
        assert len(done) == 1 and done[0]["disposition"] == "escalated"
        assert done[0]["notes"] == "customer wants a manager"
        hangups = await server.audit.list(action_prefix="call.hangup")
        assert [(a.actor, a.target, a.outcome) for a in hangups] == [("carla", iid, "ok")]

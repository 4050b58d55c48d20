"""In Chromium: an agent with a connected call puts it on hold (the caller hears music, the
panel shows "on hold" with a running timer, the supervisor's wallboard marks the call held),
resumes it (bridged again), then transfers it to
an outside number (the caller's channel dials it; the agent wraps up)."""

from __future__ import annotations

import asyncio

from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.sim import CallerScript, Phone, Press

T = 20_000  # ms: generous, only catches hangs
OUTSIDE = "Local/5550100@contactcenter-outbound"


def _playing(sim, channel: str) -> str | None:  # type: ignore[no-untyped-def]
    state = None
    for h in sim.events.history:
        event, fields = h[0][1], dict(h)
        if fields.get("Channel") == channel and event in ("MusicOnHoldStart", "MusicOnHoldStop"):
            state = fields.get("Class") if event == "MusicOnHoldStart" else None
    return state


async def _until(check):  # type: ignore[no-untyped-def]
    async def loop():  # type: ignore[no-untyped-def]
        while not (value := check()):
            await asyncio.sleep(0.02)
        return value
    return await asyncio.wait_for(loop(), T / 1000)


async def test_hold_resume_then_transfer_to_a_number(browser, tmp_path):
    async with panel_floor(tmp_path) as floor:
        server, sim = floor.server, floor.sim
        sim.add_phone(Phone(OUTSIDE, answer_after=0.5, talk_for=1.0))
        await floor.add_user("carla", "agent", "1003")  # the only support agent logged in
        page = await login(browser, floor, "carla")
        await floor.add_user("sue", "supervisor")
        board = await login(browser, floor, "sue")  # lands on the wallboard
        state = page.locator("#state")
        await page.click("#queues-login")
        await expect(state).to_have_text("available", timeout=T)

        call = await sim.place_call(CallerScript(
            caller_id="5551234", exten="200", hangup_after=None,
            steps=[Press("2", after=0.5), Press("12345#", after=0.5)]))
        await expect(state).to_have_text("busy", timeout=T)
        pop = page.locator("#pop")
        await expect(pop).to_be_visible(timeout=T)
        iid = await pop.get_attribute("data-interaction")
        agi = call.agi_channel

        # Hold: the panel shows it with a running timer; the caller hears music.
        held = page.locator("#hold-shown")
        await expect(held).to_be_hidden()
        await page.click("#hold")
        await expect(held).to_be_visible(timeout=T)
        await expect(page.locator("#resume")).to_be_visible()
        await expect(page.locator("#hold")).to_be_hidden()
        timer = page.locator("#hold-timer")
        first = await timer.text_content()
        await expect(timer).not_to_have_text(first or "", timeout=T)  # it runs
        assert await _until(lambda: _playing(sim, agi)) == "default"
        assert "on_hold_since" in server.routing.engine.live[iid].data
        # The supervisor's wallboard shows the call as held, live.
        row = board.locator(f'#calls tr[data-interaction="{iid}"]')
        await expect(row.locator(".badge.held")).to_contain_text("on hold", timeout=T)
        await expect(page.locator("#pop-inputs")).not_to_contain_text("on_hold_since")

        # Resume: bridged again, no music, the panel is back to normal.
        await page.click("#resume")
        await expect(held).to_be_hidden(timeout=T)
        await expect(page.locator("#hold")).to_be_visible()
        await _until(lambda: agi in sim.channels and sim.channels[agi].bridge is not None)
        assert _playing(sim, agi) is None
        assert "on_hold_since" not in server.routing.engine.live[iid].data
        await expect(row.locator(".badge.held")).to_have_count(0, timeout=T)

        # A bad number is refused in the page; a good one transfers and ends the call here.
        await page.fill("#transfer-number", "12ab")
        await page.click("#transfer-number-go")
        await expect(page.locator("#call-error")).to_contain_text("digits", timeout=T)
        assert server.routing.state_of(iid) is not None
        await page.fill("#transfer-number", "5550100")
        await page.click("#transfer-number-go")
        await expect(state).to_have_text("wrapup", timeout=T)
        await expect(page.locator("#wrapup")).to_be_visible()
        await asyncio.wait_for(call.ended(), T / 1000)
        assert call.connected_to == OUTSIDE
        assert f"EXEC Dial {OUTSIDE},45,g" in call.agi_commands

        await server.routing.flush()
        kinds = [r["kind"] for r in await server.routing.log.events(interaction_id=iid)]
        assert [k for k in kinds if k in ("connect", "hold", "unhold", "transfer", "complete")] \
            == ["connect", "hold", "unhold", "transfer", "complete"]
        audits = await server.audit.list(action_prefix="call.")
        assert sorted((a.action, a.outcome) for a in audits) == [
            ("call.hold", "ok"), ("call.resume", "ok"), ("call.transfer", "ok")]

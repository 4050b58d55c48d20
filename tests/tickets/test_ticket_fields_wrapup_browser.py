"""In Chromium, the agent desk's wrap-up: the "Create ticket" form offers the ticket's type and
custom fields (typed inputs, required-on-solve ones marked), and the ticket about the call is
made with them in one request."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import expect

# The agent desk's floor (simulator and server) is tests/browser's, on tests/e2e's floor.
for _folder in ("e2e", "browser"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _folder))

from panel_floor import login, panel_floor

from contactcenter.sim import CallerScript, Press
from contactcenter.tickets.fields import parse_field, parse_types

T = 20_000  # ms: generous, only catches hangs


async def test_a_ticket_from_wrap_up_carries_its_type_and_fields(browser, tmp_path):
    async with panel_floor(tmp_path) as floor:
        store = floor.server.tickets.field_store
        await store.set_types(parse_types(["question", "incident"]))
        for body in ({"key": "product", "label": "Product", "kind": "dropdown",
                      "options": ["Widget", "Gadget"], "required_on_solve": True},
                     {"key": "units", "label": "Units", "kind": "number"},
                     {"key": "callback", "label": "Call back", "kind": "checkbox"}):
            await store.save_field(parse_field(body), "test", 0.0, create=True)
        await floor.add_user("carla", "agent", "1003")
        page = await login(browser, floor, "carla")
        await expect(page.locator("#live-status")).to_have_text("live", timeout=T)
        await page.click("#queues-login")
        await expect(page.locator("#state")).to_have_text("available", timeout=T)

        call = await floor.sim.place_call(CallerScript(
            caller_id="5551234", exten="200", hangup_after=None,
            steps=[Press("2", after=0.5), Press("12345#", after=0.5)]))
        await expect(page.locator("#state")).to_have_text("busy", timeout=T)
        await page.click("#hangup")
        await expect(page.locator("#wrapup")).to_be_visible(timeout=T)
        await asyncio.wait_for(call.ended(), timeout=20)

        await expect(page.locator("#wf-units")).to_have_attribute("type", "number")
        await expect(page.locator("#ticket-fields label", has_text="Product *")).to_be_visible()
        await page.fill("#ticket-subject", "Replace the router")
        await page.select_option("#wf-type", "incident")
        await page.select_option("#wf-product", "Gadget")
        await page.fill("#wf-units", "3")
        await page.check("#wf-callback")
        await page.click("#ticket-create")
        created = page.locator("#ticket-link")
        await expect(created).to_be_visible(timeout=T)
        ticket_id = int((await created.text_content() or "").split("#")[1])
        await expect(page.locator("#wf-units")).to_have_value("")  # the form is empty again

        answer = await page.request.get(f"{floor.url}/api/tickets/{ticket_id}/fields")
        assert answer.status == 200
        assert await answer.json() == {"type": "incident", "values": {
            "product": "Gadget", "units": 3, "callback": True}}

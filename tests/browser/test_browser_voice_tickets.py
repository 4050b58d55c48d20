"""In Chromium: the screen pop links to the caller's customer page; in wrap-up the agent
creates a ticket about the call; the customer page lists the customer's call, chat and
ticket, each linking on; a voice message's ticket plays its audio on the ticket page."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import aiohttp
from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.chat.settings import ChatChannelSettings, ChatSettings, PrechatField
from contactcenter.config.schema import Settings
from contactcenter.sim import CallerScript, Press
from contactcenter.storage.customers import CustomerRecord, CustomerStore

T = 20_000  # ms: generous, only catches hangs
SITE = "http://127.0.0.1:9999"  # the (pretend) site embedding the chat widget
VM_FLOW = """
entry: vm
nodes:
  vm: {type: message, purpose: voicemail, max_seconds: 20, next: bye}
  bye: {type: hangup, prompt: vm-goodbye}
"""


async def with_chat_and_voicemail(settings: Settings) -> Settings:
    """A chat channel asking for a phone (queue sales: nobody logged in takes it), and the
    ``vm`` flow on number 300 recording into the folder the PBX shares with the server."""
    site = ChatChannelSettings(name="site", queue="sales", allowed_origins=[SITE], prechat=[
        PrechatField(name="name", label="Your name", required=True),
        PrechatField(name="phone", label="Phone", type="tel")])
    (Path(settings.flows_dir) / "vm.yaml").write_text(VM_FLOW)
    messages = Path(settings.recordings_dir) / "messages"
    messages.mkdir(parents=True, exist_ok=True)
    return replace(settings, chat=ChatSettings(channels=[site]), ivr=replace(
        settings.ivr, numbers={**settings.ivr.numbers, "300": "vm"}, messages_dir=str(messages)))


async def test_screen_pop_customer_page_and_ticket_from_wrap_up(browser, tmp_path):
    async with panel_floor(tmp_path, prepare=with_chat_and_voicemail) as floor:
        server = floor.server
        await CustomerStore(server.db).upsert(CustomerRecord(
            phone="5551234", name="Ada Lovelace", account="12345", tier="gold"))
        async with aiohttp.ClientSession() as visitor, visitor.post(
                f"{floor.url}/api/chat/widget/site/conversations", headers={"Origin": SITE},
                json={"answers": {"name": "Ada", "phone": "5551234"}}) as r:
            assert r.status == 201, await r.text()
            chat_id = (await r.json())["conversation_id"]
        await floor.add_user("carla", "agent", "1003")  # the only support agent logged in
        page = await login(browser, floor, "carla")
        await expect(page.locator("#live-status")).to_have_text("live", timeout=T)
        await page.click("#queues-login")
        await expect(page.locator("#state")).to_have_text("available", timeout=T)

        call = await floor.sim.place_call(CallerScript(
            caller_id="5551234", exten="200", hangup_after=None,
            steps=[Press("2", after=0.5), Press("12345#", after=0.5)]))
        await expect(page.locator("#state")).to_have_text("busy", timeout=T)
        link = page.locator("#pop-customer-link")
        await expect(link).to_be_visible(timeout=T)
        await expect(link).to_contain_text("Ada Lovelace")
        href = await link.get_attribute("href")
        assert href and href.startswith("/customers/")
        iid = await page.locator("#pop").get_attribute("data-interaction")

        await page.click("#hangup")
        await expect(page.locator("#wrapup")).to_be_visible(timeout=T)
        await asyncio.wait_for(call.ended(), timeout=20)
        await page.fill("#ticket-subject", "Replace the router")
        await page.fill("#ticket-note", "Promised a call back on Monday")
        await page.click("#ticket-create")
        created = page.locator("#ticket-link")
        await expect(created).to_be_visible(timeout=T)
        ticket_id = int((await created.text_content() or "").split("#")[1])

        # The customer page, from the screen pop's link: the call, the chat and the ticket.
        await page.goto(floor.url + href)
        await expect(page.locator("#c-name")).to_have_text("Ada Lovelace", timeout=T)
        await expect(page.locator("#c-fields")).to_contain_text("12345")
        await expect(page.locator(f'#c-calls li[data-interaction="{iid}"]')).to_contain_text(
            "support")
        await expect(page.locator(f'#c-chats li[data-conversation="{chat_id}"]')).to_be_visible()
        ticket = page.locator(f'#c-tickets li[data-ticket="{ticket_id}"] a')
        await expect(ticket).to_have_text(f"#{ticket_id} Replace the router")

        # The ticket opens on the tickets page, linked back to the call.
        await ticket.click()
        await expect(page.locator("#t-subject")).to_have_text("Replace the router", timeout=T)
        await expect(page.locator('#t-calls li[data-kind="call"]')).to_contain_text(iid or "?")


async def test_a_voice_message_plays_on_its_ticket(browser, tmp_path):
    async with panel_floor(tmp_path, speed=10.0, prepare=with_chat_and_voicemail) as floor:
        call = await floor.sim.place_call(CallerScript(
            caller_id="5557777", exten="300", steps=[Press("#", after=2.0)], hangup_after=600))
        await asyncio.wait_for(call.ended(), timeout=20)
        await floor.add_user("sue", "supervisor")
        page = await login(browser, floor, "sue")
        await page.goto(f"{floor.url}/tickets?id=1")
        await expect(page.locator("#t-subject")).to_have_text(
            "Voice message from 5557777 (vm)", timeout=T)
        audio = page.locator('#t-calls li[data-kind="voicemail"] audio')
        await expect(audio).to_be_visible(timeout=T)
        # The browser itself loads and decodes the WAV: it knows its length once it played.
        duration = await audio.evaluate(
            """a => new Promise((ok, fail) => {
                 a.muted = true;
                 a.addEventListener("loadedmetadata", () => ok(a.duration), { once: true });
                 a.addEventListener("error", () => fail(String(a.error && a.error.code)));
                 a.load();
               })""")
        assert duration > 1.0
        plays = await floor.server.audit.list(action_prefix="ticket.voicemail.")
        assert plays and {(e.actor, e.outcome) for e in plays} == {("sue", "ok")}

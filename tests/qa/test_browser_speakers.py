"""In Chromium: a call through the real server and the simulator, in a queue whose recording
keeps the two directions apart (``speakers: true``). The server starts
``MixMonitor <file>,br(<caller file>)t(<agent file>)``, the simulator writes the three files
as Asterisk would (the caller's voice received, the agent's transmitted), the worker
transcribes both directions, and ``/recordings`` shows each line with who said it, in time
order, and plays the mixed file."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
import soundfile
from panel_floor import login, panel_floor
from playwright.async_api import expect
from qa_audio import silence, spoken, write_wav
from qa_calls import floor_copy, transcribed, transcribing_sales, until

from contactcenter.qa.worker import engine_installed
from contactcenter.sim import CallerScript, Phone, Press

pytestmark = [pytest.mark.skipif(not engine_installed(), reason="pocketsphinx is not installed"),
              pytest.mark.slow]  # a whole call, two transcriptions and a browser: ~17 s

T = 20_000  # ms: generous, only catches hangs


async def test_the_player_says_who_spoke_each_line(browser, tmp_path):
    agent_voice = write_wav(tmp_path / "agent.wav", np.concatenate([
        silence(1.0), spoken("this call may be recorded"), silence(0.5)]))
    caller_voice = write_wav(tmp_path / "caller.wav", np.concatenate([
        silence(4.5), spoken("i would like to cancel my subscription"), silence(0.5)]))
    async def prepare(settings):
        return transcribing_sales(settings, floor_copy(settings), speakers=True)
    async with panel_floor(tmp_path, speed=5.0, prepare=prepare) as floor:
        server = floor.server
        assert server.recording.policies.for_queue("sales").speakers
        for agent_id in ("1001", "1006"):
            agent = server.routing_config.agents[agent_id]
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=1.0, talk_for=12.0,
                                      speech=str(agent_voice)))
            await server.routing.agent_login(agent_id)
        await floor.add_user("sup", "supervisor")
        call = await floor.sim.place_call(CallerScript(
            caller_id="5550199", exten="200", steps=[Press("1", after=0.5)], hangup_after=600,
            speech=str(caller_voice)))
        await asyncio.wait_for(call.ended(), 60)
        rec = await until(lambda: _complete(server))
        mixed = server.recording.paths.resolve(rec.file)
        sides = {who: server.recording.paths.resolve(server.recording.paths.speaker_file(
            rec.file, who)) for who in ("caller", "agent")}
        [exec_line] = [c for c in call.agi_commands if c.startswith("EXEC MixMonitor")]
        assert f"r({sides['caller']})t({sides['agent']})" in exec_line, exec_line
        for path in sides.values():  # laid out like the mix: the same length
            assert soundfile.info(str(path)).frames == soundfile.info(str(mixed)).frames
        done = await until(lambda: transcribed(server, rec.id), timeout=120)
        assert done.status == "done", done.error
        by = {w.text: w.speaker for w in done.words}
        assert by.get("subscription") == "caller" and by.get("recorded") == "agent", done.words

        page = await login(browser, floor, "sup")
        await page.goto(f"{floor.url}/recordings")
        await page.fill("#f-text", "subscription")
        await page.click("#search")
        rows = page.locator("#results tbody tr")
        await expect(rows).to_have_count(1, timeout=T)
        await expect(rows.first.locator(".snippet")).to_have_text(re.compile(r"^caller: "))
        await rows.first.click()
        agent_line = page.locator('#transcript li[data-speaker="agent"]')
        caller_line = page.locator('#transcript li[data-speaker="caller"]')
        await expect(agent_line.filter(has_text="recorded")).to_have_count(1, timeout=T)
        await expect(caller_line.filter(has_text="subscription")).to_have_count(1)
        await expect(agent_line.first.locator(".t-who")).to_have_text("Agent")
        await expect(caller_line.first.locator(".t-who")).to_have_text("Caller")
        # In time order: the agent's line comes before the caller's.
        order = await page.locator("#transcript li").evaluate_all(
            "items => items.map(li => li.dataset.speaker)")
        assert order.index("agent") < order.index("caller"), order

        await page.click("#play")
        audio = page.locator("#audio")
        await expect(audio).to_have_attribute("src", re.compile(r"/stream\?ticket="), timeout=T)
        await page.wait_for_function(
            "() => document.getElementById('audio').duration > 0", timeout=T)
        duration = await audio.evaluate("a => a.duration")
        assert abs(duration - rec.duration_s) < 0.1  # the mixed file plays


async def _complete(server):
    found = await server.recording.index.search(queue="sales")
    if not found:
        return None
    rec = found[0]
    return rec if rec.status == "complete" and rec.duration_s else None



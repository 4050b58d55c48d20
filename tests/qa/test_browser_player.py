"""In Chromium: a call made through the real server by the simulator (its agent's phone speaks,
a supervisor pauses the recording for a while) is found on /recordings by words of its
transcript, shows its paused span over the waveform, and plays, audited."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
from panel_floor import login, panel_floor
from playwright.async_api import expect
from qa_audio import silence, spoken, write_wav
from qa_calls import floor_copy, transcribed, transcribing_sales, until

from contactcenter.qa.worker import engine_installed
from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.web.roles import Actor

pytestmark = pytest.mark.skipif(not engine_installed(), reason="pocketsphinx is not installed")

T = 20_000  # ms: generous, only catches hangs
SUP = Actor(0, "sup", "supervisor")


async def test_find_by_transcript_play_and_see_the_paused_span(browser, tmp_path):
    speech = write_wav(tmp_path / "agent.wav", np.concatenate([
        silence(1.0), spoken("i would like to cancel my subscription"), silence(0.5)]))
    async def prepare(settings):
        return transcribing_sales(settings, floor_copy(settings))
    async with panel_floor(tmp_path, speed=5.0, prepare=prepare) as floor:
        server = floor.server
        assert server.recording.policies.for_queue("sales").transcribe
        for agent_id in ("1001", "1006"):
            agent = server.routing_config.agents[agent_id]
            floor.sim.add_phone(Phone(agent.dial_string, answer_after=1.0, talk_for=14.0,
                                      speech=str(speech)))
            await server.routing.agent_login(agent_id)
        await floor.add_user("sup", "supervisor")
        call = await floor.sim.place_call(CallerScript(
            caller_id="5550142", exten="200", steps=[Press("1", after=0.5)], hangup_after=600))
        rec_id = await until(lambda: _recording_id(server))
        iid = (await server.recording.index.get(rec_id)).interaction_id
        await until(lambda: _connected(server, iid))
        await floor.clock.sleep(6.0)  # after the speech
        await server.recording.pause(iid, SUP)
        await floor.clock.sleep(3.0)
        await server.recording.resume(iid, SUP)
        await asyncio.wait_for(call.ended(), 60)
        rec = await until(lambda: _complete(server, rec_id))
        [pause] = rec.silent("pause")
        done = await until(lambda: transcribed(server, rec_id), timeout=120)
        assert "subscription" in done.text, done.text

        page = await login(browser, floor, "sup")
        await page.goto(f"{floor.url}/recordings")
        await page.fill("#f-text", "subscription")
        await page.click("#search")
        rows = page.locator("#results tbody tr")
        await expect(rows).to_have_count(1, timeout=T)
        await expect(rows.first).to_have_attribute("data-recording", rec_id)
        await expect(rows.first.locator(".snippet")).to_contain_text("subscription")
        await rows.first.click()

        span = page.locator('#wave-spans div[data-kind="pause"]')
        await expect(span).to_have_count(1, timeout=T)
        await expect(page.locator("#spans li.span-pause")).to_have_text(
            re.compile(r"^paused \d:\d\d–\d:\d\d \(sup\)$"))
        # The overlay sits where the pause is: its left edge at start / duration.
        left = await span.evaluate("e => parseFloat(e.style.left)")
        assert abs(left - 100 * pause.start / rec.duration_s) < 0.5
        await expect(page.locator("#transcript li")).not_to_have_count(0, timeout=T)
        await expect(page.locator("#transcript")).to_contain_text("subscription")

        assert await floor.server.audit.list(action_prefix="recording.play") == []
        await page.click("#play")
        audio = page.locator("#audio")
        await expect(audio).to_have_attribute("src", re.compile(r"/stream\?ticket="), timeout=T)
        await page.wait_for_function(
            "() => document.getElementById('audio').currentTime > 0.2", timeout=T)
        duration = await audio.evaluate("a => a.duration")
        assert abs(duration - rec.duration_s) < 0.1
        [played] = await floor.server.audit.list(action_prefix="recording.play")
        assert played.actor == "sup" and played.target == rec_id


async def _recording_id(server):
    found = await server.recording.index.search(queue="sales")
    return found[0].id if found else None


async def _connected(server, iid):
    return server.recording.live_call(iid) is not None


async def _complete(server, rec_id):
    rec = await server.recording.index.get(rec_id)
    return rec if rec.status == "complete" and rec.duration_s else None



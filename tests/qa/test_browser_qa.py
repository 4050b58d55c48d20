"""In Chromium: an admin saves a scorecard, a supervisor fills and submits an evaluation whose
disclosure question the transcript answered (the evidence shown), and the agent acknowledges it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import expect
from qa_audio import tone
from qa_browser import browser_login

from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.web.roles import Actor

T = 20_000  # ms: generous, only catches hangs
A = "a" * 32
SAID = "hello this call may be recorded how can i help you"


async def test_evaluation_is_filled_submitted_and_acknowledged(qa_env, browser):
    env = qa_env
    await env.add_recording(A, tone(20), queue="sales", agent_id="1001")
    store, now = env.qa.transcripts, datetime(2026, 5, 1, tzinfo=UTC)
    await store.enqueue(A, "sales", now)
    await store.claim_next(now)
    words = tuple(Word(w, 2.0 + i * 0.4, 2.3 + i * 0.4) for i, w in enumerate(SAID.split(" ")))
    await store.finish(A, SpeechResult(words, 20.0), now)
    base = env.url("/").rstrip("/")

    admin = await browser_login(browser, base, "admin")
    await admin.goto(f"{base}/qa")
    await expect(admin.locator("#s-form")).to_have_value(
        re.compile("this call may be recorded"), timeout=T)  # the template
    await admin.fill("#s-name", "Sales calls")
    await admin.click("#s-save")
    await expect(admin.locator("#s-status")).to_have_text("saved Sales calls v1", timeout=T)
    await expect(admin.locator('#s-list tr[data-scorecard]')).to_have_count(1)

    sup = await browser_login(browser, base, "sup")
    await sup.goto(f"{base}/qa?recording={A}")
    await expect(sup.locator("#e-recording")).to_have_value(A, timeout=T)
    await expect(sup.locator("#e-scorecard option")).to_have_count(1, timeout=T)
    await sup.click("#e-start")
    disclosure = sup.locator('.question[data-question="disclosure"]')
    await expect(disclosure.locator(".evidence")).to_have_text(
        'auto: yes: heard "this call may be recorded" at 0:02', timeout=T)
    await expect(sup.locator("#q-disclosure-yes")).to_be_checked()
    await expect(disclosure.locator(".critical")).to_have_text("critical")
    await sup.select_option("#q-tone", "4")
    await sup.fill("#q-tone-note", "warm")
    await sup.fill("#e-comment", "good opening")
    await sup.click("#e-submit")
    await expect(sup.locator("#e-result")).to_have_text("93.3% (14/15)", timeout=T)
    await expect(sup.locator('#evaluations tr[data-status="submitted"]')).to_have_count(1)

    [stored] = await env.qa.service.listing(Actor(0, "admin", "admin"))
    assert stored.status == "submitted" and stored.evaluator == "sup"
    assert stored.answers["tone"]["value"] == 4 and stored.answers["tone"]["note"] == "warm"
    assert stored.answers["disclosure"]["value"] == "yes"
    assert stored.answers["disclosure"]["overridden"] is False
    assert stored.comment == "good opening" and stored.score.percent == 14 / 15 * 100

    agent = await browser_login(browser, base, "agent1")
    await agent.goto(f"{base}/qa")
    await expect(agent.locator("#list-title")).to_have_text("My evaluations", timeout=T)
    row = agent.locator(f'#evaluations tr[data-evaluation="{stored.id}"]')
    await row.click()
    await expect(agent.locator("#d-score")).to_have_text("93.3% (14/15)")
    await agent.fill("#d-agent-comment", "thanks")
    await agent.click("#d-ack")
    await expect(agent.locator("#d-response")).to_have_text("acknowledged by agent1: thanks",
                                                             timeout=T)
    await expect(row.locator(".e-status")).to_have_text("acknowledged", timeout=T)
    assert await agent.locator("#evaluate").is_hidden()  # an agent evaluates nobody
    [row_audit] = await env.audit.list(action_prefix="qa.evaluation.acknowledge")
    assert row_audit.actor == "agent1" and row_audit.target == str(stored.id)

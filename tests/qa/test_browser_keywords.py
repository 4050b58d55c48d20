"""In Chromium: a supervisor keeps a keyword list on /qa and finds the call it was heard in,
with the time of each hit."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.async_api import expect
from qa_audio import tone
from qa_browser import browser_login

from contactcenter.qa.speech import SpeechResult, Word

T = 20_000  # ms: generous, only catches hangs
A, B = "a" * 32, "b" * 32
NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def _transcript(env, rec_id, text, agent):
    await env.add_recording(rec_id, tone(20), queue="sales", agent_id=agent)
    store = env.qa.transcripts
    await store.enqueue(rec_id, "sales", NOW)
    await store.claim_next(NOW)
    words = tuple(Word(w, 2.0 + i * 0.4, 2.3 + i * 0.4) for i, w in enumerate(text.split()))
    await store.finish(rec_id, SpeechResult(words, 20.0), NOW)


async def test_a_keyword_list_is_saved_and_its_calls_found(qa_env, browser):
    env = qa_env
    await _transcript(env, A, "hello this call may be recorded how can i help you", "1001")
    await _transcript(env, B, "hello how can i help you", "1002")
    base = env.url("/").rstrip("/")

    sup = await browser_login(browser, base, "sup")
    await sup.goto(f"{base}/qa")
    await expect(sup.locator("#keywords")).to_be_visible(timeout=T)
    await sup.fill("#k-name", "compliance")
    await sup.fill("#k-phrases", "this call may be recorded\nhow can I help you\n")
    await sup.click("#k-save")
    await expect(sup.locator("#k-status")).to_have_text("saved compliance v1", timeout=T)
    await expect(sup.locator('#k-lists tr[data-list="compliance"] td').nth(1)).to_have_text("2")
    await expect(sup.locator("#k-list")).to_have_value("compliance")

    await sup.click("#k-search")
    rows = sup.locator("#k-hits tbody tr")
    await expect(rows).to_have_count(2, timeout=T)
    first = sup.locator(f'#k-hits tr[data-recording="{A}"] .hit')
    await expect(first).to_have_text(["0:02 this call may be recorded", "0:04 how can i help you"])
    await expect(sup.locator(f'#k-hits tr[data-recording="{B}"] .hit')).to_have_text(
        ["0:02 how can i help you"])

    await sup.fill("#k-phrase", "this call may be recorded")
    await sup.click("#k-search")
    await expect(rows).to_have_count(1, timeout=T)
    await expect(rows.first).to_have_attribute("data-recording", A)

    # a list with a bad phrase shows every problem and is not saved
    await sup.fill("#k-name", "churn")
    await sup.fill("#k-phrases", "cancel\n?!")
    await sup.click("#k-save")
    await expect(sup.locator("#k-errors li")).to_have_text(
        ["body.phrases[1] must hold words (letters or digits)"], timeout=T)
    await expect(sup.locator("#k-lists tr[data-list]")).to_have_count(1)

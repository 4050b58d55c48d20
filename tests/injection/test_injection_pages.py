"""No payload runs in the voice screen pop, the wallboard, the reports pages, the
knowledge base editor or the recordings player (Chromium).

A simulated call per payload comes in with the payload as its caller id and caller name (the
flows' copy puts the name into the call's data, so the pop shows it among the IVR inputs). The
agent's panel pops it while the phone rings and talks, the supervisor's wallboard lists the
call; the agent wraps up with the payload as disposition, then pauses with it as reason, which
the wallboard shows too. Then the reports page draws the dispositions and pauses reports (table
and charts) from those rows; the knowledge base editor previews and saves an article made of
the payloads; the recordings player lists, searches and opens the calls. Every page has
``alert``/``confirm``/``prompt`` hooked; once a payload's marker is visibly on screen,
``window.__pwned`` must still be undefined.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from corpus import PAYLOADS, PWN_JS, Payload, quick
from floor import REPO
from page_checks import open_page
from panel_floor import PASSWORD, panel_floor
from playwright.async_api import expect

from contactcenter.config.schema import Settings
from contactcenter.sim import CallerScript, Press

MS = 20_000  # only catches hangs
MAX_REASON = 64  # what a disposition or a pause reason holds (routing/engine_state.py)
# A value of an interaction's data holds 1,024 characters: a longer caller id sends the call down
# its flow's error path ("queue 'sales' failed: data value ... longer than 1024"), so the size
# payloads call in cut to this.
MAX_CALLER = 1000
# The declared request schema refuses it before the routing engine sees it (web/openapi.py).
ERROR_UNPRINTABLE = f"body.disposition must be a string of 1 to {MAX_REASON} printable characters"


def _callable(p: Payload) -> bool:
    # CR, LF and NUL never reach Asterisk as caller id; lone surrogates cannot cross SIP/AMI.
    return not p.framing and p.utf8


async def _caller_name_in_pop(settings: Settings) -> Settings:
    """The sales queue of the flows' copy carries the caller's name into the call's data; its
    wrap-up lasts until the agent ends it (the test does, with a payload as disposition)."""
    demo = Path(settings.flows_dir) / "demo.yaml"
    text = demo.read_text()
    sales = "    queue: sales\n    priority: if(vip, 10, 1)\n    skills: {sales: 1}\n"
    assert text.count(sales) == 1
    demo.write_text(text.replace(sales, sales + "    data:\n      name: caller_name\n"))
    queues = Path(settings.flows_dir).parent / "queues.yaml"
    text = (REPO / "config/queues.yaml").read_text()
    assert text.count("    wrapup_s: 15\n") == 1  # sales
    queues.write_text(text.replace("    wrapup_s: 15\n", "    wrapup_s: 3600\n"))
    return replace(settings, routing=replace(settings.routing, queues_file=str(queues)))


def _short(p: Payload) -> str:
    """The payload as a disposition or pause reason (at most 64 characters, printable)."""
    return p.upto(MAX_REASON)


async def _open(browser: Any, url: str, username: str, path: str) -> tuple[Any, list[str]]:
    return await open_page(browser, url, username, PASSWORD, path, MS)


async def _api(page: Any, method: str, path: str, body: dict[str, Any] | None) -> Any:
    """A request the page itself makes (its cookie and CSRF token), as its buttons do."""
    return await page.evaluate(
        "async ([m, p, b]) => { try { return await cc.api(m, p, b === null ? undefined : b); }"
        " catch (e) { return {status: e.status, error: e.message}; } }", [method, path, body])


# Markdown's own ways to a script: links and images whose target is javascript:, raw HTML.
MARKDOWN = [
    "[click pwnmd1](javascript:" + PWN_JS + "('pwnmd1'))",
    "![pwnmd2](x\" onerror=\"" + PWN_JS + "('pwnmd2'))",
    "<img src=x onerror=" + PWN_JS + "('pwnmd3')> pwnmd3",
    "[pwnmd4](<javascript:" + PWN_JS + "('pwnmd4')>)",
]


async def _kb_editor(browser: Any, url: str, payloads: list[Payload]) -> tuple[Any, list[str]]:
    """The knowledge base's editor (its preview is the server's HTML, set as innerHTML) with
    every payload in an article's body and one as its title; saved, then listed."""
    kb, dialogs = await _open(browser, url, "inj-sup", "/kb")
    await expect(kb.locator("#list-empty")).to_be_visible(timeout=MS)  # the page is ready
    await kb.click("#new")
    html = next(p for p in payloads if p.kind == "html")
    await kb.fill("#e-title", html.text[:200])
    await kb.fill("#e-body", "\n\n".join([p.text for p in payloads] + MARKDOWN))
    for marker in [p.marker for p in payloads] + ["pwnmd1", "pwnmd3"]:
        await expect(kb.locator("#e-preview")).to_contain_text(marker, timeout=MS)
    await kb.click("#save")
    await expect(kb.locator("#articles tbody")).to_contain_text(html.marker, timeout=MS)
    preview = kb.locator("#e-preview")
    assert await preview.locator("a[href^='javascript' i], script, iframe, svg, style, "
                                 "[onerror], [onload], [ontoggle], [srcdoc]").count() == 0
    return kb, dialogs


async def _recordings(browser: Any, url: str,
                      payloads: list[Payload]) -> tuple[Any, list[str]]:
    """The recordings player (sales records every call): the search results list each call's
    caller id, a search by caller id finds the SQL payload's call, the player's title shows the
    HTML payload's caller."""
    page, dialogs = await _open(browser, url, "inj-sup", "/recordings")
    results = page.locator("#results tbody")
    await page.click("#search")
    for p in payloads:
        await expect(results).to_contain_text(p.marker, timeout=MS)
    sql = next(p for p in payloads if p.kind == "sql")
    await page.fill("#f-caller", sql.text)
    await page.click("#search")
    await expect(results.locator("tr")).to_have_count(1, timeout=MS)
    await expect(results).to_contain_text(sql.marker, timeout=MS)
    html = next(p for p in payloads if p.kind == "html")
    await page.fill("#f-caller", "")
    await page.click("#search")
    await results.locator("tr", has_text=html.marker).first.click()
    await expect(page.locator("#p-title")).to_contain_text(html.marker, timeout=MS)
    return page, dialogs


async def _report_holds(page: Any, kind: str, markers: list[str]) -> None:
    """Shows report ``kind`` until its table holds every marker: the page fetches once per
    choice, and the agent-state log of the last unpause may reach the database just after."""
    async def choose(value: str) -> None:
        # body[data-loaded] counts the renders: past the count seen, the table is this choice's
        seen = await page.locator("body").get_attribute("data-loaded") or "0"
        await page.select_option("#kind", value)
        await expect(page.locator("body")).to_have_attribute(
            "data-loaded", re.compile(rf"^(?!{seen}$)\d+$"), timeout=MS)

    deadline = asyncio.get_running_loop().time() + MS / 1000
    while True:
        await choose(kind)
        text = await page.locator("#report tbody").inner_text()
        missing = [m for m in markers if m not in text]
        if not missing or asyncio.get_running_loop().time() > deadline:
            break
        await choose("queues")  # so that choosing ``kind`` again fetches anew
    assert not missing, (kind, missing)


async def _pages(browser: Any, tmp_path: Path, payloads: list[Payload]) -> None:
    async with panel_floor(tmp_path, speed=5.0, prepare=_caller_name_in_pop) as floor:
        await floor.add_user("inj-agent", "agent", "1001")
        await floor.add_user("inj-sup", "supervisor")
        await floor.server.routing.agent_login("1001")  # the one sales agent logged in
        agent, agent_dialogs = await _open(browser, floor.url, "inj-agent", "/agent")
        board, board_dialogs = await _open(browser, floor.url, "inj-sup", "/wallboard")
        await expect(agent.locator("#state")).to_have_text("available", timeout=MS)

        shown: list[Payload] = []  # the payloads a disposition and a pause reason can hold
        for p in payloads:
            caller = p.text[:MAX_CALLER]
            call = await floor.sim.place_call(CallerScript(
                caller_id=caller, caller_name=caller, exten="200", hangup_after=None,
                steps=[Press("1", after=0.5)]))
            pop = agent.locator("#pop")
            await expect(pop.locator("#pop-caller")).to_contain_text(p.marker, timeout=MS)
            await expect(pop.locator("#pop-inputs")).to_contain_text(p.marker, timeout=MS)
            await expect(board.locator("#calls tbody")).to_contain_text(p.marker, timeout=MS)
            await floor.sim.hangup_channel(call.caller_channel)
            await asyncio.wait_for(call.ended(), MS / 1000)
            await expect(agent.locator("#wrapup")).to_be_visible(timeout=MS)
            short = _short(p)
            if not short.isprintable():  # bidi or zero-width: no disposition nor reason holds it
                refused = await _api(agent, "POST", "/api/agents/1001/wrapup",
                                     {"disposition": short, "notes": p.text[:2000]})
                assert refused == {"status": 400, "error": ERROR_UNPRINTABLE}, refused
                short = "unprintable"
            done = await _api(agent, "POST", "/api/agents/1001/wrapup",
                              {"disposition": short, "notes": p.text[:2000]})
            assert done.get("status") is None, (p.name, done)
            if short == "unprintable":
                continue
            shown.append(p)
            paused = await _api(agent, "POST", "/api/agents/1001/pause", {"reason": short})
            assert paused.get("status") is None, (p.name, paused)
            await expect(board.locator('#agents tr[data-agent="1001"]')).to_contain_text(
                p.marker, timeout=MS)
            await expect(agent.locator("#pause-shown")).to_contain_text(p.marker, timeout=MS)
            await _api(agent, "POST", "/api/agents/1001/unpause", None)
            await expect(agent.locator("#state")).to_have_text("available", timeout=MS)
        assert shown

        reports, reports_dialogs = await _open(browser, floor.url, "inj-sup", "/reports")
        for kind in ("dispositions", "pauses"):
            await _report_holds(reports, kind, [p.marker for p in shown])
            assert await reports.evaluate("Object.keys(window.__charts).length") >= 2

        kb, kb_dialogs = await _kb_editor(browser, floor.url, payloads)
        recordings, recordings_dialogs = await _recordings(browser, floor.url, payloads)

        pages = ((agent, agent_dialogs), (board, board_dialogs), (reports, reports_dialogs),
                 (kb, kb_dialogs), (recordings, recordings_dialogs))
        for page, dialogs in pages:
            assert await page.evaluate("window.__pwned") is None
            assert dialogs == []
            assert await page.locator("script:not([src])").evaluate_all(
                "els => els.filter(e => e.textContent.includes('pwn')).length") == 0


async def test_no_payload_runs_in_the_screen_pop_wallboard_and_reports(browser, tmp_path):
    await _pages(browser, tmp_path, [p for p in quick(1) if _callable(p)])


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_those_pages(browser, tmp_path):
    await _pages(browser, tmp_path, [p for p in PAYLOADS if _callable(p)])

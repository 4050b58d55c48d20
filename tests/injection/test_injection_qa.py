"""No payload runs in the quality pages (``/qa``), in Chromium.

One server with both text channels. The agent a1 handles a chat (a visitor named with a payload
says every payload and a1 answers with them), is assigned a ticket per payload (its subject, its
requester's name and body; notes on the first), and has a recorded call whose caller id is a
payload and whose transcript says every payload's words. An admin saves a scorecard whose
sections and questions are the payloads, one more scorecard named after each payload, a keyword
list of the payloads and sampling rules suggesting those scorecards; a supervisor evaluates the
call, the chat and the ticket with the payloads as notes and comment; a1 answers with them.
Then the pages: the admin's (scorecards, keyword lists and their search, worklist and rules,
evaluations and their threads, the report), a supervisor's evaluation filled on the page, and
the agent's own evaluations, disputed on the page. Each shows every marker, and nothing ran.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from chat_floor import PASSWORD as CHAT_PASSWORD
from chat_floor import AgentClient, ChatFloor
from corpus import PAYLOADS, Payload, quick
from injection_checks import api_json
from page_checks import assert_inert, open_page
from playwright.async_api import expect
from text_floor import T, panel_user, text_floor
from tickets_floor import PASSWORD, TicketsFloor

from contactcenter.qa.phrases import words_of
from contactcenter.qa.speech import SpeechResult, Word
from contactcenter.recording.index import Recording

MS = int(T * 1000)
REC = "f" * 32  # the recorded call's id
CARD = "Corpus"  # the scorecard whose sections and questions are the payloads


def _fits(p: Payload) -> bool:
    # Lone surrogates cannot be stored or sent as UTF-8 (test_injection_text.py holds that);
    # a scorecard's texts and a ticket's refuse NUL.
    return p.utf8 and "\x00" not in p.text


def _chat_says(p: Payload) -> bool:
    """A chat refuses control characters other than line feeds and tabs."""
    return not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in p.text)


def _one_line(p: Payload) -> bool:
    """What a name holds: no control character, no line or paragraph separator."""
    return not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in p.text)


def _form(payloads: list[Payload]) -> dict[str, Any]:
    return {"sections": [{"title": p.upto(200), "questions": [{
        "id": f"q{i}", "text": p.upto(500), "kind": "yes_no", "weight": 1,
        "auto": {"phrase": p.upto(200)}}]} for i, p in enumerate(payloads)]}


async def _chat(floor: TicketsFloor, payloads: list[Payload]) -> tuple[str, AgentClient]:
    """A chat a1 took and closed: the visitor named with a payload, every payload said by
    both sides. The agent's panel client too."""
    chat = ChatFloor(floor.settings, floor.clock, floor.server, floor.port,
                     clients=floor.clients)
    alice = await chat.agent("inj-alice", "a1")
    await alice.listen()
    visitor = chat.visitor()
    named = next(p for p in payloads if p.kind == "html")  # a name holds no control character
    status, body = await visitor.start({"name": named.upto(80),
                                        "email": "vera@example.com"})
    assert status == 201, body
    cid = visitor.conversation_id
    await visitor.connect()
    await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
    await alice.post(f"/api/chat/conversations/{cid}/accept", {})
    payloads = [p for p in payloads if _chat_says(p)]
    for p in payloads:
        await visitor.say(p.upto(1000))
        await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": p.upto(1000)})
    last = payloads[-1].upto(1000)
    await visitor.frame(lambda f: f["type"] == "message" and f.get("from") == "agent"
                        and f["text"] == last)
    await alice.post(f"/api/chat/conversations/{cid}/close", {"disposition": "done"})
    await visitor.ws.close()
    await alice.close()
    return cid, alice


async def _tickets(floor: TicketsFloor, admin: Any, payloads: list[Payload]) -> list[str]:
    """A solved ticket of a1's per payload; every payload a note on the first two."""
    ids = []
    for p in payloads:
        made = await api_json(admin, floor.url, "POST", "/api/tickets", {
            "subject": p.upto(250), "text": p.text, "queue": "email", "assignee": "a1",
            "requester": {"email": "ann@customer.test",
                          "name": p.upto(200) if _one_line(p) else "Ann"}}, 201)
        ids.append(str(made["id"]))
    for ticket in ids[:2]:
        for p in payloads:
            await api_json(admin, floor.url, "POST", f"/api/tickets/{ticket}/notes",
                        {"text": p.text}, 201)
    for ticket in ids:
        await api_json(admin, floor.url, "PATCH", f"/api/tickets/{ticket}", {"status": "solved"})
    return ids


async def _recorded_call(floor: TicketsFloor, payloads: list[Payload]) -> None:
    """a1's call from a payload's caller id, its transcript saying every payload's words (the
    rows the recorder and the transcript worker write)."""
    qa, now = floor.server.qa, datetime.now(UTC)
    if qa.worker is not None:  # no audio here: the worker would fail the transcript
        await qa.worker.close()
    caller = next(p for p in payloads if p.kind == "html").upto(100)
    await floor.server.recording.index.add(Recording(
        id=REC, interaction_id="int-inj", agent_id="a1", queue="email", caller_id=caller,
        pbx="pbx1", channel="PJSIP/x-1", started_at=now, ended_at=now, file="inj.wav",
        status="complete", duration_s=60.0))
    said = [w for p in payloads for w in words_of(p.upto(200))]
    words = tuple(Word(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(said))
    await qa.transcripts.enqueue(REC, "email", now)
    await qa.transcripts.claim_next(now)
    await qa.transcripts.finish(REC, SpeechResult(words, len(said) * 0.5 + 1), now)


async def _quality(floor: TicketsFloor, admin: Any, sup: Any, agent: AgentClient,
                   payloads: list[Payload], cid: str, tickets: list[str]) -> dict[str, int]:
    """Scorecards, a keyword list, sampling rules and the evaluations, through the API."""
    url = floor.url
    main = await api_json(admin, url, "POST", "/api/qa/scorecards",
                       {"name": CARD, "form": _form(payloads)}, 201)
    named = [await api_json(admin, url, "POST", "/api/qa/scorecards",
                         {"name": p.upto(100), "form": _form([p])}, 201) for p in payloads]
    await api_json(admin, url, "PUT", "/api/qa/keywords/inj",
                {"phrases": [p.upto(200) for p in payloads]})
    for channel in ("voice", "chat", "ticket"):
        await api_json(admin, url, "POST", "/api/qa/sampling/rules", {
            "name": f"inj {channel}", "channel": channel, "percent": 100, "minimum": 1,
            "scorecard_id": named[0]["id"], "active": True}, 201)
    await api_json(admin, url, "POST", "/api/qa/sampling/run")
    evaluations = {}
    for channel, item in (("voice", REC), ("chat", cid), ("ticket", tickets[0])):
        ev = await api_json(sup, url, "POST", "/api/qa/evaluations",
                         {"channel": channel, "item_id": item, "scorecard_id": main["id"]}, 201)
        await api_json(sup, url, "PUT", f"/api/qa/evaluations/{ev['id']}", {
            "answers": {f"q{i}": {"value": "yes", "note": p.upto(1000)}
                        for i, p in enumerate(payloads)},
            "comment": "\n".join(p.upto(80) for p in payloads), "submit": True})
        evaluations[channel] = ev["id"]
    for channel in ("voice", "chat"):  # the ticket's is disputed on the page
        await agent.post(f"/api/qa/evaluations/{evaluations[channel]}/response",
                         {"response": "acknowledge", "comment": payloads[-1].upto(5000)})
    return evaluations


async def _admin_page(browser: Any, url: str, payloads: list[Payload],
                      evaluations: dict[str, int]) -> tuple[Any, list[str]]:
    page, dialogs = await open_page(browser, url, "inj-admin", PASSWORD, "/qa", MS)
    markers = [p.marker for p in payloads]
    written = {"chat": [p.marker for p in payloads if _chat_says(p)],
               "ticket": markers}
    scorecards = page.locator("#s-list tbody")
    for m in markers:
        await expect(scorecards).to_contain_text(m, timeout=MS)
    await scorecards.locator("tr", has_text=payloads[0].marker).first.click()
    await expect(page.locator("#s-title")).to_contain_text(payloads[0].marker, timeout=MS)
    for select in ("#e-scorecard", "#w-scorecard", "#r-scorecard"):
        for m in markers:  # each drop-down is filled by its own request: wait for it
            await expect(page.locator(select)).to_contain_text(m, timeout=MS)

    await page.locator('#k-lists tr[data-list="inj"]').click()
    await expect(page.locator("#k-phrases")).to_have_value(re.compile(payloads[-1].marker))
    await page.select_option("#k-list", "inj")
    await page.click("#k-search")
    hits = page.locator("#k-hits tbody")
    for m in markers:
        await expect(hits).to_contain_text(m, timeout=MS)

    await page.select_option("#w-filter", "")  # the items evaluated since are listed too
    items = page.locator("#w-items tbody")
    for m in written["ticket"]:  # the tickets' subjects
        await expect(items).to_contain_text(m, timeout=MS)
    await expect(page.locator("#w-rules tbody")).to_contain_text(payloads[0].marker)

    for channel, ev_id in evaluations.items():
        await page.locator(f'#evaluations tr[data-evaluation="{ev_id}"]').click()
        await expect(page.locator("#d-id")).to_have_text(f"#{ev_id}", timeout=MS)
        for m in markers:
            await expect(page.locator("#d-sections")).to_contain_text(m, timeout=MS)
            await expect(page.locator("#d-comment")).to_contain_text(m)
        for m in written.get(channel, []):
            await expect(page.locator("#d-thread")).to_contain_text(m, timeout=MS)
    for m in markers:  # the report's questions are the payloads
        await expect(page.locator("#r-questions tbody")).to_contain_text(m, timeout=MS)
    return page, dialogs


async def _evaluator_page(browser: Any, url: str, payloads: list[Payload],
                          ticket: str) -> tuple[Any, list[str]]:
    """A supervisor evaluates a ticket on the page: its thread, the questions, a comment."""
    page, dialogs = await open_page(browser, url, "inj-sup", PASSWORD, f"/qa?ticket={ticket}",
                                    MS)
    await expect(page.locator("#e-recording")).to_have_value(ticket, timeout=MS)
    await page.select_option("#e-scorecard", label=f"{CARD} (v1)")
    await page.click("#e-start")
    for p in payloads:
        await expect(page.locator("#e-sections")).to_contain_text(p.marker, timeout=MS)
        await expect(page.locator("#e-thread")).to_contain_text(p.marker, timeout=MS)
    await page.fill("#e-comment", payloads[0].upto(5000))
    await page.click("#e-save")
    await expect(page.locator('#evaluations tr[data-status="draft"]')).to_have_count(1,
                                                                                    timeout=MS)
    return page, dialogs


async def _agent_page(browser: Any, url: str, payloads: list[Payload],
                      evaluations: dict[str, int]) -> tuple[Any, list[str]]:
    """The agent's own evaluations: the answered ones show the comment; the ticket's is
    disputed with a payload."""
    page, dialogs = await open_page(browser, url, "inj-alice", CHAT_PASSWORD, "/qa", MS)
    await expect(page.locator("#list-title")).to_have_text("My evaluations", timeout=MS)
    await page.locator(f'#evaluations tr[data-evaluation="{evaluations["chat"]}"]').click()
    await expect(page.locator("#d-response")).to_contain_text(payloads[-1].marker, timeout=MS)
    for p in filter(_chat_says, payloads):
        await expect(page.locator("#d-thread")).to_contain_text(p.marker, timeout=MS)
    row = page.locator(f'#evaluations tr[data-evaluation="{evaluations["ticket"]}"]')
    await row.click()
    dispute = payloads[0].upto(5000)
    await page.fill("#d-agent-comment", dispute)
    await page.click("#d-dispute")
    await expect(row.locator(".e-status")).to_have_text("disputed", timeout=MS)
    await expect(page.locator("#d-response")).to_contain_text(payloads[0].marker)
    for p in payloads:
        await expect(page.locator("#d-sections")).to_contain_text(p.marker, timeout=MS)
    return page, dialogs


async def _run(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path) as floor:
        cid, agent = await _chat(floor, payloads)
        admin = await panel_user(floor, "inj-admin", "admin")
        sup = await panel_user(floor, "inj-sup", "supervisor")
        tickets = await _tickets(floor, admin, payloads)
        await _recorded_call(floor, payloads)
        evaluations = await _quality(floor, admin, sup, agent, payloads, cid, tickets)

        pages = [await _admin_page(browser, floor.url, payloads, evaluations),
                 await _evaluator_page(browser, floor.url, payloads, tickets[1]),
                 await _agent_page(browser, floor.url, payloads, evaluations)]
        for page, dialogs in pages:
            await assert_inert(page, dialogs)


async def test_no_payload_runs_in_the_quality_pages(browser, tmp_path):
    await _run(browser, tmp_path, [p for p in quick(1) if _fits(p)])


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_the_quality_pages(browser, tmp_path):
    await _run(browser, tmp_path, [p for p in PAYLOADS if _fits(p)])

"""No payload runs in the supervisors' live chats page, the customer page or the public help
center (Chromium).

One server with both text channels. A visitor named with a payload chats with the agent a1, both
sides saying every payload the chat takes; a supervisor watches it on ``/live-chats``, writes a
private note and, having joined, a message, each a payload typed on the page. A customer record
imported from CSV holds payloads in every field, and a ticket per payload (its subject) has the
customer's phone: the customer page shows them all. The knowledge base publishes an article per
payload (title and body, with markdown's own ways to a link or an image); the help center
lists them, shows each, and echoes a search for each. Every page shows the markers as text, and
nothing ran or became markup.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any
from urllib.parse import quote

import pytest
from chat_floor import PASSWORD as CHAT_PASSWORD
from chat_floor import ChatFloor
from corpus import PAYLOADS, PWN_JS, Payload, quick
from injection_checks import api_json
from page_checks import assert_inert, hooked_page, open_page
from playwright.async_api import expect
from text_floor import T, panel_user, text_floor
from tickets_floor import PASSWORD, TicketsFloor

from contactcenter.storage.customers import CustomerStore

MS = int(T * 1000)
PHONE = "5550001"


def _chat_says(p: Payload) -> bool:
    """A chat (and a customer record) refuses control characters but line feeds and tabs."""
    return p.utf8 and not any(unicodedata.category(c) == "Cc" and c not in "\n\t"
                              for c in p.text)


def _one_line(p: Payload) -> bool:
    """What a name or a title holds: no control character, no line or paragraph separator."""
    return p.utf8 and not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in p.text)


async def _live_chats(browser: Any, floor: TicketsFloor,
                      payloads: list[Payload]) -> tuple[Any, list[str]]:
    """a1's chat with every payload, watched, noted and joined by a supervisor on the page."""
    said = [p for p in payloads if _chat_says(p)]
    named = next(p for p in said if p.kind == "html")
    chat = ChatFloor(floor.settings, floor.clock, floor.server, floor.port, clients=floor.clients)
    alice = await chat.agent("inj-alice", "a1")
    await alice.listen()
    await chat.add_user("inj-watcher", None, role="supervisor")
    visitor = chat.visitor()
    status, body = await visitor.start({"name": named.upto(80), "email": "vera@example.com"})
    assert status == 201, body
    cid = visitor.conversation_id
    await visitor.connect()
    await alice.next_event(lambda e: e["type"] == "chat" and e["offer"])
    await alice.post(f"/api/chat/conversations/{cid}/accept", {})
    for p in said:
        await visitor.say(p.upto(1000))
        await alice.post(f"/api/chat/conversations/{cid}/messages", {"text": p.upto(1000)})
    await alice.close()

    page, dialogs = await open_page(browser, floor.url, "inj-watcher", CHAT_PASSWORD,
                                    "/live-chats", MS)
    row = page.locator(f'#live-chats tr[data-conversation="{cid}"]')
    await expect(row).to_contain_text(named.marker, timeout=MS)
    await row.locator(".watch").click()
    log = page.locator("#watch-log")
    await expect(page.locator("#watch-visitor")).to_contain_text(named.marker, timeout=MS)
    for p in said:
        await expect(log).to_contain_text(p.marker, timeout=MS)
    await page.fill("#note-text", said[0].upto(2000))
    await page.click("#note-send")
    await expect(log.locator(".chat-from-note")).to_contain_text(said[0].marker, timeout=MS)
    await page.click("#join")
    await page.fill("#say-text", named.upto(2000))
    await page.click("#say-send")
    await expect(log.locator(".chat-msg").last).to_contain_text(named.marker, timeout=MS)
    await visitor.say(said[-1].upto(1000))  # live, after the watch began
    await expect(log.locator(".chat-from-visitor").last).to_contain_text(said[-1].marker,
                                                                         timeout=MS)
    await visitor.ws.close()
    return page, dialogs


def _customers_csv(payloads: list[Payload]) -> str:
    """One customer, every field a payload (the CSV written as a spreadsheet would)."""
    fields = [p for p in payloads if _one_line(p)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["phone", "name", "account", "tier", "notes"])
    writer.writerow([PHONE, fields[0].upto(200), fields[-1].upto(64), fields[1].upto(32),
                     "\n".join(p.upto(2000 // len(payloads) - 1)
                               for p in payloads if _chat_says(p))])
    return out.getvalue()


async def _customer_page(browser: Any, floor: TicketsFloor,
                         payloads: list[Payload]) -> tuple[Any, list[str]]:
    """The customer page: the imported record and a ticket per payload; the tickets page's
    history of one whose subject was edited to each payload."""
    report = await CustomerStore(floor.server.db).import_csv(_customers_csv(payloads))
    assert report.errors == [], report.errors
    admin = await panel_user(floor, "inj-admin", "admin")
    filed = [p for p in payloads if "\x00" not in p.text and p.utf8]
    tickets = [await api_json(admin, floor.url, "POST", "/api/tickets", {
        "subject": p.upto(250), "text": p.text, "queue": "email",
        "requester": {"phone": PHONE}}, 201) for p in filed]
    renamed = []  # the first ticket's subject edited to each payload: its history shows them
    for p in filed:
        async with admin.patch(f"{floor.url}/api/tickets/{tickets[0]['id']}",
                               json={"subject": p.upto(250)}) as r:
            assert r.status in (200, 400, 422), (p.name, r.status, await r.text())
            if r.status == 200:
                renamed.append(p)
    assert renamed
    customer = await api_json(admin, floor.url, "GET", f"/api/customers/by-phone/{PHONE}")
    page, dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD, customer["url"],
                                    MS)
    lines = [p for p in payloads if _one_line(p)]
    await expect(page.locator("#c-name")).to_contain_text(lines[0].marker, timeout=MS)
    fields = page.locator("#c-fields")
    for p in [lines[-1], lines[1]] + [p for p in payloads if _chat_says(p)]:
        await expect(fields).to_contain_text(p.marker, timeout=MS)
    for p in filed[1:] + renamed[-1:]:
        await expect(page.locator("#c-tickets")).to_contain_text(p.marker, timeout=MS)

    desk, desk_dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD, "/tickets",
                                         MS)
    number = tickets[0]["id"]
    await desk.locator(f'#tickets tbody tr[data-id="{number}"]').click()
    await expect(desk.locator("#t-number")).to_have_text(f"#{number}", timeout=MS)
    await expect(desk.locator("#t-subject")).to_contain_text(renamed[-1].marker, timeout=MS)
    for p in renamed:
        await expect(desk.locator("#history")).to_contain_text(p.marker, timeout=MS)
    await assert_inert(desk, desk_dialogs)
    return page, dialogs


# Markdown's own ways to a script: links and images whose target is javascript:, raw HTML.
MARKDOWN = ("[click pwnmd1](javascript:" + PWN_JS + "('pwnmd1'))\n\n"
            "![pwnmd2](x\" onerror=\"" + PWN_JS + "('pwnmd2'))\n\n"
            "<img src=x onerror=" + PWN_JS + "('pwnmd3')> pwnmd3")


async def _help_center(browser: Any, floor: TicketsFloor,
                       payloads: list[Payload]) -> list[tuple[Any, list[str]]]:
    """The public help center: the list, each article, and a search echoing each payload."""
    sup = await panel_user(floor, "inj-kb", "supervisor")
    titled = [p for p in payloads if _one_line(p)]
    urls = []
    for p in titled:
        made = await api_json(sup, floor.url, "POST", "/api/kb/articles", {
            "locale": "en", "title": p.upto(200), "state": "published",
            "body": "\n\n".join([p.text.replace("\x00", ""), MARKDOWN])}, 201)
        urls.append(made["url"])
    page, dialogs = await hooked_page(browser)  # nobody logged in: the public's view
    await page.goto(f"{floor.url}/help/en")
    for p in titled[-5:]:  # the home page lists the newest articles only
        await expect(page.locator("main")).to_contain_text(p.marker, timeout=MS)
    await assert_inert(page, dialogs)
    for p, url in zip(titled, urls, strict=True):
        await page.goto(f"{floor.url}{url}")
        await expect(page.locator("article h1")).to_contain_text(p.marker, timeout=MS)
        await expect(page.locator("article .body")).to_contain_text("pwnmd3", timeout=MS)
        await assert_inert(page, dialogs)
    for p in filter(lambda p: p.utf8, payloads):
        await page.goto(f"{floor.url}/help/en/search?q={quote(p.upto(200))}")
        await expect(page.locator("main h1")).to_contain_text(p.marker, timeout=MS)
        await assert_inert(page, dialogs)
    return [(page, dialogs)]


async def _run(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path) as floor:
        pages = [await _live_chats(browser, floor, payloads),
                 await _customer_page(browser, floor, payloads),
                 *await _help_center(browser, floor, payloads)]
        for page, dialogs in pages:
            await assert_inert(page, dialogs)


async def test_no_payload_runs_in_live_chats_customer_and_help_pages(browser, tmp_path):
    await _run(browser, tmp_path, quick(1))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_those_pages(browser, tmp_path):
    await _run(browser, tmp_path, PAYLOADS)

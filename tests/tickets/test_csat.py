"""Satisfaction surveys (CSAT, 1-5): solving a ticket mails five signed links through the real
outbox to a real SMTP relay; opening a link (as a mail scanner does) records nothing; the
customer answers in Chromium without logging in, by keyboard, with a comment; the first answer
stands and a second send changes nothing; the agent's page shows it; altered, foreign and
expired links and foreign forms are refused."""

from __future__ import annotations

import re

import aiohttp
from playwright.async_api import expect
from tickets_floor import CSAT_SECRET, T, logged_in_page, mail, tickets_floor

from contactcenter.tickets import csat

MS = T * 1000
_LINK = re.compile(r"(http://\S+/rate/\S+)\?r=([1-5])")


async def _survey_links(floor) -> tuple[str, dict[int, str]]:
    """The next mail the relay gets must be a survey: its subject and its links by score."""
    while True:
        envelope, sent = await floor.relay.next()
        text = sent.get_content()
        if "How would you rate" in text:
            assert envelope.rcpt_tos == ["ann@customer.test"]
            assert sent["Auto-Submitted"] == "auto-replied"
            found = {int(score): f"{url}?r={score}" for url, score in _LINK.findall(text)}
            return str(sent["Subject"]), found


async def _status(session: aiohttp.ClientSession, method: str, url: str,
                  **kw: object) -> tuple[int, str]:
    async with session.request(method, url, allow_redirects=False, **kw) as r:
        return r.status, await r.text()


async def test_a_link_records_nothing_the_page_records_once(tmp_path, browser):
    async with tickets_floor(tmp_path, csat=True, acknowledge=False) as floor:
        alice = await floor.user("alice", "a1")
        boss = await floor.user("boss", None, "supervisor")
        await floor.send_mail(mail("Broken login", "I cannot log in since Monday."))
        await floor.settled()
        number = (await alice.call("GET", "/api/tickets?view=mine"))["tickets"][0]["id"]
        await alice.call("POST", f"/api/tickets/{number}/replies",
                         {"text": "Fixed: try again.", "status": "solved"}, expect=201)
        subject, links = await _survey_links(floor)
        assert subject == f"[Ticket#{number}] Re: Broken login"
        assert sorted(links) == [1, 2, 3, 4, 5]

        # A mail scanner follows every link: each answers the page, none records anything.
        async with aiohttp.ClientSession() as scanner:
            for url in links.values():
                status, html = await _status(scanner, "GET", url)
                assert status == 200 and 'type="radio"' in html
        shown = await boss.call("GET", f"/api/tickets/{number}")
        assert shown["rating"] is None
        assert [h for h in shown["history"] if h["field"] == "csat"] == []

        # The customer: link 4 preselects 4; they pick 5 by keyboard, comment and send.
        page = await (await browser.new_context()).new_page()
        await page.goto(links[4])
        group = page.get_by_role("group", name="How would you rate our support? (5 is best)")
        await expect(group.get_by_role("radio")).to_have_count(5, timeout=MS)
        four = group.get_by_role("radio", name="4 Satisfied")
        await expect(four).to_be_checked()
        await four.focus()
        await page.keyboard.press("ArrowUp")  # the list runs 5 (top) to 1: up is 5
        await expect(group.get_by_role("radio", name="5 Very satisfied")).to_be_checked()
        await page.get_by_label("Comment (optional)").fill("Quick and kind.")
        await page.get_by_role("button", name="Send my answer").click()
        await expect(page.locator(".saved")).to_have_text("Thank you: your answer is saved.",
                                                          timeout=MS)
        await expect(page.locator(".given .score")).to_have_text("5")
        await expect(page.locator(".comment")).to_have_text("Quick and kind.")
        rated = await boss.call("GET", f"/api/tickets/{number}")
        assert (rated["rating"]["rating"], rated["rating"]["comment"]) == (5, "Quick and kind.")
        assert [h["new"] for h in rated["history"] if h["field"] == "csat"] == [
            {"rating": 5, "comment": "Quick and kind."}]

        # Another link, then a second send (another tab's form): nothing changes.
        await page.goto(links[1])
        await expect(page.locator(".saved")).to_have_text(
            "You have already answered, thank you.", timeout=MS)
        await expect(page.locator(".given .score")).to_have_text("5")
        await expect(page.locator("input[type=radio]")).to_have_count(0)
        token = links[1].split("/rate/")[1].split("?")[0]
        async with aiohttp.ClientSession() as other_tab:
            status, _ = await _status(other_tab, "POST", f"{floor.url}/rate/{token}",
                                      data={"rating": "1", "comment": "changed my mind"},
                                      headers={"Origin": floor.url})
            assert status == 303
            status, html = await _status(other_tab, "GET", f"{floor.url}/rate/{token}")
            assert status == 200 and "already answered" in html and "changed my mind" not in html
        again = await boss.call("GET", f"/api/tickets/{number}")
        assert again["rating"] == rated["rating"]
        assert len(again["history"]) == len(rated["history"])

        # An altered link is nobody's.
        forged = await page.goto(links[4].replace(token, token[:-2] + "xx"))
        assert forged is not None and forged.status == 404

        # Reopened and solved again: already rated, so no second survey.
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "open"})
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "solved"})
        kinds = [m.kind for m in await floor.tickets.store.mails(ticket_id=number)]
        assert kinds.count("csat") == 1

        # The agent's page shows the answer and the comment.
        staff = await logged_in_page(browser, floor, "boss", f"/tickets?id={number}")
        await expect(staff.locator("#t-rating .rating-good")).to_have_text("5/5", timeout=MS)
        await expect(staff.locator("#t-rating")).to_contain_text("Quick and kind.")


async def test_the_rating_page_fits_a_phone(tmp_path, browser):
    async with tickets_floor(tmp_path, csat=True, acknowledge=False) as floor:
        boss = await floor.user("boss", None, "supervisor")
        number = (await boss.call("POST", "/api/tickets", {
            "subject": "Help", "text": "x", "requester": {"email": "ann@customer.test"}},
            expect=201))["id"]
        token = csat.sign(CSAT_SECRET, number, floor.clock.time())
        phone = await browser.new_context(viewport={"width": 360, "height": 640})
        page = await phone.new_page()
        await page.goto(f"{floor.url}/rate/{token}")
        await expect(page.get_by_role("radio")).to_have_count(5, timeout=MS)
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        # Nothing chosen: the browser's own check keeps the form from going.
        await page.get_by_role("button", name="Send my answer").click()
        assert (await boss.call("GET", f"/api/tickets/{number}"))["rating"] is None
        await page.get_by_text("2 Unsatisfied").click()  # the whole label is the target
        await page.get_by_role("button", name="Send my answer").click()
        await expect(page.locator(".given .score")).to_have_text("2", timeout=MS)
        assert (await boss.call("GET", f"/api/tickets/{number}"))["rating"]["rating"] == 2


async def test_links_expire_bad_tokens_and_foreign_forms_are_refused(tmp_path):
    async with tickets_floor(tmp_path, csat=True, acknowledge=False) as floor:
        boss = await floor.user("boss", None, "supervisor")
        by_phone = (await boss.call("POST", "/api/tickets", {
            "subject": "Call me", "text": "x", "requester": {"phone": "+3312345678"}},
            expect=201))["id"]
        await boss.call("PATCH", f"/api/tickets/{by_phone}", {"status": "solved"})
        assert await floor.tickets.store.mails(ticket_id=by_phone) == []  # no address
        number = (await boss.call("POST", "/api/tickets", {
            "subject": "Help", "text": "x", "requester": {"email": "ann@customer.test"}},
            expect=201))["id"]
        now = floor.clock.time()
        days = floor.settings.tickets.csat.answer_days
        origin = {"Origin": floor.url}
        async with aiohttp.ClientSession() as anon:
            base = f"{floor.url}/rate/"
            old = csat.sign(CSAT_SECRET, number, now - (days + 1) * 86400)
            assert (await _status(anon, "GET", f"{base}{old}?r=5"))[0] == 410  # too old
            assert (await _status(anon, "POST", f"{base}{old}", data={"rating": "5"},
                                  headers=origin))[0] == 410
            other = csat.sign("another server's secret", number, now)
            assert (await _status(anon, "GET", f"{base}{other}?r=5"))[0] == 404
            assert (await _status(anon, "POST", f"{base}{other}", data={"rating": "5"},
                                  headers=origin))[0] == 404
            fresh = csat.sign(CSAT_SECRET, number, now)
            status, html = await _status(anon, "GET", f"{base}{fresh}?r=meh")
            assert status == 200 and " checked" not in html  # nothing preselected
            for wrong in ("0", "6", "good", "4.5", ""):
                assert (await _status(anon, "POST", f"{base}{fresh}", data={"rating": wrong},
                                      headers=origin))[0] == 400, wrong
            # A form posted from another site is refused before it is read.
            assert (await _status(anon, "POST", f"{base}{fresh}", data={"rating": "5"},
                                  headers={"Origin": "https://evil.example"}))[0] == 403
            assert (await boss.call("GET", f"/api/tickets/{number}"))["rating"] is None
            status, _ = await _status(anon, "POST", f"{base}{fresh}",
                                      data={"rating": "3", "comment": " ok "}, headers=origin)
            assert status == 303
        rating = (await boss.call("GET", f"/api/tickets/{number}"))["rating"]
        assert (rating["rating"], rating["comment"]) == (3, "ok")

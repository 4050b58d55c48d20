"""Satisfaction surveys (CSAT): solving a ticket mails a signed one-click link through the real
outbox to a real SMTP relay; the customer answers in Chromium without logging in, adds a
comment and changes their mind (one answer per ticket); the agent's page shows it; altered,
foreign and expired links are refused."""

from __future__ import annotations

import re
import time

import aiohttp
from playwright.async_api import expect
from tickets_floor import CSAT_SECRET, PASSWORD, T, mail, tickets_floor

from contactcenter.tickets import csat
from contactcenter.tickets.tables import TicketRatingRow

MS = T * 1000
_LINK = re.compile(r"(http://\S+/rate/\S+)\?r=(good|bad)")


async def _survey_links(floor) -> tuple[str, dict[str, str]]:
    """The next mail the relay gets must be a survey: its subject and its links by answer."""
    while True:
        envelope, sent = await floor.relay.next()
        text = sent.get_content()
        if "How would you rate" in text:
            assert envelope.rcpt_tos == ["ann@customer.test"]
            assert sent["Auto-Submitted"] == "auto-replied"
            found = {answer: f"{url}?r={answer}" for url, answer in _LINK.findall(text)}
            return str(sent["Subject"]), found


async def test_a_solved_ticket_is_rated_in_one_click_then_changed(tmp_path, browser):
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
        assert set(links) == {"good", "bad"}

        # The customer's click: no login, the answer is recorded at once.
        page = await (await browser.new_context()).new_page()
        await page.goto(links["good"])
        await expect(page.locator(".saved")).to_contain_text("Thank you", timeout=MS)
        await expect(page.locator("input[value=good]")).to_be_checked()
        assert "?r=" not in page.url  # a reload does not answer again
        rated = await boss.call("GET", f"/api/tickets/{number}")
        assert (rated["rating"]["rating"], rated["rating"]["comment"]) == ("good", "")
        # They change their mind and explain; still one answer, changed in place.
        await page.check("input[value=bad]")
        await page.fill("#comment", "Took three days.")
        await page.click("button[type=submit]")
        await expect(page.locator("input[value=bad]")).to_be_checked(timeout=MS)
        await expect(page.locator("#comment")).to_have_value("Took three days.")
        shown = await boss.call("GET", f"/api/tickets/{number}")
        assert shown["rating"]["rating"] == "bad" and shown["rating"]["changes"] == 1
        assert [(h["old"], h["new"]) for h in shown["history"] if h["field"] == "csat"] == [
            (None, {"rating": "good", "comment": ""}),
            ({"rating": "good", "comment": ""}, {"rating": "bad",
                                                 "comment": "Took three days."})]
        # The same click again changes nothing.
        await page.goto(links["bad"])
        again = await boss.call("GET", f"/api/tickets/{number}")
        assert len(again["history"]) == len(shown["history"])
        # An altered link is nobody's.
        token = links["good"].split("/rate/")[1].split("?")[0]
        forged = await page.goto(links["good"].replace(token, token[:-2] + "xx"))
        assert forged is not None and forged.status == 404

        # Reopened and solved again: already rated, so no second survey.
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "open"})
        await boss.call("PATCH", f"/api/tickets/{number}", {"status": "solved"})
        kinds = [m.kind for m in await floor.tickets.store.mails(ticket_id=number)]
        assert kinds.count("csat") == 1

        # The agent's page shows the answer and the comment.
        staff = await (await browser.new_context()).new_page()
        await staff.goto(f"{floor.url}/login")
        await staff.fill("#username", "boss")
        await staff.fill("#password", PASSWORD)
        await staff.click("#login-submit")
        await staff.wait_for_url(lambda url: "/login" not in url)
        await staff.goto(f"{floor.url}/tickets?id={number}")
        await expect(staff.locator("#t-rating .rating-bad")).to_have_text("bad", timeout=MS)
        await expect(staff.locator("#t-rating")).to_contain_text("Took three days.")


async def test_links_expire_answers_close_and_foreign_forms_are_refused(tmp_path):
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
        days = floor.settings.tickets.csat.change_days
        async with aiohttp.ClientSession() as anon:
            async def status(url: str, **kw: object) -> int:
                async with anon.request(kw.pop("method", "GET"), url,
                                        allow_redirects=False, **kw) as r:
                    return r.status
            base = f"{floor.url}/rate/"
            old = csat.sign(CSAT_SECRET, number, now - (days + 1) * 86400)
            assert await status(f"{base}{old}?r=good") == 410  # the link is too old
            other = csat.sign("another server's secret", number, now)
            assert await status(f"{base}{other}?r=good") == 404
            fresh = csat.sign(CSAT_SECRET, number, now)
            assert await status(f"{base}{fresh}?r=meh") == 400
            # A form posted from another site is refused before it is read.
            assert await status(f"{base}{fresh}", method="POST",
                                data={"rating": "good"},
                                headers={"Origin": "https://evil.example"}) == 403
            assert await status(f"{base}{fresh}?r=good") == 303
            # An answer older than the window can no longer be changed.
            async with floor.tickets.store.session() as s, s.begin():
                row = await s.get(TicketRatingRow, number)
                assert row is not None
                row.created_at = time.time() - (days + 1) * 86400
            assert await status(f"{base}{fresh}?r=bad") == 410
        assert (await boss.call("GET", f"/api/tickets/{number}"))["rating"]["rating"] == "good"

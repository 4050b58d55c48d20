"""Two people on one ticket in real browsers: each sees the other viewing (and writing), a
reply sent on a stale view is refused and the page shows what changed, then goes through;
canned answers fill the reply box; an agent follows the ticket from the page."""

from __future__ import annotations

from playwright.async_api import expect
from test_ticket_fields_browser import MS, _login
from tickets_floor import tickets_floor

NEW = {"subject": "Invoice wrong", "text": "The total is off.",
       "requester": {"email": "zoe@customer.test", "name": "Zoe Brown"}}


async def test_colleagues_on_one_ticket_see_each_other_and_a_stale_reply(tmp_path, browser):
    async with tickets_floor(tmp_path) as floor:
        boss_api = await floor.user("boss", None, "supervisor")
        alice_api = await floor.user("alice", "a1")
        number = (await boss_api.call("POST", "/api/tickets", NEW, expect=201))["id"]
        await floor.settled()
        await alice_api.call("POST", "/api/tickets/canned",
                             {"shortcut": "hello", "text": "Hello {requester_name},"},
                             expect=201)

        alice = await _login(browser, floor, "alice")
        await alice.locator("#tickets tbody tr", has_text="Invoice wrong").click()
        await expect(alice.locator("#t-subject")).to_have_text("Invoice wrong", timeout=MS)
        await expect(alice.locator("body[data-live]")).to_have_count(1, timeout=MS)
        boss = await _login(browser, floor, "boss")
        await boss.goto(f"{floor.url}/tickets?id={number}")
        await expect(boss.locator("#t-subject")).to_have_text("Invoice wrong", timeout=MS)

        # Each sees the other; the supervisor starts writing and alice sees that too.
        await expect(boss.locator("#t-viewers")).to_contain_text("alice", timeout=MS)
        await expect(alice.locator("#t-viewers")).to_contain_text("boss", timeout=MS)
        await boss.fill("#text", "We are on it.")
        await boss.dispatch_event("#text", "input")
        await expect(alice.locator("#t-viewers")).to_contain_text("writing a reply",
                                                                  timeout=MS)

        # Alice writes from a canned answer, filled for this ticket.
        await expect(alice.locator("#canned option")).to_have_count(2, timeout=MS)
        await alice.select_option("#canned", label="/hello (mine)")
        await expect(alice.locator("#text")).to_have_value("Hello Zoe Brown,")
        await alice.type("#text", " we fixed it.")

        await boss.click("#send-reply")
        await expect(boss.locator("#thread li.agent pre.body")).to_have_text(
            "We are on it.", timeout=MS)
        # Alice's view is older than the ticket now: refused, and she sees what changed.
        await alice.click("#send-reply")
        await expect(alice.locator("#t-stale")).to_be_visible(timeout=MS)
        await expect(alice.locator("#t-stale-list")).to_contain_text("We are on it.")
        await expect(alice.locator("#text")).to_have_value("Hello Zoe Brown, we fixed it.")
        await alice.click("#send-reply")  # read it: sent again, it goes through
        await expect(alice.locator("#thread li.agent pre.body").last).to_have_text(
            "Hello Zoe Brown, we fixed it.", timeout=MS)

        # Follow from the page; the list of followers shows her.
        await alice.click("#t-follow")
        await expect(alice.locator("#t-followers li")).to_have_text(["a1"], timeout=MS)
        await expect(alice.locator("#t-follow")).to_have_text("Unfollow")

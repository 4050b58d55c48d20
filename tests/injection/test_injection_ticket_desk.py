"""No payload runs in the ticket page's custom fields, SLA timeline, merge and split, and each
value comes back as stored (Chromium, both text channels' floor).

* Custom fields: a text field labelled with each payload the label takes, a dropdown whose
  options are payloads, and a ticket per payload (its subject) whose text fields hold it. The
  admin section lists the definitions (one more typed into its form); the ticket shows each
  value in its input exactly as stored, and saving the fields unchanged from the page leaves
  every value as it was; the history names the change; the list filters by a payload value.
* SLA: every ticket runs under a policy; one whose ``code`` field equals a payload (compared as
  text) moves to another. The timeline names the policy and lists its facts.
* Merge and split: a ticket per payload (its subject) takes another merged into it with "tell
  the requester" (the notice quotes the subject and leaves as a mail with no header of its
  making); a message split off with the payload as the new subject; one merge from the page.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest
from corpus import PAYLOADS, Payload, quick
from injection_checks import api_call
from page_checks import assert_inert, open_page
from playwright.async_api import expect
from text_floor import T, panel_user, text_floor
from tickets_floor import PASSWORD

from contactcenter.tickets.merge import MERGE_NOTICE
from contactcenter.tickets.model import clean_subject
from contactcenter.tickets.settings import SlaPolicy, SlaSettings

MS = int(T * 1000)


def _one_line(p: Payload) -> bool:
    """What a label or an option holds: no control character (nor a lone surrogate)."""
    return p.utf8 and not any(ord(c) < 32 or ord(c) == 127 for c in p.text)


# What JavaScript's String.prototype.trim() takes off (the page trims each value it saves);
# Python's str.strip() (the server's) leaves U+FEFF.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _js_trim(text: str) -> str:
    return text.strip(_JS_SPACE)


def _field_text(p: Payload) -> str:
    return p.upto(1000).strip()


def _sla(trigger: str) -> SlaSettings:
    """Every ticket under ``inj-all``; one whose ``code`` is ``trigger`` under ``inj-code``."""
    return SlaSettings(policies=[
        SlaPolicy(name="inj-code", fields={"code": trigger}, first_response_s=600,
                  resolution_s=3600),
        SlaPolicy(name="inj-all", first_response_s=7200, next_response_s=3600,
                  resolution_s=86400)])


async def _define(admin: Any, url: str, payloads: list[Payload]) -> tuple[list[Payload],
                                                                           list[str]]:
    """The fields: ``code`` (text), one text field per payload a label takes, a dropdown of
    the payloads as options. Returns the labelled payloads and the options."""
    await api_call(admin, url, "POST", "/api/tickets/fields",
                {"key": "code", "label": "Code", "kind": "text"}, 201)
    labelled = []
    for i, p in enumerate(payloads):
        status, body = await api_call(admin, url, "POST", "/api/tickets/fields", {
            "key": f"f{i:02d}", "label": p.upto(100), "kind": "text"}, (201, 400, 422))
        if status == 201:
            assert body["label"] == p.upto(100).strip(), (p.name, body)
            labelled.append(p)
        else:
            assert not _one_line(p), (p.name, body)
    options = list(dict.fromkeys(p.upto(100).strip() for p in payloads if _one_line(p)))
    await api_call(admin, url, "POST", "/api/tickets/fields",
                {"key": "pick", "label": "Pick", "kind": "dropdown", "options": options}, 201)
    return labelled, options


async def _fields_and_sla(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    trigger_p = next(p for p in payloads if p.kind == "html")
    trigger = _field_text(trigger_p)
    async with text_floor(tmp_path, acknowledge=False, sla=_sla(trigger)) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        labelled, options = await _define(admin, floor.url, payloads)
        tickets: dict[int, Payload] = {}
        for i, p in enumerate(payloads):
            if not p.utf8:
                continue
            _, made = await api_call(admin, floor.url, "POST", "/api/tickets", {
                "subject": p.upto(250), "text": "Fields", "queue": "email",
                "requester": {"email": "ann@customer.test", "name": "Ann"}}, 201)
            values: dict[str, Any] = {"code": p.upto(1000)}
            if p in labelled:
                values[f"f{i:02d}"] = p.upto(1000)
            if _one_line(p):
                values["pick"] = p.upto(100).strip()
            status, body = await api_call(admin, floor.url, "PATCH",
                                       f"/api/tickets/{made['id']}/fields",
                                       {"values": values}, (200, 422))
            if status == 422:  # a text value refuses NUL only
                assert "\x00" in p.text and "no NUL" in body["error"], (p.name, body)
                continue
            tickets[made["id"]] = p

        page, dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD, "/tickets",
                                        MS)
        defs = page.locator("#fd-fields tbody")
        await expect(page.locator("#fields-panel")).to_be_visible(timeout=MS)
        for p in labelled:
            await expect(defs).to_contain_text(p.marker, timeout=MS)
        typed = next(p for p in payloads if p.kind == "html")
        await page.fill("#fd-key", "typed")
        await page.fill("#fd-label", typed.upto(100))
        await page.select_option("#fd-kind", "dropdown")
        await page.fill("#fd-options", "first, " + typed.upto(100).replace(",", ";"))
        await page.click("#fd-add")
        await expect(page.locator("#fd-status")).to_have_text("Added typed", timeout=MS)
        row = page.locator("#fd-fields tr[data-key='typed'] td")
        assert await row.nth(1).text_content() == typed.upto(100).strip()
        assert await row.nth(3).text_content() == "first, " + typed.upto(100).replace(",", ";")

        for number, p in tickets.items():
            await page.goto(f"{floor.url}/tickets?id={number}")
            await expect(page.locator("#t-number")).to_have_text(f"#{number}", timeout=MS)
            await expect(page.locator("#t-subject")).to_contain_text(p.marker, timeout=MS)
            code = page.locator("#tf-code")
            await expect(code).to_be_visible(timeout=MS)
            _, before = await api_call(admin, floor.url, "GET", f"/api/tickets/{number}/fields")
            assert before["values"]["code"] == _field_text(p), p.name
            listed = page.locator("#t-field-list")
            for q in labelled[:3] + ([p] if p in labelled else []):
                await expect(listed).to_contain_text(q.marker, timeout=MS)
            offered = await page.locator("#tf-pick option").evaluate_all(
                "els => els.map(e => [e.textContent, e.value])")
            assert offered == [["—", ""]] + [[o, o] for o in options], offered
            if _one_line(p):
                assert await page.locator("#tf-pick").input_value() == p.upto(100).strip()
            await expect(page.locator("#history")).to_contain_text(p.marker, timeout=MS)
            policy = "inj-code" if _field_text(p) == trigger else "inj-all"
            await expect(page.locator("#t-sla-timeline h3")).to_have_text(
                f"SLA timeline ({policy})", timeout=MS)
            await expect(page.locator("#t-sla-timeline .tl-facts li").nth(2)).to_be_attached(
                timeout=MS)  # created, a target's moments, now
            # The stored value, in its textarea, as stored; saved unchanged, it stays so. A
            # textarea reads a CR or CRLF as LF (HTML): such a value is shown so, not re-saved.
            stored = before["values"]["code"]
            if "\r" in stored:
                assert await code.input_value() == re.sub("\r\n?", "\n", stored), p.name
                continue
            assert await code.input_value() == stored, p.name
            if any(_js_trim(v) != v for v in before["values"].values() if isinstance(v, str)):
                continue  # the page trims as JavaScript does: test_a_bom_option_can_be_chosen
            await page.click("#t-fields-save")
            await expect(page.locator("#t-fields-status")).to_have_text("Saved.", timeout=MS)
            _, after = await api_call(admin, floor.url, "GET", f"/api/tickets/{number}/fields")
            assert after["values"] == before["values"], p.name
        await assert_inert(page, dialogs)

        # The list filtered by a payload value of ``code``: that ticket only.
        sql = next((n, p) for n, p in tickets.items() if p.kind == "sql")
        await page.goto(f"{floor.url}/tickets")
        await expect(page.locator("#f-field option[value='code']")).to_have_count(1, timeout=MS)
        await page.select_option("#f-field", "code")
        await page.fill("#f-value", sql[1].upto(1000))
        await page.press("#f-value", "Enter")
        await expect(page.locator("#tickets tbody tr")).to_have_count(1, timeout=MS)
        await expect(page.locator("#tickets tbody tr")).to_contain_text(f"#{sql[0]}")
        await assert_inert(page, dialogs)


async def _merge_split(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path, acknowledge=False) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")

        async def ticket(subject: str, email: str, text: str) -> dict[str, Any]:
            return (await api_call(admin, floor.url, "POST", "/api/tickets", {
                "subject": subject, "text": text, "queue": "email",
                "requester": {"email": email, "name": "Ann"}}, 201))[1]

        merged: list[tuple[int, int, Payload]] = []
        split: list[tuple[int, Payload]] = []
        for i, p in enumerate(payloads):
            if not p.utf8:
                continue
            target = await ticket(p.upto(250), "ann@customer.test", f"Target {i}")
            source = await ticket(f"Source {i}", f"bob{i}@customer.test", f"About Source {i}")
            _, done = await api_call(admin, floor.url, "POST", f"/api/tickets/{source['id']}/merge",
                                  {"into": target["id"], "notify": True})
            assert done["id"] == target["id"]
            _, shown = await api_call(admin, floor.url, "GET", f"/api/tickets/{target['id']}")
            subject = shown["ticket"]["subject"]
            assert subject == clean_subject(p.upto(250)), p.name
            notice = MERGE_NOTICE.format(source=source["id"], target=target["id"],
                                         subject=subject)
            assert notice in [a["body_text"] for a in shown["articles"]], p.name
            merged.append((target["id"], source["id"], p))
            # Split the merged message off again, the payload as the new subject.
            moved = [a["id"] for a in shown["articles"] if a["body_text"].startswith("About S")]
            status, new = await api_call(admin, floor.url, "POST",
                                      f"/api/tickets/{target['id']}/split",
                                      {"articles": moved, "subject": p.upto(250)}, (201, 400))
            if status == 400:  # the subject's own rules (control characters)
                continue
            assert new["subject"] == clean_subject(p.upto(250)), p.name
            split.append((new["id"], p))
        assert split

        page, dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD, "/tickets",
                                        MS)
        for into, merged_from, p in merged:
            await page.goto(f"{floor.url}/tickets?id={into}")
            await expect(page.locator("#t-number")).to_have_text(f"#{into}", timeout=MS)
            await expect(page.locator("#t-links")).to_contain_text(
                f"Merged from #{merged_from}", timeout=MS)
            assert await page.locator("#t-subject").text_content() == clean_subject(
                p.upto(250))
            await expect(page.locator("#thread")).to_contain_text(p.marker, timeout=MS)
        for number, p in split:
            await page.goto(f"{floor.url}/tickets?id={number}")
            await expect(page.locator("#t-links")).to_contain_text("Split from #", timeout=MS)
            assert await page.locator("#t-subject").text_content() == clean_subject(
                p.upto(250))

        # One merge from the page, telling the requester.
        named = next(p for p in payloads if p.kind == "html")
        target = await ticket(named.upto(250), "ann@customer.test", "Target")
        source = await ticket("From the page", "carl@customer.test", "About the page")
        await page.goto(f"{floor.url}/tickets?id={source['id']}")
        await expect(page.locator("#t-subject")).to_have_text("From the page", timeout=MS)
        await page.fill("#t-merge-into", str(target["id"]))
        await page.check("#t-merge-notify")
        await page.click("#t-merge")
        await expect(page.locator("#t-number")).to_have_text(f"#{target['id']}", timeout=MS)
        await expect(page.locator("#t-links")).to_contain_text(f"Merged from #{source['id']}")
        notice = page.locator("#thread li.agent pre.body", has_text="is now handled together")
        await expect(notice).to_contain_text(named.marker, timeout=MS)
        await assert_inert(page, dialogs)

        # The notices left as mails, each to its one requester, no header of a payload's.
        sent = []
        while not floor.relay.mails.empty():
            sent.append(floor.relay.mails.get_nowait())
        assert len(sent) >= len(merged)
        for envelope, msg in sent:
            assert len(envelope.rcpt_tos) == 1 and re.fullmatch(
                r"(bob\d+|carl)@customer\.test", envelope.rcpt_tos[0]), envelope.rcpt_tos
            for key in msg:
                assert not any(p.marker in key for p in payloads), (key, msg.items())
            assert len(msg.get_all("Subject") or []) == 1 and not msg.get_all("Bcc")
            assert not any(unicodedata.category(c) == "Cc" for c in str(msg["Subject"]))


async def test_saving_fields_on_the_page_keeps_a_multi_line_value(browser, tmp_path):
    async with text_floor(tmp_path, acknowledge=False) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        await api_call(admin, floor.url, "POST", "/api/tickets/fields",
                    {"key": "address", "label": "Address", "kind": "text"}, 201)
        await api_call(admin, floor.url, "PUT", "/api/tickets/fields/types",
                    {"types": ["question", "incident"]})
        _, made = await api_call(admin, floor.url, "POST", "/api/tickets", {
            "subject": "Delivery", "text": "Where is it?", "queue": "email",
            "requester": {"email": "ann@customer.test", "name": "Ann"}}, 201)
        value = "1 Main Street\nSpringfield"
        await api_call(admin, floor.url, "PATCH", f"/api/tickets/{made['id']}/fields",
                    {"values": {"address": value}})
        page, _dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD,
                                         f"/tickets?id={made['id']}", MS)
        await expect(page.locator("#tf-address")).to_be_visible(timeout=MS)
        await page.select_option("#t-type", "incident")  # the agent changes the type only
        await page.click("#t-fields-save")
        await expect(page.locator("#t-fields-status")).to_have_text("Saved.", timeout=MS)
        _, after = await api_call(admin, floor.url, "GET", f"/api/tickets/{made['id']}/fields")
        assert after["type"] == "incident"
        assert after["values"]["address"] == value, after


async def test_a_bom_option_can_be_chosen_on_the_page(browser, tmp_path):
    async with text_floor(tmp_path, acknowledge=False) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        await api_call(admin, floor.url, "POST", "/api/tickets/fields", {
            "key": "colour", "label": "Colour", "kind": "dropdown",
            "options": ["\ufeffBlue", "Red"]}, 201)
        _, made = await api_call(admin, floor.url, "POST", "/api/tickets", {
            "subject": "Paint", "text": "Which colour?", "queue": "email",
            "requester": {"email": "ann@customer.test", "name": "Ann"}}, 201)
        page, _dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD,
                                         f"/tickets?id={made['id']}", MS)
        await expect(page.locator("#tf-colour")).to_be_visible(timeout=MS)
        await page.select_option("#tf-colour", "\ufeffBlue")
        await page.click("#t-fields-save")
        told = page.locator("#t-fields-status:not(:empty), #t-error:not(:empty)")
        await expect(told.first).to_be_visible(timeout=MS)
        assert await page.locator("#t-error").text_content() == "", "refused on the page"
        await expect(page.locator("#t-fields-status")).to_have_text("Saved.", timeout=MS)
        _, after = await api_call(admin, floor.url, "GET", f"/api/tickets/{made['id']}/fields")
        assert after["values"]["colour"] == "\ufeffBlue", after


async def test_no_payload_runs_in_ticket_fields_and_sla_timeline(browser, tmp_path):
    await _fields_and_sla(browser, tmp_path, quick(1))


async def test_no_payload_runs_in_ticket_merge_and_split(browser, tmp_path):
    await _merge_split(browser, tmp_path, quick(1))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_ticket_fields_and_sla(browser,
                                                                            tmp_path):
    await _fields_and_sla(browser, tmp_path, PAYLOADS)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_ticket_merge_and_split(browser,
                                                                            tmp_path):
    await _merge_split(browser, tmp_path, PAYLOADS)

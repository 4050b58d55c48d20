"""No payload runs in the ticket page's files, canned answers and ratings, and each comes back
as stored (Chromium, both text channels' floor).

* Files: a mail per payload carries a PDF named with the payload (RFC 2231, so CR, LF and NUL
  get through the mail client), and an agent replies with a file named with each payload the
  form takes (one through the page's picker). The ticket page lists every file under its
  message by exactly its stored name, and each download names it in one header, unchanged.
* Canned answers: a shared answer per payload, ``{subject}`` and ``{requester_name}`` after it,
  filled for a ticket whose subject and requester are payloads: the page's menu offers each,
  inserts it filled in, and the reply sent with it shows on the thread and leaves as a mail
  with no header of its making.
* Ratings: a solved ticket per payload (its subject); the customer's rating page names the
  subject, takes the payload as comment and shows it back; the ticket page shows the comment.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from email import policy
from email.parser import BytesParser
from typing import Any

import aiohttp
import pytest
from corpus import PAYLOADS, Payload, quick
from injection_checks import api_call
from page_checks import assert_inert, hooked_page, open_page
from playwright.async_api import expect
from text_floor import T, panel_user, send_mail, text_floor
from tickets_floor import PASSWORD, SUPPORT, TicketsFloor

from contactcenter.tickets.mail.attached import safe_filename
from contactcenter.tickets.model import clean_subject

MS = int(T * 1000)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
UPLOAD_NAME = 150  # past the 100 characters a stored name keeps (its stem is cut)
_LINK = re.compile(r"(http://\S+/rate/[0-9A-Za-z_-]+)\?r=([1-5])")


def _filename_param(name: str) -> str:
    """``filename*`` as RFC 2231 continuations, each a line of at most ~70 characters (a %XX
    triple never cut), so any UTF-8 text survives the wire."""
    chunks, cur = [], ""
    for ch in name:
        enc = urllib.parse.quote(ch, safe="")
        if len(cur) + len(enc) > 60:
            chunks.append(cur)
            cur = ""
        cur += enc
    chunks.append(cur)
    return ";\r\n ".join(f"filename*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{c}"
                         for i, c in enumerate(chunks))


def _mail_with_file(p: Payload, n: int) -> bytes:
    lines = [
        "From: Ann Customer <ann@customer.test>", f"To: {SUPPORT}",
        f"Subject: Files {p.marker}",
        f"Message-ID: <inj-file-{n}-{time.monotonic_ns()}@customer.test>",
        "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="inj-b"', "",
        "--inj-b", "Content-Type: text/plain; charset=utf-8", "", "The file, attached.",
        "--inj-b", "Content-Type: application/pdf",
        "Content-Disposition: attachment;\r\n " + _filename_param(p.text),
        "Content-Transfer-Encoding: base64", "", base64.encodebytes(PDF).decode(),
        "--inj-b--", ""]
    return "\r\n".join(lines).encode()


def _as_read(p: Payload, n: int) -> str:
    """The file's name as a mail reader reads it (the standard library's parser, which drops
    angle brackets around a parameter's value)."""
    msg = BytesParser(policy=policy.default).parsebytes(_mail_with_file(p, n))
    (part,) = list(msg.iter_attachments())
    return str(part.get_filename())


async def _tickets_by_subject(http: Any, url: str) -> dict[str, dict[str, Any]]:
    _, listing = await api_call(http, url, "GET", "/api/tickets?view=all&limit=500")
    return {t["subject"]: t for t in listing["tickets"]}


async def _download_ok(http: Any, url: str, f: dict[str, Any]) -> None:
    """The file comes as a download naming it once, in one header line, unchanged."""
    async with http.get(f"{url}{f['url']}") as r:
        assert r.status == 200, f
        assert await r.read() == PDF
        values = r.headers.getall("Content-Disposition")
        assert len(values) == 1 and not any(c in values[0] for c in "\r\n\x00"), values
        star = values[0].split("filename*=UTF-8''", 1)[1].split(";")[0]
        assert urllib.parse.unquote(star) == f["filename"], (values, f)
        assert r.headers["Content-Type"] == "application/pdf"


def _form_name(name: str) -> str:
    """A file name in a form's Content-Disposition as Chromium writes it (HTML's rule)."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


async def _upload(http: Any, url: str, ticket: int, text: str, filename: str) -> tuple[int, str]:
    """A reply with one PDF named ``filename``, sent as a browser's form sends it (aiohttp's
    own form percent-encodes the name, which no browser does)."""
    boundary = "inj-form-boundary"
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n".encode(),
        text.encode(), b"\r\n",
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
        f"filename=\"{_form_name(filename)}\"\r\nContent-Type: application/pdf\r\n\r\n".encode(),
        PDF, f"\r\n--{boundary}--\r\n".encode()])
    async with http.post(f"{url}/api/tickets/{ticket}/replies/files", data=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"}) as r:
        return r.status, await r.text()


async def _shown_files(page: Any, url: str, ticket: int,
                       files: list[dict[str, Any]]) -> None:
    await page.goto(f"{url}/tickets?id={ticket}")
    await expect(page.locator("#t-number")).to_have_text(f"#{ticket}", timeout=MS)
    links = page.locator("#thread ul.attachments a")
    await expect(links).to_have_count(len(files), timeout=MS)
    shown = await links.evaluate_all("els => els.map(e => [e.textContent, e.download])")
    assert sorted(shown) == sorted([f["filename"], f["filename"]] for f in files), shown


async def _files(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path, acknowledge=False) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        mailed = [p for p in payloads if p.utf8]
        for n, p in enumerate(mailed):
            await send_mail(floor, _mail_with_file(p, n))
        tickets = await _tickets_by_subject(admin, floor.url)
        page, dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD, "/tickets",
                                        MS)
        for n, p in enumerate(mailed):
            ticket = tickets[f"Files {p.marker}"]["id"]
            _, body = await api_call(admin, floor.url, "GET", f"/api/tickets/{ticket}/attachments")
            (f,) = body["attachments"]
            wanted = safe_filename(_as_read(p, n), 0)
            if wanted != "part-0":  # something of the name is left: that, exactly
                assert f["filename"] == wanted, (p.name, f["filename"], wanted)
            await _download_ok(admin, floor.url, f)
            await _shown_files(page, floor.url, ticket, [f])

        # An agent's files, each named with a payload a form's file name can carry.
        first = tickets[f"Files {mailed[0].marker}"]["id"]
        uploaded = []
        for p in payloads:
            if not p.utf8 or "\x00" in p.text or p.upto(UPLOAD_NAME).count(";") > 1:
                continue  # two ';' in a name: test_a_file_name_with_semicolons_is_taken
            status, answer = await _upload(admin, floor.url, first, f"Your file {p.marker}",
                                           p.upto(UPLOAD_NAME) + ".pdf")
            assert status == 201, (p.name, status, answer)
            uploaded.append(p)
        assert uploaded
        # One through the page's picker.
        picked = next(p for p in payloads if p.kind == "html")  # a path has no "/" in a name
        await page.goto(f"{floor.url}/tickets?id={first}")
        await expect(page.locator("#t-number")).to_have_text(f"#{first}", timeout=MS)
        await page.fill("#text", f"Picked {picked.marker}")
        await page.set_input_files("#reply-files", files=[{
            "name": picked.text.replace("/", "") + ".pdf", "mimeType": "application/pdf", "buffer": PDF}])
        await page.click("#send-reply")
        await expect(page.locator("#thread li.agent").last).to_contain_text(picked.marker,
                                                                            timeout=MS)
        _, body = await api_call(admin, floor.url, "GET", f"/api/tickets/{first}/attachments")
        files = body["attachments"]
        assert len(files) == 1 + len(uploaded) + 1, files
        for f in files:
            await _download_ok(admin, floor.url, f)
        await _shown_files(page, floor.url, first, files)
        await assert_inert(page, dialogs)


def _as_textarea(text: str) -> str:
    """What a textarea's value holds of ``text``: HTML makes CR LF and a lone CR an LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


async def _canned(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path, acknowledge=False) as floor:
        sup = await panel_user(floor, "inj-sup", "supervisor")
        alice = await panel_user(floor, "inj-alice", "agent", "a1")
        await api_call(alice, floor.url, "POST", "/api/agents/a1/login", {})
        saved: dict[str, Payload] = {}
        for i, p in enumerate(payloads):
            text = p.upto(1800) + "\n{subject} / {requester_name}"
            status, body = await api_call(sup, floor.url, "POST", "/api/tickets/canned", {
                "shortcut": f"p{i:02d}", "shared": True, "text": text}, (201, 400, 422))
            if status == 400:  # a lone surrogate: JSON's escape of no text, refused whole
                assert not p.utf8 and body == {"error": "body is not valid JSON"}, p.name
                continue
            if status == 422:  # only a brace pair the text names as a placeholder of its own
                assert "unknown placeholder" in body["error"], (p.name, body)
                assert "{" in p.text and "}" in p.text, (p.name, body)
                continue
            saved[f"p{i:02d}"] = p
        assert saved
        named = next(p for p in payloads if p.kind == "html")
        _, made = await api_call(sup, floor.url, "POST", "/api/tickets", {
            "subject": named.upto(250), "text": "Hello", "queue": "email", "assignee": "a1",
            "requester": {"email": "ann@customer.test", "name": named.upto(200)}}, 201)
        number = made["id"]
        _, shown = await api_call(alice, floor.url, "GET", f"/api/tickets/{number}")
        subject, name = shown["ticket"]["subject"], shown["ticket"]["requester"]["name"]
        assert (subject, name) == (named.upto(250), named.upto(200))
        _, body = await api_call(alice, floor.url, "GET", f"/api/tickets/{number}/canned")
        answers = {a["shortcut"]: a for a in body["answers"]}
        assert sorted(answers) == sorted(saved)
        for shortcut, p in saved.items():
            text = (p.upto(1800) + "\n{subject} / {requester_name}").strip()
            filled = text.replace("{subject} / {requester_name}", f"{subject} / {name}")
            assert answers[shortcut]["filled"] == filled, p.name

        page, dialogs = await open_page(browser, floor.url, "inj-alice", PASSWORD,
                                        f"/tickets?id={number}", MS)
        menu = page.locator("#canned")
        for shortcut, p in saved.items():
            filled = answers[shortcut]["filled"]
            await page.goto(f"{floor.url}/tickets?id={number}")  # a menu of this view's
            await expect(page.locator("#t-subject")).to_have_text(subject, timeout=MS)
            option = menu.locator("option", has_text=f"/{shortcut}")
            await expect(option).to_have_attribute("title", filled, timeout=MS)
            await menu.select_option(label=f"/{shortcut}")
            want = _as_textarea(filled)
            await expect(page.locator("#text")).to_have_value(
                re.compile("^" + re.escape(want[:40])), timeout=MS)
            assert await page.locator("#text").input_value() == want, p.name
            if "\x00" in filled:  # a reply refuses NUL: nothing to send
                continue
            replies = page.locator("#thread li.agent pre.body")
            before = await replies.count()
            await page.click("#send-reply")
            await expect(replies).to_have_count(before + 1, timeout=MS)
            assert await replies.last.text_content() == want.strip(), p.name
        await assert_inert(page, dialogs)

        while not floor.relay.mails.empty():  # the replies left as mails of one recipient
            envelope, msg = floor.relay.mails.get_nowait()
            assert envelope.rcpt_tos == ["ann@customer.test"], envelope.rcpt_tos
            for key in msg:
                assert not any(p.marker in key for p in payloads), (key, msg.items())
            assert len(msg.get_all("Subject") or []) == 1 and not msg.get_all("Bcc")


def _comment(text: str) -> str:
    """A rating comment as stored (tickets/csat.py's rule)."""
    return text.replace("\r\n", "\n").replace("\x00", "").strip()


async def _survey_links(floor: TicketsFloor, numbers: set[int]) -> dict[int, str]:
    """The survey link (score 3) mailed for each ticket in ``numbers``."""
    links: dict[int, str] = {}
    while set(links) != numbers:
        _envelope, sent = await floor.relay.next()
        found = _LINK.findall(sent.get_content())
        if found:
            tagged = re.search(r"\[Ticket#(\d+)\]", str(sent["Subject"]))
            assert tagged is not None, sent["Subject"]
            number = int(tagged.group(1))
            links[number] = {score: url for url, score in found}["3"] + "?r=3"
    return links


async def _ratings(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path, acknowledge=False, csat=True) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        rated = [p for p in payloads if p.utf8]
        numbers: dict[int, Payload] = {}
        for p in rated:
            _, made = await api_call(admin, floor.url, "POST", "/api/tickets", {
                "subject": p.upto(250), "text": "Help", "queue": "email",
                "requester": {"email": "ann@customer.test", "name": "Ann"}}, 201)
            numbers[made["id"]] = p
            await api_call(admin, floor.url, "POST", f"/api/tickets/{made['id']}/replies",
                        {"text": "Done.", "status": "solved"}, 201)
        links = await _survey_links(floor, set(numbers))
        typed = next(p for p in rated if p.kind == "html")
        customer, dialogs = await hooked_page(browser)
        async with aiohttp.ClientSession() as other:
            for number, p in numbers.items():
                await customer.goto(links[number])
                strong = customer.locator("main p strong").first
                await expect(strong).to_contain_text(p.marker, timeout=MS)
                assert await strong.text_content() == clean_subject(p.upto(250)), p.name
                if p is typed:  # the customer's own way: the page's form
                    await customer.fill("#comment", p.upto(2000))
                    await customer.click("button[type=submit]")
                else:
                    token = links[number].split("/rate/")[1].split("?")[0]
                    async with other.post(f"{floor.url}/rate/{token}", allow_redirects=False,
                                          data={"rating": "3", "comment": p.upto(2000)},
                                          headers={"Origin": floor.url}) as r:
                        assert r.status == 303, (p.name, r.status, await r.text())
                    await customer.goto(links[number])
                comment = customer.locator(".comment")
                await expect(comment).to_contain_text(p.marker, timeout=MS)
                # The page is HTML: its parser makes a CR an LF, as in any text it reads.
                assert await comment.text_content() == _as_textarea(_comment(p.upto(2000)))
                await assert_inert(customer, dialogs)
        page, page_dialogs = await open_page(browser, floor.url, "inj-admin", PASSWORD,
                                             "/tickets", MS)
        for number, p in numbers.items():
            _, shown = await api_call(admin, floor.url, "GET", f"/api/tickets/{number}")
            want = _comment(p.upto(2000))
            if p is typed:
                want = _as_textarea(want)
            assert shown["rating"]["comment"] == want, p.name
            await page.goto(f"{floor.url}/tickets?id={number}")
            box = page.locator("#t-rating .rating-comment")
            await expect(box).to_contain_text(p.marker, timeout=MS)
            assert await box.text_content() == want, p.name
        await assert_inert(page, page_dialogs)


async def test_no_payload_runs_in_ticket_files(browser, tmp_path):
    await _files(browser, tmp_path, quick(1))


async def test_a_long_file_name_keeps_its_extension(tmp_path):
    async with text_floor(tmp_path, acknowledge=False) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        _, made = await api_call(admin, floor.url, "POST", "/api/tickets", {
            "subject": "Report", "text": "Hello", "queue": "email",
            "requester": {"email": "ann@customer.test", "name": "Ann"}}, 201)
        name = "Quarterly report of the north-east region " * 3 + ".pdf"  # 130 characters
        status, answer = await _upload(admin, floor.url, made["id"], "The report.", name)
        assert status == 201, (status, answer)
        [listed] = json.loads(answer)["attachments"]
        assert listed["filename"].startswith("Quarterly") and listed["filename"].endswith(".pdf")
        assert len(listed["filename"]) <= 100, listed


# aiohttp's parser warns about the header it then reads whole: the warning is this test's input.
@pytest.mark.filterwarnings("ignore::aiohttp.multipart.BadContentDispositionHeader")
async def test_a_file_name_with_semicolons_is_taken(tmp_path):
    async with text_floor(tmp_path, acknowledge=False) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        _, made = await api_call(admin, floor.url, "POST", "/api/tickets", {
            "subject": "Orders", "text": "Hello", "queue": "email",
            "requester": {"email": "ann@customer.test", "name": "Ann"}}, 201)
        status, answer = await _upload(admin, floor.url, made["id"], "The orders.",
                                       "orders 1;2;3.pdf")
        assert status == 201, (status, answer)
        [listed] = json.loads(answer)["attachments"]
        assert listed["filename"].startswith("orders") and listed["filename"].endswith(".pdf")


async def test_no_payload_runs_in_ticket_canned_answers(browser, tmp_path):
    await _canned(browser, tmp_path, quick(1))


async def test_no_payload_runs_in_ticket_ratings(browser, tmp_path):
    await _ratings(browser, tmp_path, quick(1))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_ticket_files(browser, tmp_path):
    await _files(browser, tmp_path, PAYLOADS)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_ticket_canned_answers(browser,
                                                                           tmp_path):
    await _canned(browser, tmp_path, PAYLOADS)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_ticket_ratings(browser, tmp_path):
    await _ratings(browser, tmp_path, PAYLOADS)

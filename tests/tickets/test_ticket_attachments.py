"""Files on tickets over real SMTP on loopback: a customer's mail with a PDF, an inline PNG and
an HTML file becomes a ticket whose files download byte for byte (the HTML one never as a page),
only for those who may read the ticket; an agent's reply carries a file as multipart/mixed,
the ticket's followers copied, and lists it like a received one."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from typing import Any

import aiohttp
from tickets_floor import SUPPORT, Client, mail, tickets_floor

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n" + bytes(range(256)) * 4
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
       b"\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
HTML = b"<html><body><script>alert(document.cookie)</script>Invoice</body></html>"


def with_files() -> EmailMessage:
    """A mail as a client sends it: text and HTML (an image in it), a PDF and an HTML file."""
    msg = mail("Broken invoice", "See the attached invoice and screenshot.",
               headers={"Cc": "Carl <carl@customer.test>"})
    msg.add_alternative('<p>See the invoice: <img src="cid:shot@customer.test"></p>',
                        subtype="html")
    msg.get_payload()[1].add_related(PNG, maintype="image", subtype="png",
                                     cid="<shot@customer.test>", filename="screen shot.png",
                                     disposition="inline")
    msg.add_attachment(PDF, maintype="application", subtype="pdf",
                       filename='..\\..\\etc/invoice "42".pdf')
    msg.add_attachment(HTML, maintype="text", subtype="html", filename="invoice.html")
    return msg


async def download(client: Client, url: str, expect: int = 200) -> tuple[bytes, Any]:
    async with client.http.get(f"{client.floor.url}{url}") as r:
        assert r.status == expect, (url, r.status)
        return await r.read(), r.headers


async def test_a_mails_files_are_listed_and_downloaded_by_readers_of_its_ticket_only(
        tmp_path):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        alice = await floor.user("alice", "a1")
        bob = await floor.user("bob", "a2", login=False)  # an agent it is not assigned to
        boss = await floor.user("boss", None, "supervisor")
        message = with_files()
        # On the wire with CRLF line ends (smtplib sends bytes as they are).
        await floor.send_mail(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
        await floor.settled()
        number = (await alice.call("GET", "/api/tickets?view=mine"))["tickets"][0]["id"]
        shown = await alice.call("GET", f"/api/tickets/{number}")
        first = shown["articles"][0]
        assert first["body_text"].startswith("See the attached invoice")

        files = (await alice.call("GET", f"/api/tickets/{number}/attachments"))["attachments"]
        assert [(f["article_id"], f["filename"], f["content_type"], f["size"], f["inline"])
                for f in files] == [
            (first["id"], "screen shot.png", "image/png", len(PNG), True),
            (first["id"], "invoice _42_.pdf", "application/pdf", len(PDF), False),
            (first["id"], "invoice.html", "application/octet-stream", len(HTML), False)]
        png, pdf, html = files

        data, headers = await download(alice, pdf["url"])
        assert data == PDF
        assert headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"].startswith('attachment; filename="invoice _42_.pdf"')
        assert headers["X-Content-Type-Options"] == "nosniff"
        data, headers = await download(alice, png["url"])
        assert data == PNG
        assert headers["Content-Type"] == "image/png"
        assert headers["Content-Disposition"].startswith("attachment;")
        # An HTML file is bytes to save, never a page of ours.
        data, headers = await download(alice, html["url"])
        assert data == HTML
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Content-Disposition"].startswith('attachment; filename="invoice.html"')
        assert "sandbox" in headers["Content-Security-Policy"]

        # Readers of the ticket only: another agent and strangers get "not found".
        await download(bob, pdf["url"], 404)
        await bob.call("GET", f"/api/tickets/{number}/attachments", expect=404)
        assert (await download(boss, pdf["url"]))[0] == PDF
        async with aiohttp.ClientSession() as anonymous, \
                anonymous.get(f"{floor.url}{pdf['url']}") as r:
            assert r.status == 401
        await download(alice, "/api/tickets/attachments/999999", 404)
        # The raw mail stays whole for staff (and not for agents).
        mail_id = first["mail_id"]
        raw, _ = await download(boss, f"/api/tickets/{number}/mails/{mail_id}/raw")
        assert PNG[:8] not in raw  # base64 in the mail, as sent
        await download(alice, f"/api/tickets/{number}/mails/{mail_id}/raw", 403)


async def _reply(client: Client, number: int, text: str,
                 files: list[tuple[str, bytes, str]], expect: int = 201) -> dict:
    form = aiohttp.FormData()
    form.add_field("text", text)
    for name, data, kind in files:
        form.add_field("file", data, filename=name, content_type=kind)
    async with client.http.post(f"{client.floor.url}/api/tickets/{number}/replies/files",
                                data=form, headers={"X-CSRF-Token": client.csrf}) as r:
        body = await r.json()
        assert r.status == expect, (r.status, body)
        return body


async def test_an_agents_reply_carries_files_as_multipart_with_the_followers_copied(tmp_path):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        alice = await floor.user("alice", "a1")
        await floor.send_mail(mail("Need the form", "Please send me the form.", headers={
            "Cc": f"Carl <carl@customer.test>, {SUPPORT}"}))
        await floor.settled()
        number = (await alice.call("GET", "/api/tickets?view=mine"))["tickets"][0]["id"]
        # Followers: Carl (from the Cc), the requester herself, an agent (no address).
        await alice.call("POST", f"/api/tickets/{number}/followers",
                         {"email": "ann@customer.test"})
        await alice.call("POST", f"/api/tickets/{number}/followers", None)

        limits = await alice.call("GET", "/api/tickets/attachment-settings")
        assert limits["max_files"] == 5 and "pdf" in limits["types"]
        # Refused before anything is stored: a type not taken, content that is not its name.
        await _reply(alice, number, "x", [("evil.html", HTML, "text/html")], expect=415)
        await _reply(alice, number, "x", [("fake.pdf", b"not a pdf at all", "application/pdf")],
                     expect=415)
        await _reply(alice, number, "x", [("a.pdf", PDF, "application/pdf")] * 6, expect=409)
        assert floor.relay.mails.empty()

        article = await _reply(alice, number, "Here is the form.",
                               [("Form_7.pdf", PDF, "application/octet-stream")])
        assert [(f["filename"], f["content_type"], f["size"], f["direction"])
                for f in article["attachments"]] == [("Form_7.pdf", "application/pdf",
                                                      len(PDF), "out")]

        envelope, sent = await floor.relay.next()
        assert envelope.rcpt_tos == ["ann@customer.test", "carl@customer.test"]
        assert sent.get_content_type() == "multipart/mixed"
        assert [a.addr_spec for a in sent["Cc"].addresses] == ["carl@customer.test"]
        assert "Here is the form." in sent.get_body(preferencelist=("plain",)).get_content()
        (attached,) = list(sent.iter_attachments())
        assert attached.get_filename() == "Form_7.pdf"
        assert attached.get_content_type() == "application/pdf"
        assert attached.get_content() == PDF

        # Listed on the reply like a received file, and downloaded byte for byte.
        files = (await alice.call("GET", f"/api/tickets/{number}/attachments"))["attachments"]
        assert [f["article_id"] for f in files] == [article["id"]]
        async with alice.http.get(f"{floor.url}{files[0]['url']}") as r:
            assert r.status == 200
            assert hashlib.sha256(await r.read()).hexdigest() == hashlib.sha256(PDF).hexdigest()

        # An internal note copies nobody and mails nothing.
        await alice.call("POST", f"/api/tickets/{number}/notes", {"text": "internal"})
        # A reply without files still copies the followers.
        await alice.call("POST", f"/api/tickets/{number}/replies", {"text": "Anything else?"})
        envelope, sent = await floor.relay.next()
        assert envelope.rcpt_tos == ["ann@customer.test", "carl@customer.test"]
        assert sent.get_content_type() == "text/plain"
        assert floor.relay.mails.empty()


async def test_a_reply_with_files_needs_an_address_to_mail_to(tmp_path):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        alice = await floor.user("alice", "a1")
        boss = await floor.user("boss", None, "supervisor")
        made = await boss.call("POST", "/api/tickets", {
            "subject": "Called in", "text": "A caller asked for the form.",
            "requester": {"phone": "+33100000000", "name": "Caller"}, "queue": "email",
            "assignee": "a1"})
        body = await _reply(alice, made["id"], "Form attached.",
                            [("form.pdf", PDF, "application/pdf")], expect=409)
        assert "no address" in body["error"]
        # Not a form, a broken one, an unknown field: 400, nothing stored.
        url = f"{floor.url}/api/tickets/{made['id']}/replies/files"
        for data, kind in ((b'{"text": "x"}', "application/json"),
                           (b"--b\r\nnot a part", "multipart/form-data; boundary=b"),
                           (b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
                            "multipart/form-data; boundary=b")):
            async with alice.http.post(url, data=data, headers={
                    "X-CSRF-Token": alice.csrf, "Content-Type": kind}) as r:
                assert r.status == 400, (data, r.status, await r.text())
        files = (await alice.call("GET", f"/api/tickets/{made['id']}/attachments"))
        assert files["attachments"] == []
        shown = await alice.call("GET", f"/api/tickets/{made['id']}")
        assert [a["body_text"] for a in shown["articles"]] == ["A caller asked for the form."]
        assert floor.relay.mails.empty()

"""Articles' images and attachments, agent assist and drafts from solved tickets through the
JSON API on a real socket (SQLite, and PostgreSQL with CC_TEST_POSTGRES_URL): what is stored
and refused, who may fetch a file and how it is served, and what a ticket becomes."""

from __future__ import annotations

import pytest
from kb_media_support import desk, png

from contactcenter.kb.media import MAX_FILE, classify, clean_filename, sniff_image
from contactcenter.kb.model import KbError
from contactcenter.tickets.model import (
    Author,
    NewTicket,
    Origin,
    Requester,
    Status,
    TicketChanges,
    Visibility,
)
from contactcenter.tickets.service import Who
from contactcenter.tickets.store import ArticleDraft

GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 14
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
async def env(database, password_hash, kb_settings):  # type: ignore[no-untyped-def]
    async with desk(database, password_hash, kb_settings) as running:
        yield running


def test_types_come_from_the_bytes_never_from_the_name():
    assert sniff_image(png()) == "image/png"
    assert sniff_image(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_image(GIF) == "image/gif" and sniff_image(WEBP) == "image/webp"
    assert sniff_image(SVG) is None
    # An image named anything gets its true extension; an SVG is no image and no attachment.
    assert classify("photo.txt", png()) == ("image", "image/png", "photo.png")
    assert classify("x.jpeg", b"\xff\xd8\xff\xe0") == ("image", "image/jpeg", "x.jpeg")
    assert classify("guide.pdf", b"%PDF-1.7 ...")[:2] == ("file", "application/pdf")
    assert classify("list.csv", "a,b\n1,é\n".encode())[1] == "text/csv; charset=utf-8"
    for name, data in (("logo.svg", SVG), ("page.html", b"<html>"), ("fake.pdf", b"<html>"),
                       ("fake.png", b"<html>"), ("bin.txt", b"\xff\xfe\x00"),
                       ("doc.docx", b"not a zip"), ("empty.txt", b"")):
        with pytest.raises(KbError):
            classify(name, data)
    assert clean_filename("../../etc/pass wd?.txt") == "pass-wd-.txt"
    assert clean_filename("C:\\Users\\me\\..") == "file"


async def test_upload_serve_and_who_may_fetch(env):
    sup, agent, anon = (await env.client("sup"), await env.client("agent1"),
                        await env.client())
    async with sup.post(env.url("/api/kb/articles"), json={
            "locale": "en", "title": "Router lights", "body": "Look at the lights."}) as r:
        article = await r.json()
    uploads = env.url(f"/api/kb/articles/{article['id']}/media")
    async with agent.post(uploads, params={"filename": "a.png"}, data=png()) as r:
        assert r.status == 403
    async with sup.post(uploads, params={"filename": "lights.png"}, data=png(),
                        headers={"Content-Type": "text/html"}) as r:
        assert r.status == 201, await r.text()
        image = await r.json()
    assert (image["kind"], image["content_type"], image["filename"]) == (
        "image", "image/png", "lights.png")
    assert image["markdown"] == f"![lights.png]({image['url']})"
    async with sup.post(uploads, params={"filename": "manual.pdf"},
                        data=b"%PDF-1.4 the manual") as r:
        assert r.status == 201
        pdf = await r.json()
    async with sup.post(uploads, params={"filename": "logo.svg"}, data=SVG) as r:
        assert r.status == 415
    async with sup.post(uploads, params={"filename": "big.pdf"},
                        data=b"%PDF-" + b"0" * MAX_FILE) as r:
        assert r.status == 413
    async with sup.get(uploads) as r:
        assert [m["filename"] for m in await r.json()] == ["lights.png", "manual.pdf"]

    # The article refers to them; a draft's files are the staff's only.
    async with sup.put(env.url(f"/api/kb/articles/{article['id']}"), json={
            "version": 1, "body": f"{image['markdown']}\n\n{pdf['markdown']}"}) as r:
        saved = await r.json()
    assert f'<img src="{image["url"]}" alt="lights.png"' in saved["html"]
    for who, status in ((anon, 404), (agent, 404), (sup, 200)):
        async with who.get(env.url(image["url"])) as r:
            assert r.status == status
    async with sup.post(env.url(f"/api/kb/articles/{article['id']}/state"),
                        json={"state": "internal", "version": 2}) as r:
        assert r.status == 200
    async with agent.get(env.url(image["url"])) as r:
        assert r.status == 200 and r.headers["Cache-Control"].startswith("private")
    async with anon.get(env.url(image["url"])) as r:
        assert r.status == 404
    async with sup.post(env.url(f"/api/kb/articles/{article['id']}/state"),
                        json={"state": "published", "version": 3}) as r:
        assert r.status == 200
    async with anon.get(env.url(image["url"])) as r:
        assert r.status == 200 and await r.read() == png()
        assert r.headers["Content-Type"] == "image/png"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("inline")
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.headers["Cache-Control"].startswith("public")
    async with anon.get(env.url(pdf["url"])) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
        assert r.headers["Content-Disposition"] == "attachment; filename*=UTF-8''manual.pdf"
    # The help center shows the image.
    async with anon.get(env.url(saved["url"])) as r:
        assert f'src="{image["url"]}"' in await r.text()

    async with sup.delete(env.url(f"/api/kb/media/{pdf['key']}")) as r:
        assert r.status == 204
    async with anon.get(env.url(pdf["url"])) as r:
        assert r.status == 404
    actions = [e.action for e in await env.audit.list(action_prefix="kb.media")]
    assert actions == ["kb.media.delete", "kb.media.upload", "kb.media.upload"]


async def test_assist_suggests_from_chat_words_and_call_data(env):
    sup, agent = await env.client("sup"), await env.client("agent1")
    made = {}
    for title, body, state in (
            ("Router lights blinking red", "A red light means the line is down.", "published"),
            ("Refund policy", "Refunds take five days.", "internal"),
            ("Secret draft about routers", "Not for agents.", "draft")):
        async with sup.post(env.url("/api/kb/articles"), json={
                "locale": "en", "title": title, "body": body, "state": state}) as r:
            made[title] = (await r.json())["id"]
    async with agent.post(env.url("/api/kb/suggest"), json={
            "text": "hi, my router has a red light blinking"}) as r:
        hits = (await r.json())["hits"]
    assert [h["id"] for h in hits] == [made["Router lights blinking red"]]
    async with agent.post(env.url("/api/kb/suggest"), json={
            "text": "", "context": {"ivr_path": "main/billing", "inputs": {"reason": "refund"}}
    }) as r:
        assert [h["id"] for h in (await r.json())["hits"]] == [made["Refund policy"]]
    async with agent.post(env.url(f"/api/kb/articles/{made['Refund policy']}/feedback"),
                          json={"helpful": True}) as r:
        assert await r.json() == {"helpful": 1, "not_helpful": 0}


async def _solved_ticket(env, *, solve: bool = True) -> int:  # type: ignore[no-untyped-def]
    service = env.tickets
    ticket = await service.create(
        NewTicket("Cannot print invoices", Origin.WEB, "support",
                  Requester(email="ann@example.com", name="Ann")),
        Who("sup", staff=True),
        ArticleDraft(Visibility.PUBLIC, Author.CUSTOMER, "Ann",
                     "The invoice page prints blank.\nWhat can I do?"))
    await service.write(ticket.id, "Customer is on Firefox 99.", Who("sup", staff=True),
                        Visibility.INTERNAL)
    await service.write(ticket.id, "Turn on **background graphics** in the print dialog.",
                        Who("sup", staff=True), Visibility.PUBLIC)
    if solve:
        await service.update(ticket.id, TicketChanges(status=Status.SOLVED),
                             Who("sup", staff=True))
    return ticket.id


async def test_a_solved_ticket_becomes_a_draft_article(env):
    sup, agent = await env.client("sup"), await env.client("agent1")
    open_id = await _solved_ticket(env, solve=False)
    async with sup.post(env.url(f"/api/tickets/{open_id}/kb-draft"), json={}) as r:
        assert r.status == 409
    ticket_id = await _solved_ticket(env)
    async with agent.post(env.url(f"/api/tickets/{ticket_id}/kb-draft"), json={}) as r:
        assert r.status == 404  # not theirs to see
    async with sup.post(env.url(f"/api/tickets/{ticket_id}/kb-draft"),
                        json={"locale": "fr"}) as r:
        assert r.status == 201, await r.text()
        draft = await r.json()
    assert (draft["title"], draft["state"], draft["locale"], draft["origin"]) == (
        "Cannot print invoices", "draft", "fr", f"/tickets?id={ticket_id}")
    assert draft["editor_url"] == f"/kb?article={draft['id']}"
    assert draft["body"] == ("## Question\n\n> The invoice page prints blank.\n"
                             "> What can I do?\n\n## Answer\n\n"
                             "Turn on **background graphics** in the print dialog.\n")
    assert "Firefox" not in draft["body"]  # internal notes stay internal
    async with sup.post(env.url(f"/api/tickets/{ticket_id}/kb-draft"),
                        json={"locale": "xx"}) as r:
        assert r.status == 400
    (entry,) = await env.audit.list(action_prefix="kb.article.create")
    assert (entry.actor, entry.target) == ("sup", str(draft["id"]))
    assert entry.detail["origin"] == f"/tickets?id={ticket_id}"

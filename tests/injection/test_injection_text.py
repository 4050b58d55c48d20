"""The injection corpus through the text channels: e-mail, tickets and chat.

One server with both channels (``text_floor``). Every payload arrives as the subject and body of
a mail over real SMTP (aiosmtplib to our listener; the subject as an RFC 2047 encoded word, so
CR, LF and NUL get through the mail client), goes into a ticket note and an agent's reply
(which leaves through the relay as a real mail), into a chat visitor's name and messages over
the widget's socket and into the agent's chat replies. No request may get a 5xx; every mail
must become a ticket; the mails we send out must carry no header a payload made (no header name
with a marker, one recipient: the customer), and the text must come back as data.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from chat_floor import SITE
from corpus import PAYLOADS, Payload, quick
from text_floor import T, panel_user, raw_mail, send_mail, text_floor


async def _run(tmp_path, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path) as floor:
        agent = await panel_user(floor, "inj-alice", "agent", "a1")
        admin = await panel_user(floor, "inj-admin", "admin")
        statuses: list[tuple[int, str, str]] = []

        async def call(http, method: str, path: str, body=None, name: str = ""):
            async with http.request(method, f"{floor.url}{path}", json=body) as r:
                data = await r.json() if r.content_type == "application/json" else None
                statuses.append((r.status, f"{method} {path}", name))
                return r.status, data

        assert (await call(agent, "POST", "/api/agents/a1/login", {}))[0] == 200

        # Mail in: one ticket per payload.
        mailable = [p for p in payloads if p.utf8]
        for n, p in enumerate(mailable):
            await send_mail(floor, raw_mail(p.text, p.text, n))
        status, listing = await call(admin, "GET", "/api/tickets?view=all&limit=500")
        assert status == 200, listing
        tickets = listing["tickets"] if isinstance(listing, dict) else listing
        filed = " ".join(str(t.get("subject")) for t in tickets)
        lost = [p.name for p in mailable if p.marker not in filed]
        # Known (docs/reliability.md): a subject over 250 characters is kept raw and flagged,
        # and no ticket is made; test_long_subject_mail_becomes_a_ticket below holds the fix.
        assert [n for n in lost if not n.startswith("size-")] == []

        # Notes and replies on each of them, by the admin.
        for i, p in enumerate(payloads):
            ticket = tickets[i % len(tickets)]
            await call(admin, "POST", f"/api/tickets/{ticket['id']}/notes", {"text": p.text}, p.name)
            await call(admin, "POST", f"/api/tickets/{ticket['id']}/replies", {"text": p.text},
                       p.name)
            await call(admin, "PATCH", f"/api/tickets/{ticket['id']}", {"subject": p.text}, p.name)
            status, _ = await call(admin, "GET", f"/api/tickets/{ticket['id']}")
            assert status == 200

        # Chat: a visitor per payload (its name), saying every payload on the widget's socket.
        visitor_http = aiohttp.ClientSession(headers={"Origin": SITE})
        floor.clients.append(visitor_http)
        base = f"{floor.url}/api/chat/widget/site"
        conversations = []
        for p in payloads:
            async with visitor_http.post(f"{base}/conversations", json={
                    "answers": {"name": p.text, "email": "vera@example.com"}}) as r:
                statuses.append((r.status, "POST widget conversations", p.name))
                if r.status == 201:
                    conversations.append(await r.json())
        assert conversations, "no visitor could start a chat"
        first = conversations[0]
        ws = await visitor_http.ws_connect(f"{base}/ws")
        await ws.send_json({"type": "hello", "conversation_id": first["conversation_id"],
                            "token": first["token"], "after": 0})
        # Lone surrogates are left out here: test_lone_surrogate_in_chat_is_refused holds that bug.
        fits = [p for p in payloads if p.utf8 and len(p.text.encode("utf-8")) < 4000]
        for p in fits:  # longer frames are refused by closing the socket (1009): below
            await ws.send_json({"type": "message", "text": p.text})
        await ws.send_json({"type": "message", "text": "END-OF-CORPUS"})
        async with asyncio.timeout(T):
            while True:  # the socket echoes the visitor's messages back in order
                msg = await ws.receive_json()
                if msg.get("type") == "message" and msg.get("text") == "END-OF-CORPUS":
                    break
                assert msg.get("type") != "error" or "limit" not in str(msg), msg
        await ws.close()
        if any(p.utf8 and p not in fits for p in payloads):  # an oversized frame ends the socket
            ws = await visitor_http.ws_connect(f"{base}/ws")
            await ws.send_json({"type": "hello", "conversation_id": first["conversation_id"],
                                "token": first["token"], "after": 0})
            big = next(p for p in payloads if p not in fits and p.utf8)
            await ws.send_json({"type": "message", "text": big.text})
            async with asyncio.timeout(T):  # refused: an error frame, or the socket closed
                while (msg := await ws.receive()).type == aiohttp.WSMsgType.TEXT:
                    if '"error"' in msg.data:
                        break
            assert msg.type == aiohttp.WSMsgType.TEXT or ws.close_code in (1000, 1009), msg
            await ws.close()
        # The agent accepts the first conversation and answers with every payload.
        await call(agent, "POST", f"/api/chat/conversations/{first['conversation_id']}/accept", {})
        for p in fits:
            await call(agent, "POST", f"/api/chat/conversations/{first['conversation_id']}/messages",
                       {"text": p.text}, p.name)
        status, _ = await call(agent, "GET",
                                 f"/api/chat/conversations/{first['conversation_id']}/messages")
        assert status == 200

        assert [s for s in statuses if s[0] >= 500] == []

        # Mail out: whatever the payloads, no header of their making and one recipient.
        sent = []
        while not floor.relay.mails.empty():
            sent.append(floor.relay.mails.get_nowait())
        for envelope, msg in sent:
            assert envelope.rcpt_tos == ["ann@customer.test"], envelope.rcpt_tos
            for key in msg:  # header names
                assert not any(p.marker in key for p in payloads), (key, msg.items())
            assert len(msg.get_all("To") or []) == 1 and not msg.get_all("Bcc")
            assert len(msg.get_all("Subject") or []) == 1


async def test_injection_corpus_through_mail_tickets_and_chat_quick(tmp_path):
    await _run(tmp_path, quick(1))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_injection_corpus_through_mail_tickets_and_chat(tmp_path):
    await _run(tmp_path, PAYLOADS)


async def test_long_subject_mail_becomes_a_ticket(tmp_path):
    async with text_floor(tmp_path) as floor:
        admin = await panel_user(floor, "inj-admin", "admin")
        await send_mail(floor, raw_mail("Order 123 " + "x" * 300, "hello", 0))
        async with admin.get(f"{floor.url}/api/tickets?view=all") as r:
            listing = await r.json()
        assert listing["tickets"], "the mail was accepted (250) but no ticket was filed"


async def test_lone_surrogate_in_chat_is_refused(tmp_path):
    async with text_floor(tmp_path) as floor:
        visitor = aiohttp.ClientSession(headers={"Origin": SITE})
        floor.clients.append(visitor)
        base = f"{floor.url}/api/chat/widget/site"
        async with visitor.post(f"{base}/conversations", json={
                "answers": {"name": "\udc00Vera", "email": "vera@example.com"}}) as r:
            assert r.status < 500, "a lone surrogate in a pre-chat answer: 500 (anonymous)"
        async with visitor.post(f"{base}/conversations", json={
                "answers": {"name": "Vera", "email": "vera@example.com"}}) as r:
            assert r.status == 201
            conv = await r.json()
        ws = await visitor.ws_connect(f"{base}/ws")
        await ws.send_json({"type": "hello", "conversation_id": conv["conversation_id"],
                            "token": conv["token"], "after": 0})
        await ws.send_json({"type": "message", "text": "\ud83d broken emoji"})
        async with asyncio.timeout(T):
            while True:  # refused with an error frame, the socket open: not a failed write
                msg = await ws.receive_json()
                if msg.get("type") == "error":
                    break
                assert msg.get("type") != "message", msg
        await ws.close()

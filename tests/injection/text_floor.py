"""One server with both text channels for the injection tests: the tickets floor's settings
(SMTP listener on loopback, a real relay for outbound mail) plus the chat test site's channel
routed to the same queue, with chat limits raised so a corpus fits in one conversation."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import aiosmtplib
from chat_floor import SITE, site_channel
from tickets_floor import PASSWORD, SUPPORT, Relay, TicketsFloor, free_port, tickets_settings

from contactcenter.app import ContactCenter
from contactcenter.chat.settings import ChatSettings
from contactcenter.domain.clock import Clock
from contactcenter.web.auth import AUTH_KEY, hash_password

T = 20.0  # seconds: only catches hangs


@contextlib.asynccontextmanager
async def text_floor(tmp_path: Any, **tickets: Any) -> AsyncIterator[TicketsFloor]:
    """The server with tickets (mailbox support@example.com) and chat (channel ``site``);
    ``tickets``: more of the tickets floor's settings (``csat=True``, ``sla=...``)."""
    relay = Relay()
    await relay.start()
    port = free_port()
    settings = tickets_settings(tmp_path, port=port, relay_port=relay.port, capacity=50,
                                **tickets)
    settings = replace(settings, chat=ChatSettings(
        channels=[site_channel(queue="email")], new_conversations_per_ip=1000,
        messages_per_minute=1000))
    server = ContactCenter(settings, clock=Clock(), upgrade_schema=True)
    await server.start()
    floor = TicketsFloor(settings, Clock(), server, relay, port)
    try:
        yield floor
    finally:
        for http in floor.clients:
            await http.close()
        await floor.server.stop()
        await relay.close()


async def panel_user(floor: TicketsFloor, username: str, role: str,
                     agent_id: str | None = None) -> aiohttp.ClientSession:
    """A logged-in panel session (cookie, Origin and CSRF header set)."""
    store = floor.server.web_app[AUTH_KEY].store
    await store.create_user(username, hash_password(PASSWORD), role, agent_id, time.time())
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 headers={"Origin": floor.url},
                                 timeout=aiohttp.ClientTimeout(total=T))
    floor.clients.append(http)
    async with http.post(f"{floor.url}/api/login",
                         json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
    return http


def _encoded_word(text: str) -> str:
    """RFC 2047: how a mail client puts any text (CR and LF included) in a Subject, folded
    into words of 30 characters (one line of a mail must stay under 1,000 bytes)."""
    words = [text[i:i + 30] for i in range(0, len(text), 30)] or [""]
    return "\r\n ".join("=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode() + "?="
                         for w in words)


def raw_mail(subject: str, body: str, n: int) -> bytes:
    """A mail with ``subject`` as an encoded word and ``body`` base64 (any bytes survive)."""
    lines = [
        "From: Ann Customer <ann@customer.test>",
        f"To: {SUPPORT}",
        f"Subject: {_encoded_word(subject)}",
        f"Message-ID: <inj-{n}-{time.monotonic_ns()}@customer.test>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        base64.encodebytes(body.encode("utf-8")).decode(),
    ]
    return "\r\n".join(lines).encode()


async def send_mail(floor: TicketsFloor, raw: bytes) -> None:
    """Deliver one mail to our SMTP listener with aiosmtplib (answers once it is stored)."""
    await aiosmtplib.send(raw, sender="ann@customer.test", recipients=[SUPPORT],
                          hostname="127.0.0.1", port=floor.smtp_port, timeout=T,
                          start_tls=False, use_tls=False)


__all__ = ["SITE", "T", "panel_user", "raw_mail", "send_mail", "text_floor"]

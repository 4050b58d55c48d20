"""A chat visitor's erasure reaches the tickets their messages left became, over the real
server (SQLite file), its outbox and a real SMTP relay on loopback, and the real command line:
a visitor chats (and has the transcript mailed) and leaves two messages; one ticket goes to an
agent, who answers twice (one mail sent, one still queued); an admin erases the visitor. The
tickets' rows (read with SQL from the file, mails byte for byte) then hold none of their text,
name or address; the tickets stay, with their statuses and history, and the ticket report is
unchanged; the queued mail and the transcript are gone from the outbox; a dry run changes
nothing; a second pass has nothing to do; the audit names numbers, not data; another visitor's
ticket is intact until the command line erases them too."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from chat_floor import (
    ChatFloor,
    T,
    Visitor,
    chat_floor,
    chat_settings,
    free_port,
    site_channel,
)

from contactcenter.app import ContactCenter
from contactcenter.chat.tables import ChatOfflineMessageRow
from contactcenter.cli import main
from contactcenter.domain.clock import Clock
from contactcenter.tickets.settings import MailboxSettings, SmtpSettings, TicketSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tickets"))
from tickets_floor import Relay

SUPPORT = "support@example.com"
# What of Vera may be found nowhere in her tickets' rows after the erasure.
SECRETS = ("vera", "juniper", "cancel everything", "unhappy vera")
TICKET_TABLES = ("tickets", "ticket_articles", "ticket_history", "ticket_mails",
                 "ticket_attachments", "ticket_followers", "ticket_ratings",
                 "ticket_field_values", "ticket_webhooks", "ticket_calls")


@contextlib.asynccontextmanager
async def floor_with_mail(tmp_path: Path) -> AsyncIterator[tuple[ChatFloor, Relay]]:
    """The chat floor whose tickets mail through a relay; a mail that cannot go waits an
    hour for its next try (so one stays queued)."""
    relay = Relay()
    await relay.start()
    port = free_port()
    settings = replace(
        chat_settings(tmp_path, port=port, channels=[site_channel(auto_accept=True)]),
        tickets=TicketSettings(
            queue="web", mailboxes=[MailboxSettings(address=SUPPORT, name="Shop", queue="web")],
            smtp=SmtpSettings(host="127.0.0.1", port=relay.port, starttls=False, retry_s=3600,
                              max_attempts=5, timeout_s=5)))
    server = ContactCenter(settings, clock=Clock(), upgrade_schema=True)
    await server.start()
    floor = ChatFloor(settings, server.clock, server, port)
    try:
        yield floor, relay
    finally:
        for http in floor.clients:
            await http.close()
        await floor.server.stop()
        await relay.close()


async def chat_and_transcript(floor: ChatFloor, relay: Relay) -> None:
    """Vera chats (billing: no wrap-up), ends it and has its transcript mailed to her."""
    v = floor.visitor()
    status, body = await v.start({"name": "Vera Secret", "email": "vera@example.com",
                                  "topic": "billing"}, visitor_id="cust-9")
    assert status == 201, body
    welcome = await v.connect()  # accepted at once: told by the welcome, or by a state frame
    if welcome["state"] != "active":
        await v.active()
    await v.say("my order Juniper is late", client_id="c1")
    await v.frame(lambda f: f["type"] == "ack")
    await v.ws.send_json({"type": "close"})
    await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
    async with v.http.post(f"{v.base}/transcript", json={
            "conversation_id": v.conversation_id, "token": v.token,
            "email": "vera@example.com"}) as r:
        assert r.status == 202, await r.text()
    envelope, _ = await relay.next()
    assert envelope.rcpt_tos == ["vera@example.com"]
    engine = floor.server.routing.engine
    async with asyncio.timeout(T):  # stored closed, the agent's slot freed
        while (await floor.chat.store.get(v.conversation_id))[0].closed_at is None \
                or engine.agents["a1"].slots:
            await asyncio.sleep(0.05)


async def leave(v: Visitor, visitor_id: str, name: str, email: str, text: str) -> None:
    async with v.http.post(f"{v.base}/messages", json={
            "answers": {"name": name, "email": email}, "message": text,
            "visitor_id": visitor_id}) as r:
        assert r.status == 201, await r.text()


async def tickets_of(floor: ChatFloor, visitor_id: str) -> list[int]:
    async with floor.server.db.session() as s:
        found = (await s.execute(sa.select(ChatOfflineMessageRow.ticket_id).where(
            ChatOfflineMessageRow.visitor_id == visitor_id))).scalars().all()
    assert found and all(t is not None for t in found)
    return sorted(int(t) for t in found)


def rows(db_file: Path, ticket_ids: list[int] | None = None) -> dict[str, list[str]]:
    """Every row of the tickets' tables (of ``ticket_ids``, or all) and of the queue engine's
    rows for them, as text (mails' bytes decoded), read with SQL from the SQLite file."""
    con = sqlite3.connect(db_file)
    try:
        out: dict[str, list[str]] = {}
        for table in TICKET_TABLES:
            cols = [c[1] for c in con.execute(f"PRAGMA table_info({table})")]
            key = "id" if table == "tickets" else "ticket_id" if "ticket_id" in cols else None
            query, args = f"SELECT * FROM {table}", []
            if ticket_ids is not None and key is not None:
                query += f" WHERE {key} IN ({','.join('?' * len(ticket_ids))})"
                args = ticket_ids
            elif ticket_ids is not None:  # attachments: through their articles
                query += (" WHERE article_id IN (SELECT id FROM ticket_articles WHERE ticket_id"
                          f" IN ({','.join('?' * len(ticket_ids))}))")
                args = ticket_ids
            out[table] = sorted(
                repr([v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in r])
                for r in con.execute(query, args))
        for table, col in (("routing_interactions", "id"), ("routing_events", "interaction_id")):
            pattern = [f"ticket-{t}-%" for t in ticket_ids or []] or ["ticket-%"]
            out[table] = sorted(repr(r) for p in pattern for r in con.execute(
                f"SELECT * FROM {table} WHERE {col} LIKE ?", [p]))
        return out
    finally:
        con.close()


def holding(found: dict[str, list[str]], secrets: tuple[str, ...]) -> list[str]:
    return [f"{table}: {row}" for table, rs in found.items() for row in rs
            if any(s in row.lower() for s in secrets)]


async def erase(client: Any, body: dict[str, Any]) -> tuple[int, Any]:
    async with client.http.post(f"{client.floor.url}/api/chat/erasures", json=body,
                                headers={"X-CSRF-Token": client.csrf}) as r:
        return r.status, await r.json()


async def ticket_report(client: Any) -> dict[str, Any]:
    today = dt.date.fromisoformat((await client.get("/api/reports/options"))["today"])
    span = f"from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}&by=total"
    return dict((await client.get(f"/api/reports/tickets?{span}&group=none"))["totals"])


async def mail_rows(floor: ChatFloor) -> list[Any]:
    return await floor.server.tickets.store.mails(direction="out")


async def test_erasing_a_visitor_erases_them_from_their_tickets(tmp_path):
    db_file = tmp_path / "cc.sqlite3"
    async with floor_with_mail(tmp_path) as (floor, relay):
        alice = await floor.agent("alice", "a1")
        root = await floor.agent("root", None, login=False, role="admin")
        sue = await floor.agent("sue", None, login=False, role="supervisor")
        await chat_and_transcript(floor, relay)
        await leave(floor.visitor(), "cust-9", "Vera Secret", "vera@example.com",
                    "About order Juniper: please call Vera back")
        await leave(floor.visitor(), "cust-9", "Vera Secret", "vera@example.com",
                    "Second thought: cancel everything")
        await leave(floor.visitor(), "other-1", "Otto", "otto@example.com", "Otto's question")
        answered, alone = await tickets_of(floor, "cust-9")
        (otto,) = await tickets_of(floor, "other-1")
        shown = await sue.get(f"/api/tickets/{answered}")
        assert shown["ticket"]["requester"]["email"] == "vera@example.com"
        assert "Juniper" in shown["articles"][0]["body_text"]

        # The ticket goes to Alice, who answers: one mail sent, then (relay gone) one queued.
        async with sue.http.patch(f"{floor.url}/api/tickets/{answered}",
                                  json={"assignee": "a1"},
                                  headers={"X-CSRF-Token": sue.csrf}) as r:
            assert r.status == 200, await r.text()
        await alice.post(f"/api/tickets/{answered}/replies",
                         {"text": "Dear Vera Secret, your order ships today."}, expect=201)
        envelope, _ = await relay.next()
        assert envelope.rcpt_tos == ["vera@example.com"]
        await relay.close()
        await alice.post(f"/api/tickets/{answered}/replies", {"text": "And a voucher."},
                         expect=201)
        async with asyncio.timeout(T):  # the send was tried, and waits for its next try
            while not [m for m in await mail_rows(floor)
                       if m.kind == "reply" and m.status == "queued" and m.attempts >= 1]:
                await asyncio.sleep(0.05)
        async with asyncio.timeout(T):
            while not any(m.status == "sent" and m.kind == "reply"
                          for m in await mail_rows(floor)):
                await asyncio.sleep(0.05)
        await floor.server.routing.flush()
        assert holding(rows(db_file, [answered, alone]), SECRETS)  # the test can fail
        report_before = await ticket_report(root)
        assert report_before["created"] >= 3
        everything = rows(db_file)

        # A dry run says what would go, and changes nothing.
        status, dry = await erase(root, {"by": "visitor", "value": "cust-9", "dry_run": True})
        assert status == 200, dry
        side = dry["ticket_erasure"]
        assert side["dry_run"] and side["tickets"] == [answered, alone]
        assert (side["articles_deleted"], side["articles_blanked"]) == (2, 2)
        assert (side["mails_deleted"], side["mails_blanked"], side["requesters"]) == (2, 1, 2)
        assert rows(db_file) == everything

        # The erasure, though one ticket is in Alice's hands.
        status, done = await erase(root, {"by": "visitor", "value": "cust-9"})
        assert status == 200, done
        side = done["ticket_erasure"]
        assert not side["dry_run"] and side["tickets"] == [answered, alone]
        assert {k: side[k] for k in ("articles_deleted", "articles_blanked", "mails_deleted",
                                     "mails_blanked", "requesters")} == {
            "articles_deleted": 2, "articles_blanked": 2, "mails_deleted": 2,
            "mails_blanked": 1, "requesters": 2}
        after = rows(db_file, [answered, alone])
        assert holding(after, SECRETS) == []
        assert not holding(rows(db_file), ("vera@",))  # no mail to her anywhere, transcript too
        assert len(after["tickets"]) == 2  # the tickets stay
        mails = await mail_rows(floor)
        assert not [m for m in mails if m.status == "queued"]
        assert not [m for m in mails if m.kind == "transcript"]

        # Alice still has her ticket: her words, not Vera's.
        mine = await alice.get(f"/api/tickets/{answered}")
        assert mine["ticket"]["assignee"] == "a1" and mine["ticket"]["requester"]["email"] is None
        bodies = [a["body_text"] for a in mine["articles"]]
        assert "Dear [erased], your order ships today." in bodies
        assert "And a voucher." in bodies
        fields = [c["field"] for c in (await sue.get(f"/api/tickets/{answered}"))["history"]]
        assert "created" in fields and "reply" in fields and fields[-1] == "erased"
        gone = await sue.get(f"/api/tickets/{alone}")
        assert gone["articles"] == [] and gone["ticket"]["status"] == "new"
        # The other visitor's ticket is untouched; the reports count what they counted.
        assert holding(rows(db_file, [otto]), ("otto@example.com",))
        assert await ticket_report(root) == report_before

        # The audit: numbers, never the data.
        entries = await floor.server.audit.list(action_prefix="tickets.erase")
        assert [(e.actor, e.outcome) for e in entries] == [("root", "ok")]
        assert entries[0].detail["tickets"] == [answered, alone]
        chat_entries = await floor.server.audit.list(action_prefix="chat.erase")
        assert chat_entries[0].detail["ticket_erasure"]["mails_deleted"] == 2
        text = repr([e.detail for e in entries + chat_entries]).lower()
        assert not any(s in text for s in (*SECRETS, "cust-9"))

        # Nothing left: by visitor id, and by her address (its transcripts would be found).
        for body in ({"by": "visitor", "value": "cust-9"},
                     {"by": "email", "value": "vera@example.com"}):
            status, again = await erase(root, body)
            assert status == 200 and again["nothing_to_do"], again
        assert rows(db_file, [answered, alone]) == after
        assert len(await floor.server.audit.list(action_prefix="tickets.erase")) == 1

    # The command line erases Otto, his ticket included.
    config = tmp_path / "erase.yaml"
    config.write_text(f"database:\n  url: 'sqlite+aiosqlite:///{db_file}'\nchat:\n"
                      f"  attachments_dir: '{tmp_path / 'files'}'\n")
    args = ["chat", "erase", "--email", "otto@example.com", "--config", str(config)]
    assert await asyncio.to_thread(main, [*args, "--dry-run"]) == 0
    assert holding(rows(db_file, [otto]), ("otto",))
    assert await asyncio.to_thread(main, args) == 0
    assert holding(rows(db_file, [otto]), ("otto",)) == []
    assert len(rows(db_file, [otto])["tickets"]) == 1


async def test_a_ticket_merged_into_another_loses_only_the_visitors_messages(tmp_path):
    db_file = tmp_path / "cc.sqlite3"
    async with chat_floor(tmp_path) as floor:
        root = await floor.agent("root", None, login=False, role="admin")
        sue = await floor.agent("sue", None, login=False, role="supervisor")
        await leave(floor.visitor(), "cust-9", "Vera Secret", "vera@example.com",
                    "About order Juniper: please call Vera back")
        await leave(floor.visitor(), "other-1", "Otto", "otto@example.com", "Otto's question")
        (vera,) = await tickets_of(floor, "cust-9")
        (otto,) = await tickets_of(floor, "other-1")
        await sue.post(f"/api/tickets/{vera}/merge", {"into": otto})
        merged = await sue.get(f"/api/tickets/{otto}")
        assert any("Juniper" in a["body_text"] for a in merged["articles"])

        status, done = await erase(root, {"by": "email", "value": "vera@example.com"})
        assert status == 200, done
        side = done["ticket_erasure"]
        assert side["tickets"] == sorted([vera, otto]) and side["articles_blanked"] == 2
        assert side["requesters"] == 1  # Vera's; Otto stays the requester of his
        assert holding(rows(db_file, [vera, otto]), SECRETS) == []
        kept = await sue.get(f"/api/tickets/{otto}")
        assert kept["ticket"]["requester"]["email"] == "otto@example.com"
        assert any(a["body_text"] == "Otto's question" for a in kept["articles"])
        assert (await sue.get(f"/api/tickets/{vera}"))["ticket"]["status"] == "closed"
        status, again = await erase(root, {"by": "email", "value": "vera@example.com"})
        assert status == 200 and again["nothing_to_do"], again

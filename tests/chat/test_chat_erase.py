"""One visitor's chat data erased on request, over the real server and the real command line
(SQLite file, and PostgreSQL with CC_TEST_POSTGRES_URL): a visitor with two chats, files both
ways and a message left is erased by an admin; the other visitor's data is intact; the files
are gone from disk; the reports still count the chats; a dry run changes nothing; a second
erasure has nothing to do; a supervisor, or an admin without the CSRF token, is refused; a
chat in progress is refused; the audit entry holds none of what was erased. The command line
erases another visitor by e-mail address."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from chat_floor import ChatFloor, T, Visitor, chat_floor, site_channel
from throwaway_pg import throwaway_database

from contactcenter.chat.settings import AttachmentSettings
from contactcenter.chat.tables import (
    ChatAttachmentRow,
    ChatConversationRow,
    ChatMessageRow,
    ChatOfflineMessageRow,
    ChatRatingRow,
)
from contactcenter.cli import main
from contactcenter.routing.tables import RoutingEventRow, RoutingInteractionRow
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database

PNG = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
       b"\x00\x00\x00\x90wS\xde" + b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01"
       b"\x01\x00\xc9\xfe\x92\xef" + b"\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ON = AttachmentSettings(enabled=True, max_bytes=64 * 1024, types=["png", "pdf", "txt"])
PG = os.environ.get("CC_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG else [])]


@contextlib.asynccontextmanager
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
        return
    assert PG is not None
    async with throwaway_database(PG, "cc_erase") as url:
        yield url


async def send_file(v: Visitor, name: str, data: bytes) -> str:
    async with v.http.post(f"{v.base}/conversations/{v.conversation_id}/attachments",
                           params={"filename": name}, data=data,
                           headers={"Authorization": f"Bearer {v.token}",
                                    "Content-Type": "application/octet-stream"}) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["message"]["attachment"]["key"])


async def ended_chat(floor: ChatFloor, alice: Any, visitor_id: str, name: str, email: str,
                     file: bytes) -> tuple[str, list[str]]:
    """A chat of ``visitor_id`` with a file each way, ended and out of the agent's hands."""
    v = floor.visitor()
    status, body = await v.start({"name": name, "email": email, "topic": "billing"},
                                 visitor_id=visitor_id)
    assert status == 201, body
    welcome = await v.connect()  # accepted at once: told by the welcome, or by a state frame
    if welcome["state"] != "active":
        await v.active()
    await v.say(f"I am {name}, {email}", client_id="c1")
    await v.frame(lambda f: f["type"] == "ack")
    keys = [await send_file(v, "mine.png" if file == PNG else "mine.pdf", file)]
    async with alice.http.post(
            f"{floor.url}/api/chat/conversations/{v.conversation_id}/attachments",
            params={"filename": "answer.txt"}, data=b"Dear customer, here you are.",
            headers={"X-CSRF-Token": alice.csrf}) as r:
        assert r.status == 201, await r.text()
        keys.append((await r.json())["message"]["attachment"]["key"])
    await v.ws.send_json({"type": "close"})
    await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
    async with v.http.post(f"{v.base}/rating", json={  # the survey offered at the end
            "conversation_id": v.conversation_id, "token": v.token, "rating": 2,
            "comment": f"{name} was unhappy"}) as r:
        assert r.status == 201, await r.text()
    engine = floor.server.routing.engine
    async with asyncio.timeout(T):  # stored closed, and the agent's slot (no wrap-up) freed
        while (await floor.chat.store.get(v.conversation_id))[0].closed_at is None \
                or engine.agents["a1"].slots:
            await asyncio.sleep(0.05)
    return v.conversation_id, keys


async def leave_message(floor: ChatFloor, visitor_id: str, name: str, email: str) -> None:
    v = floor.visitor()
    async with v.http.post(f"{v.base}/messages", json={
            "answers": {"name": name, "email": email}, "message": f"call {name} back",
            "visitor_id": visitor_id}) as r:
        assert r.status == 201, await r.text()


async def erase(client: Any, body: dict[str, Any], csrf: bool = True) -> tuple[int, Any]:
    headers = {"X-CSRF-Token": client.csrf} if csrf else {}
    async with client.http.post(f"{client.floor.url}/api/chat/erasures", json=body,
                                headers=headers) as r:
        return r.status, await r.json()


async def chats_started(client: Any) -> int:
    totals = (await client.get("/api/reports/chats"))["totals"]
    return int(totals["started"])


async def snapshot(db: Database) -> dict[str, Any]:
    async with db.session() as s:
        return {
            "conversations": sorted((r.id, r.visitor_id, r.visitor_name) for r in (
                await s.execute(sa.select(ChatConversationRow))).scalars()),
            "messages": (await s.execute(sa.select(sa.func.count()).select_from(
                ChatMessageRow))).scalar_one(),
            "files": sorted((await s.execute(sa.select(ChatAttachmentRow.key))).scalars()),
            "left": sorted((await s.execute(sa.select(ChatOfflineMessageRow.visitor_id)))
                           .scalars()),
            "data": sorted(json.dumps(d, sort_keys=True) for d in (await s.execute(
                sa.select(RoutingInteractionRow.data))).scalars()),
        }


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_admin_erases_one_visitor_and_nothing_else(tmp_path, backend):
    async with database_url(backend, tmp_path) as url:
        await _erase_over_http_then_cli(tmp_path, url)


async def _erase_over_http_then_cli(tmp_path: Path, url: str) -> None:
    channel = site_channel(auto_accept=True, attachments=ON)
    async with chat_floor(tmp_path, channels=[channel], database_url=url) as floor:
        alice = await floor.agent("alice", "a1")
        root = await floor.agent("root", None, login=False, role="admin")
        sue = await floor.agent("sue", None, login=False, role="supervisor")
        files = floor.server.chat.attachments.files
        await leave_message(floor, "cust-9", "Vera Secret", "vera@example.com")
        first, keys1 = await ended_chat(floor, alice, "cust-9", "Vera Secret",
                                        "vera@example.com", PNG)
        second, keys2 = await ended_chat(floor, alice, "cust-9", "Vera Secret",
                                         "vera@example.com", PDF)
        other, other_keys = await ended_chat(floor, alice, "other-1", "Otto",
                                             "otto@example.com", PNG)
        await leave_message(floor, "other-1", "Otto", "otto@example.com")
        started = await chats_started(root)
        assert started >= 3
        db = floor.server.db
        await floor.server.routing.flush()  # the routing log's rows are written behind
        before = await snapshot(db)

        # Only admins, and only with the CSRF token.
        assert (await erase(sue, {"by": "visitor", "value": "cust-9"}))[0] == 403
        assert (await erase(root, {"by": "visitor", "value": "cust-9"}, csrf=False))[0] == 403
        assert (await erase(root, {"by": "nobody", "value": "x"}))[0] == 400
        assert (await erase(root, {"by": "email", "value": "not an address"}))[0] == 422

        # A dry run counts and changes nothing.
        status, dry = await erase(root, {"by": "visitor", "value": "cust-9", "dry_run": True})
        assert status == 200, dry
        assert dry["dry_run"] and not dry["nothing_to_do"]
        assert sorted(dry["conversation_ids"]) == sorted([first, second])
        assert (dry["attachments"], dry["files"], dry["messages_left"]) == (4, 4, 1)
        assert dry["anonymized"] == 2 and dry["interactions"] == 2 and dry["messages"] >= 6
        assert await snapshot(db) == before
        assert all(files.path(k).is_file() for k in keys1 + keys2)

        # A chat in progress is refused, by visitor or by chat id, and nothing goes.
        busy = floor.visitor()
        assert (await busy.start({"name": "Bea", "email": "bea@example.com",
                                  "topic": "billing"}, visitor_id="busy-1"))[0] == 201
        for body in ({"by": "visitor", "value": "busy-1"},
                     {"by": "chat", "value": busy.conversation_id}):
            status, refused = await erase(root, body)
            assert status == 409 and "in progress" in refused["error"], refused
            assert busy.conversation_id in refused["error"]

        # The erasure.
        status, done = await erase(root, {"by": "visitor", "value": "cust-9"})
        assert status == 200, done
        assert not done["dry_run"] and done["files"] == 4 and done["messages_left"] == 1
        assert len(done["tickets"]) == 1  # the message left's ticket, erased through the port
        assert done["ticket_erasure"]["tickets"] == done["tickets"]
        assert done["ticket_erasure"]["requesters"] == 1
        assert not any(files.path(k).exists() for k in keys1 + keys2)
        assert all(files.path(k).is_file() for k in other_keys)
        after = await snapshot(db)
        convs = {cid: (vid, name) for cid, vid, name in after["conversations"]}
        assert convs[first] == ("", "") and convs[second] == ("", "")
        assert convs[other] == ("other-1", "Otto")
        assert sorted(after["files"]) == sorted(other_keys)
        assert after["left"] == ["other-1"]
        assert not any("Vera" in d or "vera@" in d for d in after["data"])
        assert any("Otto" in d for d in after["data"])
        async with db.session() as s:
            payloads = (await s.execute(sa.select(RoutingEventRow.payload).where(
                RoutingEventRow.interaction_id.in_([first, second])))).scalars().all()
            assert payloads and "Vera" not in json.dumps(list(payloads))
            assert (await s.execute(sa.select(sa.func.count()).select_from(ChatMessageRow)
                                    .where(ChatMessageRow.conversation_id.in_(
                                        [first, second])))).scalar_one() == 0
            ratings = {r.conversation_id: (r.rating, r.comment) for r in
                       (await s.execute(sa.select(ChatRatingRow))).scalars()}
            assert ratings == {first: (2, ""), second: (2, ""),
                               other: (2, "Otto was unhappy")}  # the scores stay
        async with root.http.get(f"{floor.url}/api/chat/conversations/{other}/messages") as r:
            assert r.status == 200
            assert "Otto" in await r.text()
        async with root.http.get(f"{floor.url}/api/chat/attachments/{keys1[0]}") as r:
            assert r.status == 404
        # the erased chats still count (and the one in progress started since)
        assert await chats_started(root) == started + 1

        # Idempotent: nothing left to do, by visitor id or by chat id.
        for body in ({"by": "visitor", "value": "cust-9"}, {"by": "chat", "value": first}):
            status, again = await erase(root, body)
            assert status == 200 and again["nothing_to_do"], again

        # The audit says who, how and how much; never what was erased.
        entries = await floor.server.audit.list(action_prefix="chat.erase")
        ok = [e for e in entries if e.outcome == "ok"]
        assert len(ok) == 1 and ok[0].actor == "root" and ok[0].target == "visitor"
        assert sorted(ok[0].detail["conversation_ids"]) == sorted([first, second])
        text = json.dumps([e.detail for e in entries]) + "".join(e.target for e in entries)
        for secret in ("cust-9", "Vera", "vera@example.com"):
            assert secret not in text
        attachments_root = files.root

    # The command line, on the same database: the other visitor by address.
    config = tmp_path / "erase.yaml"
    config.write_text(f"database:\n  url: '{url}'\nchat:\n  attachments_dir: "
                      f"'{attachments_root}'\n")
    args = ["chat", "erase", "--email", "OTTO@example.com", "--config", str(config)]
    db = Database(url)
    try:
        before = await snapshot(db)
        assert await asyncio.to_thread(main, [*args, "--dry-run"]) == 0
        assert await snapshot(db) == before
        assert all((attachments_root / k[:2] / k).is_file() for k in other_keys)
        assert await asyncio.to_thread(main, args) == 0
        assert not any((attachments_root / k[:2] / k).exists() for k in other_keys)
        after = await snapshot(db)
        assert after["files"] == [] and after["left"] == []
        assert {cid: vid for cid, vid, _ in after["conversations"]}[other] == ""
        assert await asyncio.to_thread(main, args) == 0  # again: nothing to do
        # The chat left waiting when the server stopped is not ended: refused (status 3).
        assert await asyncio.to_thread(
            main, ["chat", "erase", "--visitor", "busy-1", "--config", str(config)]) == 3
        actors = [(e.actor, e.outcome) for e in await AuditLog(db).list(
            action_prefix="chat.erase")]
        assert ("cli", "ok") in actors and ("cli", "refused") in actors
    finally:
        await db.close()


async def test_notes_go_and_a_chat_in_wrap_up_waits(tmp_path):
    # Queue web has a 30 s wrap-up: the chat has ended, its agent's notes are still to come.
    channel = site_channel(auto_accept=True)
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        alice = await floor.agent("alice", "a1")
        root = await floor.agent("root", None, login=False, role="admin")
        sue = await floor.agent("sue", None, login=False, role="supervisor")
        v = floor.visitor()
        assert (await v.start({"name": "Vera Secret", "email": "Vera@Example.com"}))[0] == 201
        if (await v.connect())["state"] != "active":  # the welcome may already say so
            await v.active()
        cid = v.conversation_id
        await sue.post(f"/api/chat/conversations/{cid}/note", {"text": "Vera is upset"},
                       expect=201)
        await v.ws.send_json({"type": "close"})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        async with asyncio.timeout(T):
            while (await floor.chat.store.get(cid))[0].closed_at is None:
                await asyncio.sleep(0.05)
        status, refused = await erase(root, {"by": "chat", "value": cid})
        assert status == 409 and "wrap-up" in refused["error"], refused

        await alice.post("/api/agents/a1/wrapup", {"disposition": "solved",
                                                   "notes": "Vera Secret wants a refund"})
        engine = floor.server.routing.engine
        async with asyncio.timeout(T):  # the wrap-up's event is in the log
            while engine.agents["a1"].slots or not await wrapup_notes(floor.server.db, cid):
                await asyncio.sleep(0.05)
        status, done = await erase(root, {"by": "email", "value": "vera@example.COM"})
        assert status == 200, done
        assert done["conversation_ids"] == [cid] and done["notes"] == 1
        assert done["events"] == 2  # the connect event's data, the wrap-up's notes
        assert await wrapup_notes(floor.server.db, cid) == [None]
        async with floor.server.db.session() as s:
            (data,) = (await s.execute(sa.select(RoutingInteractionRow.data).where(
                RoutingInteractionRow.id == cid))).scalars().all()
        assert data == {"chat_channel": "site"}
        status, again = await erase(root, {"by": "chat", "value": cid})
        assert status == 200 and again["nothing_to_do"]


async def wrapup_notes(db: Database, cid: str) -> list[Any]:
    async with db.session() as s:
        payloads = (await s.execute(sa.select(RoutingEventRow.payload).where(
            RoutingEventRow.interaction_id == cid, RoutingEventRow.kind == "wrapup-done"))
        ).scalars().all()
    return [p.get("notes") for p in payloads]

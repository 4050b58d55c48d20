"""A visitor's data over the server: the periodic purge takes a chat closed longer ago than
``chat.retention_days`` (audited as the system), ``contactcenter chat purge`` does the same
from the command line, the chat's attachments on disk included (audited as ``cli``), and an admin exports one visitor's chats and
messages left as JSON (audited; supervisors may not)."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa
from chat_floor import T, chat_floor, site_channel

from contactcenter.chat.model import ConversationRecord, ConversationState
from contactcenter.chat.retention import DAY_S
from contactcenter.chat.settings import ChatHours
from contactcenter.chat.store import ChatStore
from contactcenter.chat.tables import ChatAttachmentRow, ChatConversationRow
from contactcenter.cli import main
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database
from contactcenter.storage.schema import ensure_schema


async def test_the_server_purges_chats_closed_before_the_retention(tmp_path):
    async with chat_floor(tmp_path, retention_days=30, retention_check_s=0.2) as floor:
        v = floor.visitor()
        assert (await v.start())[0] == 201
        await v.connect()
        await v.say("hello", client_id="c1")
        await v.frame(lambda f: f["type"] == "ack")
        await v.ws.send_json({"type": "close"})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        cid = v.conversation_id
        async with asyncio.timeout(T):  # the chat's end is stored after the frame
            while (await floor.chat.store.get(cid))[0].closed_at is None:
                await asyncio.sleep(0.05)
        kept = floor.visitor()
        assert (await kept.start())[0] == 201  # open: never purged
        long_ago = floor.clock.time() - 40 * DAY_S
        async with floor.server.db.session() as s, s.begin():
            await s.execute(sa.update(ChatConversationRow)
                            .where(ChatConversationRow.id == cid).values(closed_at=long_ago))
        async with asyncio.timeout(T):  # the pass's audit entry is its last step
            while not (entries := await floor.server.audit.list(action_prefix="chat.purge")):
                await asyncio.sleep(0.05)
        (entry,) = entries
        assert entry.actor == "system" and entry.detail["conversations"] == 1
        assert await floor.chat.store.get(cid) is None
        assert await floor.chat.transcript(cid) == []
        assert await floor.chat.store.get(kept.conversation_id) is not None


def test_the_purge_command_applies_the_retention(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}"
    config = tmp_path / "cc.yaml"
    files = tmp_path / "attachments"
    config.write_text(f"database:\n  url: '{url}'\nchat:\n  retention_days: 7\n"
                      f"  attachments_dir: '{files}'\n")
    key = "ab" + "0" * 30
    (files / key[:2]).mkdir(parents=True)
    (files / key[:2] / key).write_bytes(b"%PDF-1.4 the old chat's file")

    async def setup() -> None:
        db = Database(url)
        await ensure_schema(db)
        store = ChatStore(db)
        for cid, closed in (("old", 1.0), ("new", None)):
            await store.create(ConversationRecord(
                id=cid, channel="site", visitor_id="v1", visitor_name="Vera", answers=(),
                attributes={}, page="", queue="web",
                state=ConversationState.CLOSED if closed else ConversationState.WAITING,
                created_at=1.0, closed_at=closed), "0" * 64)
        async with db.session() as s, s.begin():
            s.add(ChatAttachmentRow(key=key, conversation_id="old", sender="visitor",
                                    agent_id=None, filename="a.pdf", kind="pdf",
                                    content_type="application/pdf", size=28,
                                    sha256="0" * 64, created_at=1.0))
        await db.close()

    async def remaining() -> tuple[list[str], list[str]]:
        db = Database(url)
        async with db.session() as s:
            ids = list((await s.execute(sa.select(ChatConversationRow.id))).scalars())
        actors = [e.actor for e in await AuditLog(db).list(action_prefix="chat.purge")]
        await db.close()
        return sorted(ids), actors

    asyncio.run(setup())
    assert main(["chat", "purge", "--config", str(config), "--dry-run"]) == 0
    assert "would purge 1 closed chat(s)" in capsys.readouterr().out
    assert asyncio.run(remaining()) == (["new", "old"], [])
    assert (files / key[:2] / key).exists()
    assert main(["chat", "purge", "--config", str(config)]) == 0
    assert "purged 1 closed chat(s) and 0 handled message(s) left older than 7 days" \
        in capsys.readouterr().out
    assert asyncio.run(remaining()) == (["new"], ["cli"])
    assert not (files / key[:2] / key).exists()  # the purged chat's file went with it


async def test_an_admin_exports_one_visitor_s_chats_and_messages_left(tmp_path):
    # Outside hours a start is refused: leave a message first, then open the hours.
    channel = site_channel(hours=ChatHours(weekly={"mon-sun": "closed"}))
    async with chat_floor(tmp_path, channels=[channel]) as floor:
        v = floor.visitor()
        async with v.http.post(f"{v.base}/messages", json={
                "answers": {"name": "Vera", "email": "vera@example.com"},
                "message": "call me", "visitor_id": "cust-9"}) as r:
            assert r.status == 201
    open_channel = site_channel()
    async with chat_floor(tmp_path, channels=[open_channel]) as floor:
        v = floor.visitor()
        assert (await v.start(visitor_id="cust-9"))[0] == 201
        await v.connect()
        await v.say("my data, please", client_id="c1")
        await v.frame(lambda f: f["type"] == "ack")
        assert (await floor.visitor().start(visitor_id="someone-else"))[0] == 201
        root = await floor.agent("root", None, login=False, role="admin")
        sue = await floor.agent("sue", None, login=False, role="supervisor")
        async with sue.http.get(f"{floor.url}/api/chat/visitors/cust-9/export") as r:
            assert r.status == 403
        async with root.http.get(f"{floor.url}/api/chat/visitors/cust-9/export") as r:
            assert r.status == 200
            assert r.headers["Content-Disposition"] == \
                'attachment; filename="chat-visitor-cust-9.json"'
            data = json.loads(await r.text())
        assert data["visitor_id"] == "cust-9"
        (conv,) = data["conversations"]
        assert conv["id"] == v.conversation_id and conv["visitor_name"] == "Vera"
        assert [m["text"] for m in conv["messages"]] == ["my data, please"]
        assert [m["text"] for m in data["messages_left"]] == ["call me"]
        (entry,) = await floor.server.audit.list(action_prefix="chat.export")
        assert (entry.actor, entry.target, entry.detail) == (
            "root", "cust-9", {"conversations": 1, "messages_left": 1})

"""The chat's retention purge on each database (SQLite, and PostgreSQL with
CC_TEST_POSTGRES_URL): closed chats and handled messages left older than the retention go with
their messages; open chats, recent ones and messages nobody handled stay; a dry run counts
only; a purge is audited, an empty one is not."""

from __future__ import annotations

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.offline import OfflineStore, new_message
from contactcenter.chat.retention import DAY_S, purge
from contactcenter.chat.store import ChatStore
from contactcenter.storage.audit import AuditLog

NOW = 1_800_000_000.0
OLD = NOW - 40 * DAY_S
RECENT = NOW - 1 * DAY_S


async def conversation(store: ChatStore, cid: str, created: float, closed: float | None) -> None:
    state = ConversationState.CLOSED if closed is not None else ConversationState.ACTIVE
    await store.create(ConversationRecord(
        id=cid, channel="site", visitor_id="v1", visitor_name="Vera", answers=(),
        attributes={}, page="", queue="web", state=state, created_at=created,
        closed_at=closed, closed_by="visitor" if closed else None), "0" * 64)
    for seq in (1, 2):
        await store.append(Message(cid, seq, Sender.VISITOR, f"{cid} {seq}", created + seq,
                                   "Vera"))


async def test_purge_keeps_what_is_open_recent_or_unhandled(database):
    store, offline, audit = ChatStore(database), OfflineStore(database), AuditLog(database)
    await conversation(store, "old", OLD, OLD + 60)
    await conversation(store, "recent", OLD, RECENT)
    await conversation(store, "open", OLD, None)
    left = {}
    for key, created, done in (("old-done", OLD, True), ("old-open", OLD, False),
                               ("recent-done", RECENT, True)):
        msg = new_message(channel="site", queue="web", visitor_id="v1", visitor_name="Olga",
                          answers=(), text=key, page="", reason="closed", created_at=created)
        await offline.add(msg)
        if done:
            await offline.mark_done(msg.id, "sue", created + 1)
        left[key] = msg.id

    dry = await purge(database, 30, NOW, audit, "test", dry_run=True)
    assert (dry.conversations, dry.messages_left, dry.dry_run) == (1, 1, True)
    assert await store.get("old") is not None and await audit.list() == []

    told: list[list[str]] = []

    async def before_delete(ids: list[str]) -> None:
        told.append(ids)

    report = await purge(database, 30, NOW, audit, "test", before_delete=before_delete)
    assert (report.conversations, report.messages_left) == (1, 1)
    assert told == [["old"]]
    assert await store.get("old") is None and await store.messages_after("old") == []
    for kept in ("recent", "open"):
        assert await store.get(kept) is not None
        assert len(await store.messages_after(kept)) == 2
    remaining = {m.text for m in await offline.listing(None, include_done=True)}
    assert remaining == {"old-open", "recent-done"}
    (entry,) = await audit.list(action_prefix="chat.purge")
    assert (entry.actor, entry.outcome) == ("test", "ok")
    assert entry.detail["conversations"] == 1 and entry.detail["messages_left"] == 1
    assert entry.detail["cutoff"] == NOW - 30 * DAY_S

    again = await purge(database, 30, NOW, audit, "test")
    assert (again.conversations, again.messages_left) == (0, 0)
    assert len(await audit.list(action_prefix="chat.purge")) == 1
    assert (await purge(database, 0, NOW, audit, "test")).conversations == 0  # 0: keep all

"""A supervisor's private note is stored flagged ``note`` on each database (SQLite, and
PostgreSQL with CC_TEST_POSTGRES_URL) and read back as such, in its place in the numbering."""

from __future__ import annotations

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.store import ChatStore


async def test_a_note_keeps_its_flag_and_its_number(database):
    store = ChatStore(database)
    conv = ConversationRecord(id="c1", channel="site", visitor_id="v1", visitor_name="Vera",
                              answers=(), attributes={}, page="", queue="web",
                              state=ConversationState.ACTIVE, created_at=1.0, agent_id="a1")
    await store.create(conv, "0" * 64)
    for seq, sender, name in ((1, Sender.VISITOR, "Vera"), (2, Sender.NOTE, "sue"),
                              (3, Sender.AGENT, "Alice")):
        await store.append(Message("c1", seq, sender, f"text {seq}", 1.0 + seq, name))
    got = await store.messages_after("c1")
    assert [(m.seq, m.sender, m.name) for m in got] == [
        (1, Sender.VISITOR, "Vera"), (2, Sender.NOTE, "sue"), (3, Sender.AGENT, "Alice")]
    assert [m.as_json()["from"] for m in got] == ["visitor", "note", "agent"]

"""The bot's columns and its outcomes per flow on each database (SQLite, and PostgreSQL with
CC_TEST_POSTGRES_URL): what ``GET /api/chat/bots`` answers."""

from __future__ import annotations

import dataclasses

from contactcenter.chat.bot import outcomes
from contactcenter.chat.model import ConversationRecord, ConversationState
from contactcenter.chat.store import ChatStore


def conversation(n: int, flow: str | None, at: float) -> ConversationRecord:
    return ConversationRecord(
        id=f"c{n}", channel="site", visitor_id=f"v{n}", visitor_name="Vera", answers=(),
        attributes={}, page="", queue="web", state=ConversationState.BOT, created_at=at,
        bot_flow=flow)


async def test_outcomes_count_each_flows_deflections(database):
    store = ChatStore(database)
    ends = ["deflected", "deflected", "handover", None, "abandoned"]
    for n, outcome in enumerate(ends):
        record = conversation(n, "help_bot", 1000.0 + n)
        await store.create(record, "h")
        if outcome is not None:
            await store.save_state(dataclasses.replace(
                record, state=ConversationState.CLOSED, bot_outcome=outcome))
    await store.create(conversation(9, "other", 500.0), "h")
    await store.create(conversation(10, None, 1000.0), "h")  # no bot: not counted

    help_bot, other = await outcomes(database)
    assert help_bot == {"flow": "help_bot", "conversations": 5, "talking": 1, "handover": 1,
                        "deflected": 2, "ended": 0, "abandoned": 1, "deflection_rate": 0.5}
    assert (other["flow"], other["talking"], other["deflection_rate"]) == ("other", 1, None)
    assert [e["flow"] for e in await outcomes(database, since=1000.0)] == ["help_bot"]
    found = await store.get("c0")
    assert found is not None and (found[0].bot_flow, found[0].bot_outcome) == (
        "help_bot", "deflected")

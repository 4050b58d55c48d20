"""The chats report (docs/reports.md, Chats) on conversations and messages written through the
chat channel's store at chosen times, against values worked out by hand: a chat that began the
day before counts its first response and its end on the day, one still open counts its start
and first response, one the visitor left before any agent wrote is unanswered; and a report
read in the middle of the day counts only what happened by then."""

from __future__ import annotations

import dataclasses
import datetime as dt

from report_helpers import utc
from scenario import by_key

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.store import ChatStore
from contactcenter.reports.chats import ChatReader
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery

M = utc("2026-06-04 00:00:00")
H = 3600.0
DAY = dt.date(2026, 6, 4)


async def play(database) -> None:  # type: ignore[no-untyped-def]
    store = ChatStore(database)
    seqs: dict[str, int] = {}

    async def start(cid: str, queue: str, at: float) -> ConversationRecord:
        conv = ConversationRecord(cid, "web", f"v-{cid}", "Visitor", (), {}, "", queue,
                                  ConversationState.WAITING, at)
        await store.create(conv, "0" * 64)
        return conv

    async def say(cid: str, sender: Sender, at: float) -> None:
        seqs[cid] = seqs.get(cid, 0) + 1
        await store.append(Message(cid, seqs[cid], sender, "hello", at,
                                   agent_id="a1" if sender is Sender.AGENT else None))

    async def close(conv: ConversationRecord, at: float, by: str) -> None:
        await store.save_state(dataclasses.replace(
            conv, state=ConversationState.CLOSED, closed_at=at, closed_by=by))

    k0 = await start("k0", "web", M - 600)  # the day before, 23:50
    await say("k0", Sender.VISITOR, M - 590)
    await say("k0", Sender.AGENT, M + 30)  # first response 630 s, on the day
    await close(k0, M + 300, "visitor")  # 900 s
    t = M + 9 * H
    k1 = await start("k1", "web", t)
    await say("k1", Sender.VISITOR, t + 10)
    await say("k1", Sender.AGENT, t + 40)  # 40 s
    await close(k1, t + 600, "agent")  # 600 s
    k2 = await start("k2", "web", t + 100)
    await say("k2", Sender.VISITOR, t + 110)
    await close(k2, t + 130, "visitor")  # 30 s, no agent wrote
    k3 = await start("k3", "sales", t + 200)
    await say("k3", Sender.AGENT, t + 260)  # 60 s
    await say("k3", Sender.AGENT, t + 300)  # not the first
    await close(k3, t + 2000, "idle")  # 1800 s
    k4 = await start("k4", "web", M + 10 * H)
    await store.save_state(dataclasses.replace(k4, state=ConversationState.ACTIVE,
                                               agent_id="a1", accepted_at=M + 10 * H + 5))
    await say("k4", Sender.AGENT, M + 10 * H + 20)  # 20 s, still open


async def test_chat_figures_equal_the_hand_computed_table(database):
    await play(database)
    after = ChatReader(database, Calendar("UTC"), lambda: M + 48 * H)

    day = await after.report(ReportQuery(DAY, DAY, "day", "none"))
    expected = {
        "period": "2026-06-04", "started": 4, "first_responses": 4,
        "avg_first_response_s": 187.5,  # (630 + 40 + 60 + 20) / 4
        "longest_first_response_s": 630.0, "closed": 4, "closed_unanswered": 1,
        "avg_duration_s": 832.5,  # (900 + 600 + 30 + 1800) / 4
        "closed_by_visitor": 2, "closed_by_agent": 1, "closed_other": 1,
    }
    assert len(day.rows) == 1
    assert {k: day.rows[0][k] for k in expected} == expected
    assert {k: day.totals[k] for k in expected if k != "period"} == \
        {k: v for k, v in expected.items() if k != "period"}

    queues = by_key((await after.report(ReportQuery(DAY, DAY, "day", "queue"))).rows, "queue")
    assert {q: (r["started"], r["first_responses"], r["closed"]) for q, r in queues.items()} \
        == {"web": (3, 3, 3), "sales": (1, 1, 1)}
    hours = {r["period"][11:16]: r for r in
             (await after.report(ReportQuery(DAY, DAY, "hour", "none"))).rows}
    assert sorted(hours) == ["00:00", "09:00", "10:00"]
    assert (hours["00:00"]["started"], hours["00:00"]["first_responses"],
            hours["00:00"]["closed"]) == (0, 1, 1)
    tickets_only = await after.report(ReportQuery(DAY, DAY, "day", "none",
                                                  channels=("ticket",)))
    assert tickets_only.rows == []

    midday = ChatReader(database, Calendar("UTC"), lambda: M + 9 * H + 150)
    total = (await midday.report(ReportQuery(DAY, DAY, "total", "none"))).totals
    # k1 and k2 started; k0 and k1 got their first response; k0 and k2 ended (k1 later).
    assert (total["started"], total["first_responses"], total["closed"]) == (2, 2, 2)

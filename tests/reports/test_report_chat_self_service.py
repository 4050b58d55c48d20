"""The chats report's self-service figures (docs/reports.md, Chats): conversations the
knowledge base's answers settled before a person (``faq_outcome`` answered), those shown
answers at all, and the deflection rate, written through the chat channel's store at chosen
times and checked against values worked out by hand. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import dataclasses
import datetime as dt

from report_helpers import utc
from scenario import by_key

from contactcenter.chat.faq import SELF_SERVED
from contactcenter.chat.model import ConversationRecord, ConversationState
from contactcenter.chat.store import ChatStore
from contactcenter.reports.chats import ChatReader
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery

M = utc("2026-06-04 00:00:00")
H = 3600.0
DAY = dt.date(2026, 6, 4)


async def play(database) -> None:  # type: ignore[no-untyped-def]
    store = ChatStore(database)

    async def start(cid: str, queue: str, at: float, faq: str | None,
                    bot: str | None = None) -> None:
        conv = ConversationRecord(cid, "web", f"v-{cid}", "Visitor", (), {}, "", queue,
                                  ConversationState.WAITING, at, faq_outcome=faq,
                                  bot_flow="help_bot" if bot else None, bot_outcome=bot)
        if faq == "answered" or bot == "deflected":  # closed, as chat.faq and chat.bot do
            conv = dataclasses.replace(conv, state=ConversationState.CLOSED, closed_at=at,
                                       closed_by=SELF_SERVED if faq else "bot")
        await store.create(conv, "0" * 64)

    await start("s0", "web", M - 600, "answered")  # the day before: not counted
    await start("s1", "web", M + 9 * H, "answered")
    await start("s2", "web", M + 9 * H + 60, "answered")
    await start("s3", "web", M + 9 * H + 120, "person")  # read the answers, asked a person
    await start("s4", "web", M + 10 * H, "none")  # nothing matched
    await start("s5", "web", M + 10 * H + 60, None)  # no answers offered
    await start("s6", "sales", M + 10 * H + 120, "answered")
    await start("s7", "sales", M + 10 * H + 180, None)
    await start("b1", "sales", M + 11 * H, None, "deflected")  # the bot's article answered
    await start("b2", "sales", M + 11 * H + 60, None, "handover")  # the bot handed it over


async def test_self_served_chats_and_deflection_equal_the_hand_computed_table(database):
    await play(database)
    reader = ChatReader(database, Calendar("UTC"), lambda: M + 48 * H)

    day = await reader.report(ReportQuery(DAY, DAY, "day", "none"))
    expected = {"started": 9, "faq_shown": 5, "bot_talked": 2, "bot_deflected": 1,
                "self_served": 4, "deflection_pct": 44.4,
                "closed": 4, "closed_unanswered": 4, "closed_other": 4}
    assert {k: day.rows[0][k] for k in expected} == expected
    assert {k: day.totals[k] for k in expected} == expected

    queues = by_key((await reader.report(ReportQuery(DAY, DAY, "day", "queue"))).rows, "queue")
    assert {q: (r["started"], r["faq_shown"], r["self_served"], r["deflection_pct"])
            for q, r in queues.items()} == {"web": (5, 4, 2, 40.0), "sales": (4, 1, 2, 50.0)}

    hours = {r["period"][11:16]: r for r in
             (await reader.report(ReportQuery(DAY, DAY, "hour", "none"))).rows}
    assert {h: (r["self_served"], r["deflection_pct"]) for h, r in hours.items()} == {
        "09:00": (2, 66.7), "10:00": (1, 25.0), "11:00": (1, 50.0)}
    only_sales = await reader.report(ReportQuery(DAY, DAY, "day", "none", queues=("sales",)))
    assert (only_sales.totals["self_served"], only_sales.totals["deflection_pct"]) == (2, 50.0)

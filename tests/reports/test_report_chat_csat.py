"""The chats report's CSAT figures (docs/reports.md, Chats): rating forms offered at the end of
chats and the visitors' answers, per queue and per period, against values worked out by hand;
the CSV has the same values. SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import csv
import datetime as dt
import io

from report_helpers import utc
from scenario import by_key

from contactcenter.chat.model import ConversationRecord, ConversationState
from contactcenter.chat.store import ChatStore
from contactcenter.chat.tables import ChatRatingRow
from contactcenter.reports.chats import ChatReader
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery
from contactcenter.reports.routes import report_csv
from contactcenter.storage.database import Database

M = utc("2026-06-04 00:00:00")
H = 3600.0
DAY = dt.date(2026, 6, 4)


async def play(database: Database) -> None:
    chats = ChatStore(database)

    async def rated(cid: str, queue: str, offered: float, rating: int | None = None,
                    answered: float | None = None) -> None:
        await chats.create(ConversationRecord(cid, "web", f"v-{cid}", "Visitor", (), {}, "",
                                              queue, ConversationState.CLOSED, offered - 600),
                           "0" * 64)
        async with database.session() as s, s.begin():
            s.add(ChatRatingRow(conversation_id=cid, channel="web", queue=queue, agent_id="a1",
                                offered_at=offered, rating=rating, comment="",
                                answered_at=answered))

    await rated("r0", "web", M - 60, 5, M - 30)  # the day before: outside
    await rated("r1", "web", M + 9 * H, 5, M + 9 * H + 60)
    await rated("r2", "web", M + 9 * H + 100, 4, M + 9 * H + 200)
    await rated("r3", "web", M + 9 * H + 300, 2, M + 9 * H + 1000)  # answered at 09:16
    await rated("r4", "web", M + 9 * H + 400)  # skipped
    await rated("r5", "sales", M + 10 * H, 1, M + 10 * H + 60)
    await rated("r6", "sales", M + 10 * H + 60)  # skipped
    await rated("r7", "sales", M + 11 * H + 60, 5, M + 11 * H + 1800)  # answered at 11:30
    await rated("r8", "sales", M + 13 * H)  # after the report is read: not yet


async def test_csat_score_and_response_rate_of_chats(database):
    await play(database)
    reader = ChatReader(database, Calendar("UTC"), lambda: M + 12 * H)

    total = (await reader.report(ReportQuery(DAY, DAY, "total", "none"))).totals
    # 7 offered by 12:00 (r1..r7); 5 of them answered (all but r4 and r6): 71.4 %.
    # Answers given: 5, 4, 2, 1, 5 -> 3 satisfied of 5 (60 %), average 17 / 5 = 3.4.
    assert {k: total[k] for k in ("surveys", "csat_response_pct", "ratings",
                                  "ratings_satisfied", "csat_pct", "csat_avg")} == {
        "surveys": 7, "csat_response_pct": 71.4, "ratings": 5, "ratings_satisfied": 3,
        "csat_pct": 60.0, "csat_avg": 3.4}

    queues = by_key((await reader.report(ReportQuery(DAY, DAY, "day", "queue"))).rows, "queue")
    assert {q: (r["surveys"], r["csat_response_pct"], r["ratings"], r["csat_pct"],
                r["csat_avg"]) for q, r in queues.items()} == {
        "web": (4, 75.0, 3, 66.7, 3.67), "sales": (3, 66.7, 2, 50.0, 3.0)}

    report = await reader.report(ReportQuery(DAY, DAY, "interval", "none"))
    rows = {r["period"][11:16]: (r["surveys"], r["ratings"], r["csat_avg"])
            for r in report.rows if r["surveys"] or r["ratings"]}  # (others: chats started)
    assert rows == {"09:00": (4, 2, 4.5), "09:15": (0, 1, 2.0), "10:00": (2, 1, 1.0),
                    "11:00": (1, 0, None), "11:30": (0, 1, 5.0)}

    sheet = list(csv.reader(io.StringIO(report_csv(report))))
    head = sheet[0]
    assert [sheet[-1][head.index(c)] for c in ("surveys", "csat_response_pct", "csat_pct",
                                               "csat_avg")] == ["7", "71.4", "60.0", "3.4"]


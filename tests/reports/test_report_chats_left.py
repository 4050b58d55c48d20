"""The chats report counts the messages visitors left (docs/reports.md, Chats): messages left,
those left from the line, and offered (conversations started plus messages left while no live
chat was taken), per queue and per period, against counts worked out by hand; the CSV has the
very same values. SQLite, and PostgreSQL when CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import csv
import datetime as dt
import io

from report_helpers import utc
from scenario import by_key

from contactcenter.chat.model import ConversationRecord, ConversationState
from contactcenter.chat.offline import OfflineStore, new_message
from contactcenter.chat.store import ChatStore
from contactcenter.reports.chats import ChatReader
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery
from contactcenter.reports.routes import report_csv
from contactcenter.storage.database import Database

M = utc("2026-06-04 00:00:00")
H = 3600.0
DAY = dt.date(2026, 6, 4)


async def play(database: Database) -> None:
    chats, left = ChatStore(database), OfflineStore(database)

    async def start(cid: str, queue: str, at: float) -> None:
        await chats.create(ConversationRecord(cid, "web", f"v-{cid}", "Visitor", (), {}, "",
                                              queue, ConversationState.WAITING, at), "0" * 64)

    async def leave(queue: str, reason: str, at: float) -> None:
        await left.add(new_message(channel="web", queue=queue, visitor_id="v", visitor_name="V",
                                   answers=(), text="call me", page="", reason=reason,
                                   created_at=at))

    await leave("web", "closed", M - 60)  # the day before: outside
    await leave("web", "closed", M + 7 * H)  # before the hours
    await leave("web", "holiday", M + 7 * H + 900)  # 07:15
    await start("k1", "web", M + 9 * H)
    await start("k2", "web", M + 9 * H + 60)
    await leave("web", "waited", M + 9 * H + 400)  # k2's visitor, tired of waiting
    await start("k3", "sales", M + 9 * H + 120)
    await leave("sales", "nobody", M + 9 * H + 900)  # 09:15: the next interval
    await leave("sales", "closed", M + 20 * H)  # after the report is read: not yet


async def test_messages_left_and_offered(database):
    await play(database)
    reader = ChatReader(database, Calendar("UTC"), lambda: M + 12 * H)

    total = (await reader.report(ReportQuery(DAY, DAY, "total", "none"))).totals
    # offered: 3 started + 3 left while no live chat was taken (closed, holiday, nobody)
    assert (total["offered"], total["started"], total["left_messages"],
            total["left_from_line"]) == (6, 3, 4, 1)

    queues = by_key((await reader.report(ReportQuery(DAY, DAY, "day", "queue"))).rows, "queue")
    assert {q: (r["offered"], r["started"], r["left_messages"], r["left_from_line"])
            for q, r in queues.items()} == {"web": (4, 2, 3, 1), "sales": (2, 1, 1, 0)}

    report = await reader.report(ReportQuery(DAY, DAY, "interval", "none"))
    rows = {r["period"][11:16]: (r["offered"], r["started"], r["left_messages"])
            for r in report.rows}
    assert rows == {"07:00": (1, 0, 1), "07:15": (1, 0, 1), "09:00": (3, 3, 1),
                    "09:15": (1, 0, 1)}

    sheet = list(csv.reader(io.StringIO(report_csv(report))))
    head = sheet[0]
    assert [sheet[-1][head.index(c)] for c in ("offered", "left_messages", "left_from_line")] \
        == ["6", "4", "1"]
    by_period = {line[0][11:16]: line[head.index("left_messages")] for line in sheet[1:-1]}
    assert by_period == {"07:00": "1", "07:15": "1", "09:00": "1", "09:15": "1"}

    tickets_only = await reader.report(ReportQuery(DAY, DAY, "day", "none", channels=("ticket",)))
    assert tickets_only.totals["left_messages"] == 0
    sales = await reader.report(ReportQuery(DAY, DAY, "total", "none", queues=("sales",)))
    assert (sales.totals["offered"], sales.totals["left_messages"]) == (2, 1)

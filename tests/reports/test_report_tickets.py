"""The tickets report (docs/reports.md, Tickets) on tickets made and changed through the real
ticket service at chosen times, against values worked out by hand: created, first response
and resolution against each queue's targets, reopened, closed, the backlog at each period's
end (a change exactly on a boundary included) by age band, a queue change on the way, and a
report of today read in the middle of the day. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import datetime as dt

from report_helpers import utc
from scenario import by_key

from contactcenter.domain.clock import Clock
from contactcenter.reports.intervals import Calendar, period_label, periods
from contactcenter.reports.queries import ReportQuery
from contactcenter.reports.settings import ReportQueueSettings, ReportSettings
from contactcenter.reports.tickets import TicketReader
from contactcenter.tickets.model import (
    NewTicket,
    Origin,
    Requester,
    Status,
    TicketChanges,
    Visibility,
)
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import TicketStore

M = utc("2026-06-03 00:00:00")  # the day reported: 2026-06-03, UTC
H = 3600.0
DAY = dt.date(2026, 6, 3)
SETTINGS = ReportSettings(timezone="UTC", first_response_s=H, resolution_s=4 * H,
                          queues={"vip": ReportQueueSettings(first_response_s=600)})
ALICE = Who("Alice", agent_id="a1", staff=True)
SAM = Who("Sam", staff=True)


class SetClock(Clock):
    """The test's time: the ticket service stamps what this says."""

    value = 0.0

    def time(self) -> float:
        return self.value


async def play(database) -> None:  # type: ignore[no-untyped-def]
    clock = SetClock()
    service = TicketService(TicketSettings(queue="email"), TicketStore(database), clock)
    service.agents = lambda: {"a1"}
    service.queues = lambda: {"email", "vip"}

    async def create(at: float, queue: str) -> int:
        clock.value = at
        ticket = await service.create(NewTicket(
            f"ticket at {at}", Origin.WEB, queue, Requester("ann@customer.test", "Ann"),
            assignee="a1"), SAM)
        return ticket.id

    async def status(at: float, ticket: int, new: Status) -> None:
        clock.value = at
        await service.update(ticket, TicketChanges(status=new), SAM)

    async def reply(at: float, ticket: int) -> None:
        clock.value = at
        await service.write(ticket, "Here is what we found.", ALICE, Visibility.PUBLIC)

    t1 = await create(M - 2 * 24 * H + 9 * H, "email")  # never answered: open all along
    t5 = await create(M - 24 * H + 9 * H, "email")
    await status(M + 8 * H, t5, Status.SOLVED)  # 23 h: late (target 4 h)
    t2 = await create(M + 9 * H, "email")
    await reply(M + 9.5 * H, t2)  # first response 30 min: in target (1 h); "new" -> "open"
    await status(M + 11 * H, t2, Status.SOLVED)  # 2 h: in target
    await status(M + 12 * H, t2, Status.OPEN)  # reopened
    await status(M + 15 * H, t2, Status.SOLVED)  # 6 h since created: late
    await status(M + 16 * H, t2, Status.CLOSED)
    t3 = await create(M + 10 * H, "vip")
    await reply(M + 10 * H + 1200, t3)  # 20 min: late for vip (10 min)
    clock.value = M + 10.5 * H
    await service.update(t3, TicketChanges(queue="email"), SAM)
    await status(M + 10.75 * H, t3, Status.PENDING)  # waiting on the customer: still open
    await create(M + 13 * H, "email")
    assert t1 < t5 < t2 < t3


def reader(database, now: float) -> TicketReader:  # type: ignore[no-untyped-def]
    return TicketReader(database, Calendar("UTC"), SETTINGS, lambda: now)


async def test_ticket_figures_equal_the_hand_computed_table(database):
    await play(database)
    after = reader(database, M + 48 * H)

    day = await after.report(ReportQuery(DAY, DAY, "day", "none"))
    expected = {
        "period": "2026-06-03", "created": 3, "first_responses": 2,
        "avg_first_response_s": 1500.0,  # (1800 + 1200) / 2
        "first_response_in_target_pct": 50.0, "first_response_breaches": 1,
        "solved": 3, "avg_resolution_s": 37200.0,  # (82800 + 7200 + 21600) / 3
        "resolution_in_target_pct": 33.3, "resolution_breaches": 2,
        "reopened": 1, "closed": 1,
        "backlog": 3, "backlog_lt_1d": 2, "backlog_1d_3d": 1,  # t3, t4; t1
        "backlog_3d_7d": 0, "backlog_7d_plus": 0,
    }
    assert len(day.rows) == 1
    assert {k: day.rows[0][k] for k in expected} == expected
    assert {k: day.totals[k] for k in expected if k != "period"} == \
        {k: v for k, v in expected.items() if k != "period"}

    # By queue: t3 arrived in vip (its creation and first reply count there), then moved.
    queues = by_key((await after.report(ReportQuery(DAY, DAY, "day", "queue"))).rows, "queue")
    assert {q: (r["created"], r["first_responses"], r["first_response_breaches"], r["solved"],
                r["backlog"]) for q, r in queues.items()} == {
        "email": (2, 1, 0, 3, 3), "vip": (1, 1, 1, 0, 0)}
    only_vip = await after.report(ReportQuery(DAY, DAY, "day", "queue", queues=("vip",)))
    assert [(r["queue"], r["created"]) for r in only_vip.rows] == [("vip", 1)]
    voice = await after.report(ReportQuery(DAY, DAY, "day", "none", channels=("voice",)))
    assert voice.rows == [] and voice.totals["created"] == 0

    # By hour: the backlog at each hour's end. t5 solved at 08:00 sharp is in the backlog at
    # the end of 07:00-08:00 and counts solved in 08:00-09:00; t2 reopened at 12:00 sharp is
    # not in the backlog at 12:00.
    hours = {r["period"][11:16]: r for r in
             (await after.report(ReportQuery(DAY, DAY, "hour", "none"))).rows}
    assert len(hours) == 24  # every hour has a backlog (t1)
    assert (hours["07:00"]["backlog"], hours["07:00"]["backlog_lt_1d"],
            hours["07:00"]["backlog_1d_3d"]) == (2, 1, 1)  # t5 (23 h old), t1
    assert (hours["08:00"]["solved"], hours["08:00"]["backlog"]) == (1, 1)
    assert (hours["10:00"]["created"], hours["10:00"]["first_responses"],
            hours["10:00"]["backlog"]) == (1, 1, 3)  # t1, t2 (solved at 11:00 sharp), t3
    assert (hours["11:00"]["solved"], hours["11:00"]["backlog"]) == (1, 2)
    assert (hours["12:00"]["reopened"], hours["12:00"]["backlog"]) == (1, 3)
    assert (hours["23:00"]["backlog"], hours["23:00"]["backlog_lt_1d"]) == (3, 2)

    # Read in the middle of the day: the periods so far, the last one's backlog now.
    midday = reader(database, M + 13.5 * H)
    today = await midday.report(ReportQuery(DAY, DAY, "hour", "none"))
    assert today.rows[-1]["period"][11:16] == "13:00"
    assert today.totals["backlog"] == today.rows[-1]["backlog"] == 4  # t1, t2, t3, t4
    assert today.totals["created"] == 3 and today.totals["solved"] == 2


def test_periods_of_a_report_read_follow_local_time_across_a_dst_change():
    paris = Calendar("Europe/Paris")
    start, end = paris.day_range(dt.date(2026, 10, 25), dt.date(2026, 10, 25))
    hours = periods(paris, "hour", start, end, end + 1)
    assert len(hours) == 25 and len(periods(paris, "interval", start, end, end + 1)) == 100
    labels = [period_label(paris, "hour", DAY, DAY, p) for p in hours]
    assert labels[2:4] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    days = periods(paris, "day", *paris.day_range(dt.date(2026, 10, 24), dt.date(2026, 10, 26)),
                   end + 3600)
    assert [(p.key, p.snap - p.start) for p in days] == [
        ("2026-10-24", 86400), ("2026-10-25", 90000), ("2026-10-26", 3600)]  # read at 01:00
    assert periods(paris, "total", start, end, start - 1) == []  # nothing has begun

"""The tickets report's business-hours SLA and CSAT figures (docs/reports.md, Tickets) on
tickets made, answered, paused, solved, reopened, escalated and rated through the real ticket
service, its SLA sweep and its rating page at chosen times, against values worked out by hand.
The SLA calendar is Mon-Fri 09:00-17:00 UTC with a 1 h first-response and a 4 h resolution
target, so a ticket of Friday 16:30 answered on Monday 09:20 is in time in business hours and
late in calendar time. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import datetime as dt

from report_helpers import utc

from contactcenter.domain.clock import Clock
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery
from contactcenter.reports.settings import ReportSettings
from contactcenter.reports.tickets import TicketReader
from contactcenter.tickets import csat
from contactcenter.tickets.csat_routes import RatingPage
from contactcenter.tickets.escalation import SlaSweeper
from contactcenter.tickets.model import (
    NewTicket,
    Origin,
    Requester,
    Status,
    TicketChanges,
    Visibility,
)
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.settings import (
    CsatSettings,
    MailboxSettings,
    SlaCalendar,
    SlaPolicy,
    SlaSettings,
    TicketSettings,
)
from contactcenter.tickets.store import TicketStore

FRI = utc("2026-06-05 00:00:00")  # a Friday
MON = utc("2026-06-08 00:00:00")
H = 3600.0
DAY = dt.date(2026, 6, 8)
SECRET = "a secret of sixteen or more"
ALICE = Who("Alice", agent_id="a1", staff=True)
SAM = Who("Sam", staff=True)
# Calendar targets equal to the SLA's: the difference is the business hours alone.
REPORT = ReportSettings(timezone="UTC", first_response_s=H, resolution_s=4 * H)


class SetClock(Clock):
    """The test's time: the ticket service, the sweep and the rating page stamp it."""

    value = 0.0

    def time(self) -> float:
        return self.value


async def play(database) -> None:  # type: ignore[no-untyped-def]
    clock = SetClock()
    settings = TicketSettings(
        queue="email",
        mailboxes=[MailboxSettings(address="support@cc.test", name="S", queue="email")],
        sla=SlaSettings(calendar=SlaCalendar(timezone="UTC", weekly={"mon-fri": "09:00-17:00"}),
                        policies=[SlaPolicy(name="std", first_response_s=H,
                                            resolution_s=4 * H)]),
        csat=CsatSettings(enabled=True, secret=SECRET, public_url="https://cc.test"))
    service = TicketService(settings, TicketStore(database), clock)
    service.agents = lambda: {"a1"}
    service.queues = lambda: {"email"}
    page = RatingPage(service)

    async def create(at: float) -> int:
        clock.value = at
        ticket = await service.create(NewTicket(
            f"ticket at {at}", Origin.WEB, "email", Requester("ann@customer.test", "Ann"),
            assignee="a1"), SAM)
        return ticket.id

    async def status(at: float, ticket: int, new: Status) -> None:
        clock.value = at
        await service.update(ticket, TicketChanges(status=new), SAM)

    async def reply(at: float, ticket: int) -> None:
        clock.value = at
        await service.write(ticket, "Here is what we found.", ALICE, Visibility.PUBLIC)

    async def rate(at: float, ticket: int, rating: int) -> bool:
        clock.value = at
        survey = csat.verify(SECRET, csat.sign(SECRET, ticket, at))
        assert survey is not None
        return await page.answer(survey, rating, "")

    a = await create(FRI + 16.5 * H)  # due: first response Mon 09:30, resolution Mon 12:30
    await reply(MON + 9 * H + 1200, a)  # Mon 09:20: 50 business minutes, in time
    await status(MON + 11 * H, a, Status.SOLVED)  # 2.5 business hours: in time; survey 1
    assert await rate(MON + 12 * H, a, 5)

    b = await create(MON + 9 * H)  # due: first response 10:00, resolution 13:00
    await reply(MON + 10.5 * H, b)  # late
    await status(MON + 11 * H, b, Status.PENDING)  # waiting on the customer: paused
    await status(MON + 13 * H, b, Status.OPEN)  # 2 h paused: resolution due 15:00
    await status(MON + 14.5 * H, b, Status.SOLVED)  # in time (calendar: 5.5 h, late); survey 2
    assert await rate(MON + 15 * H, b, 2)
    assert not await rate(MON + 15 * H + 600, b, 4)  # the first answer stands

    c = await create(MON + 10 * H)  # resolution due 14:00
    await status(MON + 11 * H, c, Status.SOLVED)  # in time; survey 3
    await status(MON + 12 * H, c, Status.OPEN)  # reopened after 1 h: due 15:00
    await status(MON + 16 * H, c, Status.SOLVED)  # late; survey 4 (not rated yet)

    d = await create(MON + 9 * H)  # resolution due 13:00
    clock.value = MON + 13 * H + 600
    # 13:10: d's two breaches are written (and c's first response, never given, is overdue).
    assert await SlaSweeper(service, clock).sweep() == 2
    await status(MON + 13 * H + 1200, d, Status.SOLVED)  # 13:20: late (the breach); survey 5
    # Reopened at 16:20 after 3 business hours solved: its due time is now 16:00, so only the
    # breach row tells that the solve at 13:20 was late.
    await status(MON + 16 * H + 1200, d, Status.OPEN)
    await status(MON + 16 * H + 3000, d, Status.SOLVED)  # 16:50: late; survey 6


async def test_business_hours_sla_and_csat_equal_the_hand_computed_table(database):
    await play(database)
    reader = TicketReader(database, Calendar("UTC"), REPORT, lambda: MON + 48 * H)

    day = await reader.report(ReportQuery(DAY, DAY, "day", "none"))
    expected = {
        "created": 3, "first_responses": 2,
        "first_response_in_target_pct": 0.0,  # a: 2 days 16 h 50 min, b: 1.5 h
        "sla_first_response_pct": 50.0, "sla_first_response_breaches": 1,  # b
        "solved": 6,
        "resolution_in_target_pct": 16.7,  # calendar: only c's first (1 h) of 6
        "sla_resolution_pct": 50.0, "sla_resolution_breaches": 3,  # c's 2nd, d's both
        "surveys": 6, "csat_response_pct": 33.3,  # a's and b's of 6
        "ratings": 2, "ratings_satisfied": 1, "csat_pct": 50.0, "csat_avg": 3.5,  # 5 and 2
    }
    assert len(day.rows) == 1
    assert {k: day.rows[0][k] for k in expected} == expected
    assert {k: day.totals[k] for k in expected} == expected

    # By hour: each figure in the hour of its time.
    hours = {r["period"][11:16]: r for r in
             (await reader.report(ReportQuery(DAY, DAY, "hour", "none"))).rows}
    assert (hours["09:00"]["sla_first_response_pct"],
            hours["10:00"]["sla_first_response_pct"]) == (100.0, 0.0)
    assert (hours["11:00"]["sla_resolution_pct"], hours["11:00"]["surveys"],
            hours["11:00"]["csat_response_pct"]) == (100.0, 2, 50.0)  # a's and c's first
    assert (hours["12:00"]["ratings_satisfied"], hours["12:00"]["csat_pct"],
            hours["12:00"]["csat_avg"]) == (1, 100.0, 5.0)
    assert (hours["13:00"]["sla_resolution_breaches"], hours["14:00"]["sla_resolution_pct"],
            hours["15:00"]["ratings"], hours["16:00"]["sla_resolution_breaches"]) == (
        1, 100.0, 1, 2)
    assert (hours["15:00"]["ratings_satisfied"], hours["15:00"]["csat_pct"]) == (0, 0.0)
    assert hours["09:00"]["csat_pct"] is None  # nothing rated: no score

    # Friday: a was created; nothing of the SLA or CSAT happened then.
    friday = await reader.report(ReportQuery(dt.date(2026, 6, 5), dt.date(2026, 6, 5), "day",
                                             "none"))
    assert (friday.totals["created"], friday.totals["sla_first_response_pct"],
            friday.totals["surveys"]) == (1, None, 0)

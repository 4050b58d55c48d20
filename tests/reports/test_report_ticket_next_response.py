"""The tickets report's next-response figures (docs/reports.md, Tickets) on tickets made and
answered through the real ticket service, the customer's messages received as mail through the
real mailroom, and the real SLA sweep, at chosen times, against values worked out by hand: the
count and mean time of next responses, in the report's calendar target per queue, the SLA's
verdict in business time (the cycle the ticket's row holds, an earlier cycle judged by its
breach or warning row or by none), per hour, queue and agent (the reply's author), with an
autoreply and a message before the first answer starting nothing. SQLite, and PostgreSQL when
configured."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from report_helpers import utc
from scenario import by_key

from contactcenter.domain.clock import Clock
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery
from contactcenter.reports.settings import ReportQueueSettings, ReportSettings
from contactcenter.reports.tickets import TicketReader
from contactcenter.tickets.escalation import SlaSweeper
from contactcenter.tickets.inbound import Mailroom, ReceivedMail
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
    MailboxSettings,
    SlaCalendar,
    SlaPolicy,
    SlaSettings,
    TicketSettings,
)
from contactcenter.tickets.store import TicketStore

MON = utc("2026-06-08 00:00:00")  # a Monday
H = 3600.0
DAY = dt.date(2026, 6, 8)
SUPPORT = "support@cc.test"
SAM = Who("Sam", staff=True)
AGENTS = {"a1": Who("Alice", agent_id="a1", staff=True), "a2": Who("Bob", agent_id="a2",
                                                                   staff=True)}
# Calendar targets: each next response within 1 h, vip's within 10 min.
REPORT = ReportSettings(timezone="UTC", first_response_s=H, resolution_s=48 * H,
                        next_response_s=H,
                        queues={"vip": ReportQueueSettings(next_response_s=600)})
# Business hours Mon-Fri 09:00-17:00; "std" answers again within 2 h (warned at 1 h), "basic"
# (tickets tagged so) has no next-response target.
SLA = SlaSettings(calendar=SlaCalendar(timezone="UTC", weekly={"mon-fri": "09:00-17:00"}),
                  policies=[SlaPolicy(name="basic", tags=["basic"], first_response_s=H),
                            SlaPolicy(name="std", first_response_s=H, next_response_s=2 * H,
                                      resolution_s=40 * H)],
                  warn_at=0.5)


class SetClock(Clock):
    """The test's time: the ticket service, the mailroom and the sweep stamp it."""

    value = 0.0

    def time(self) -> float:
        return self.value


async def play(database) -> None:  # type: ignore[no-untyped-def]
    clock = SetClock()
    settings = TicketSettings(queue="email", acknowledge=False,
                              mailboxes=[MailboxSettings(address=SUPPORT, name="S",
                                                         queue="email")], sla=SLA)
    service = TicketService(settings, TicketStore(database), clock)
    service.agents = lambda: {"a1", "a2"}
    service.queues = lambda: {"email", "vip"}
    mailroom = Mailroom(service)
    sweeper = SlaSweeper(service, clock)
    who_wrote: dict[int, str] = {}

    async def create(at: float, queue: str, email: str, assignee: str,
                     tags: tuple[str, ...] = ()) -> int:
        clock.value = at
        ticket = await service.create(NewTicket(
            f"ticket of {email}", Origin.WEB, queue, Requester(email, email), tags=tags,
            assignee=assignee), SAM)
        who_wrote[ticket.id] = email
        return ticket.id

    async def reply(at: float, ticket: int, agent: str) -> None:
        clock.value = at
        await service.write(ticket, "Here is what we found.", AGENTS[agent], Visibility.PUBLIC)

    async def customer(at: float, ticket: int, *, automatic: bool = False) -> None:
        clock.value = at
        msg = EmailMessage()
        msg["From"], msg["To"] = who_wrote[ticket], SUPPORT
        msg["Subject"] = f"Re: [Ticket#{ticket}] ticket of {who_wrote[ticket]}"
        msg["Message-ID"] = f"<{ticket}.{at}@customer.test>"
        if automatic:
            msg["Auto-Submitted"] = "auto-replied"
        msg.set_content("I am out of the office." if automatic else "It still does it.")
        outcome = await mailroom.receive(ReceivedMail(who_wrote[ticket], (SUPPORT,),
                                                      msg.as_bytes()))
        assert (outcome.status, outcome.ticket_id) == ("reply", ticket)

    async def sweep(at: float, stages: int) -> None:
        clock.value = at
        assert await sweeper.sweep() == stages

    async def status(at: float, ticket: int, new: Status) -> None:
        clock.value = at
        await service.update(ticket, TicketChanges(status=new), SAM)

    def h(hours: float) -> float:
        """A wall time on Monday."""
        return MON + hours * H

    a = await create(h(9), "email", "ann@customer.test", "a1")
    b = await create(h(9), "vip", "bea@customer.test", "a2")
    c = await create(h(9), "email", "cyd@customer.test", "a1", tags=("basic",))
    await reply(h(9) + 300, b, "a2")  # first responses, not next ones
    await reply(h(9) + 600, a, "a1")
    await customer(h(9.25), c)  # before any answer: the first response's wait
    await customer(h(9) + 1200, b)  # b's cycle 1: due 11:20 (warned 10:20)
    await customer(h(9.5), a)  # a's cycle 1: due 11:30
    await reply(h(9.5), c, "a1")
    await status(h(9) + 2400, b, Status.PENDING)  # b waits on the customer: paused...
    await customer(h(10), a)  # a second message: a's cycle still counts from 09:30
    await customer(h(10), c)  # c's cycle: no target under "basic"
    await reply(h(10.25), a, "a1")  # a1: 2700 s; no stage fired: earlier cycle, in time
    await reply(h(10) + 1200, c, "a1")  # a1: 1200 s; no SLA
    await customer(h(10.5), a, automatic=True)  # an autoreply starts nothing
    await status(h(10) + 2400, b, Status.OPEN)  # ...for 1 h: due 12:20, warned 11:20
    await customer(h(11), a)  # a's cycle 2: due 13:00, warned 12:00
    await sweep(h(12) + 300, 2)  # a's and b's warnings
    await reply(h(12), b, "a2")  # a2: 9600 s, late for vip; SLA in time (the row's
    #                              cycle then; later judged by its warning row)
    await customer(h(13), b)  # b's cycle 2: due 15:00
    await sweep(h(13) + 600, 1)  # a's breach
    await reply(h(13.5), a, "a2")  # a2 wrote on a1's ticket: 9000 s, late (the breach row)
    await customer(h(14), a)  # a's cycle 3: due 16:00
    await reply(h(14.5), a, "a1")  # a1: 1800 s, in time (the row's cycle)
    await reply(h(15), a, "a1")  # nobody waited: no next response
    await reply(h(15.5), b, "a2")  # a2: 9000 s, late (the row's due, 15:00; no sweep ran)


async def test_next_response_figures_equal_the_hand_computed_table(database):
    await play(database)
    reader = TicketReader(database, Calendar("UTC"), REPORT, lambda: MON + 48 * H)
    keys = ("next_responses", "avg_next_response_s", "next_response_in_target_pct",
            "next_response_breaches", "sla_next_response_pct", "sla_next_response_breaches")

    day = await reader.report(ReportQuery(DAY, DAY, "day", "none"))
    # 2700, 1200, 9600, 9000, 1800, 9000; in 1 h (vip: 10 min): a's 1st and 3rd, c's; the SLA
    # judges five (not c's): late a's 2nd (breach row) and b's 2nd (the row's due).
    expected = (6, 5550.0, 50.0, 3, 60.0, 2)
    assert tuple(day.rows[0][k] for k in keys) == expected
    assert tuple(day.totals[k] for k in keys) == expected
    assert (day.totals["first_responses"], day.totals["sla_first_response_breaches"]) == (3, 0)
    assert [c for c in day.columns if "next" in c] == list(keys[:4]) + list(keys[4:])

    hours = {r["period"][11:16]: r for r in
             (await reader.report(ReportQuery(DAY, DAY, "hour", "none"))).rows}
    assert {hr: tuple(r[k] for k in keys) for hr, r in hours.items() if r["next_responses"]} == {
        "10:00": (2, 1950.0, 100.0, 0, 100.0, 0),  # a's 1st, c's (no SLA)
        "12:00": (1, 9600.0, 0.0, 1, 100.0, 0),  # b's 1st
        "13:00": (1, 9000.0, 0.0, 1, 0.0, 1),  # a's 2nd
        "14:00": (1, 1800.0, 100.0, 0, 100.0, 0),  # a's 3rd
        "15:00": (1, 9000.0, 0.0, 1, 0.0, 1),  # b's 2nd
    }

    queues = by_key((await reader.report(ReportQuery(DAY, DAY, "day", "queue"))).rows, "queue")
    assert {q: tuple(r[k] for k in keys) for q, r in queues.items()} == {
        "email": (4, 3675.0, 75.0, 1, 66.7, 1), "vip": (2, 9300.0, 0.0, 2, 50.0, 1)}

    # Per agent: the reply's author, whoever holds the ticket.
    agents = by_key((await reader.report(ReportQuery(DAY, DAY, "total", "agent"))).rows,
                    "agent")
    assert {a: tuple(r[k] for k in keys) for a, r in agents.items()} == {
        "a1": (3, 1900.0, 100.0, 0, 100.0, 0), "a2": (3, 9200.0, 0.0, 3, 33.3, 2)}
    only = await reader.report(ReportQuery(DAY, DAY, "total", "none", agents=("a2",)))
    assert tuple(only.totals[k] for k in keys) == (3, 9200.0, 0.0, 3, 33.3, 2)

    # Nothing answered again on Tuesday: the figures are there, empty.
    tuesday = await reader.report(ReportQuery(dt.date(2026, 6, 9), dt.date(2026, 6, 9), "day",
                                              "none"))
    assert tuple(tuesday.totals[k] for k in keys) == (0, None, None, 0, None, 0)

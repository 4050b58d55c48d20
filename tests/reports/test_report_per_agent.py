"""The chats and tickets reports per agent (docs/reports.md, Chats, Tickets: ``group=agent`` and
the ``agent`` filter) on chats written through the chat store and tickets made, reassigned,
answered, solved, reopened and rated through the real ticket service at chosen times, against
values worked out by hand: each agent's own figures, the figures that are no agent's left
empty, and the CSV equal to the JSON. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Any

from report_helpers import utc
from scenario import by_key

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.offline import OfflineStore, new_message
from contactcenter.chat.store import ChatStore
from contactcenter.chat.tables import ChatRatingRow
from contactcenter.domain.clock import Clock
from contactcenter.reports.chats import NOT_AGENTS as CHAT_NOT_AGENTS
from contactcenter.reports.chats import ChatReader
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import Report, ReportQuery
from contactcenter.reports.routes import report_csv
from contactcenter.reports.settings import ReportSettings
from contactcenter.reports.tickets import NOT_AGENTS as TICKET_NOT_AGENTS
from contactcenter.reports.tickets import TicketReader
from contactcenter.storage.database import Database
from contactcenter.tickets import csat
from contactcenter.tickets.csat_routes import RatingPage
from contactcenter.tickets.model import (
    NewTicket,
    Origin,
    Requester,
    Status,
    TicketChanges,
    Visibility,
)
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.settings import CsatSettings, MailboxSettings, TicketSettings
from contactcenter.tickets.store import TicketStore

M = utc("2026-06-04 00:00:00")
H = 3600.0
DAY = dt.date(2026, 6, 4)
SECRET = "a secret of sixteen or more"


def same_as_csv(report: Report) -> None:
    """The CSV of ``report`` has its columns and, cell for cell, its rows and totals."""
    sheet = list(csv.reader(io.StringIO(report_csv(report))))
    assert sheet[0] == list(report.columns)
    assert len(sheet) == len(report.rows) + 2
    for row, line in zip([*report.rows, report.totals], sheet[1:], strict=True):
        assert line == ["" if row[c] is None else str(row[c]) for c in report.columns]


async def play_chats(database: Database) -> None:
    store = ChatStore(database)
    t = M + 9 * H

    async def chat(cid: str, queue: str, agent: str | None, at: float, first: float | None,
                   closed: float, by: str, rating: int | None = None,
                   answered: float | None = None) -> None:
        conv = ConversationRecord(cid, "web", f"v-{cid}", "Visitor", (), {}, "", queue,
                                  ConversationState.WAITING, at)
        await store.create(conv, "0" * 64)
        await store.append(Message(cid, 1, Sender.VISITOR, "hello", at + 1))
        if first is not None:
            await store.append(Message(cid, 2, Sender.AGENT, "hi", first, agent_id=agent))
        await store.save_state(dataclasses.replace(
            conv, state=ConversationState.CLOSED, agent_id=agent, closed_at=closed,
            closed_by=by))
        if agent is not None:
            async with database.session() as s, s.begin():
                s.add(ChatRatingRow(conversation_id=cid, channel="web", queue=queue,
                                    agent_id=agent, offered_at=closed, rating=rating,
                                    comment="", answered_at=answered))

    await chat("c1", "web", "a1", t, t + 40, t + 600, "agent", 5, t + 700)
    await chat("c2", "sales", "a2", t + 100, t + 130, t + 400, "visitor", 2, t + 500)
    await chat("c3", "web", "a1", t + 200, t + 300, t + 1200, "idle")  # survey skipped
    await chat("c4", "web", None, t + 500, None, t + 550, "visitor")  # nobody took it
    await OfflineStore(database).add(new_message(  # a message left: nobody's
        channel="web", queue="web", visitor_id="v9", visitor_name="Vera", answers=(),
        text="Call me", page="", reason="closed", created_at=t + 800))


async def test_chat_figures_per_agent(database):
    await play_chats(database)
    reader = ChatReader(database, Calendar("UTC"), lambda: M + 48 * H)

    report = await reader.report(ReportQuery(DAY, DAY, "total", "agent"))
    assert report.columns[:3] == ("period", "period_start", "agent")
    agents = by_key(report.rows, "agent")
    figures = ("first_responses", "avg_first_response_s", "longest_first_response_s", "closed",
               "closed_unanswered", "avg_duration_s", "closed_by_visitor", "closed_by_agent",
               "closed_other", "surveys", "csat_response_pct", "ratings", "csat_pct", "csat_avg")
    assert {a: tuple(r[k] for k in figures) for a, r in agents.items()} == {
        # c1 (40 s, 600 s, by the agent, rated 5) and c3 (100 s, 1000 s, idle, skipped)
        "a1": (2, 70.0, 100.0, 2, 0, 800.0, 0, 1, 1, 2, 50.0, 1, 100.0, 5.0),
        # c2 (30 s, 300 s, by the visitor, rated 2)
        "a2": (1, 30.0, 30.0, 1, 0, 300.0, 1, 0, 0, 1, 100.0, 1, 0.0, 2.0),
    }
    for row in [*report.rows, report.totals]:  # no agent's figures: empty
        assert all(row[k] is None for k in CHAT_NOT_AGENTS)
    assert (report.totals["first_responses"], report.totals["closed"],
            report.totals["surveys"], report.totals["csat_pct"]) == (3, 3, 3, 50.0)
    same_as_csv(report)

    # The agent filter: a2's chats only, in their queue; what is no agent's is empty.
    only = await reader.report(ReportQuery(DAY, DAY, "total", "queue", agents=("a2",)))
    assert [(r["queue"], r["first_responses"], r["closed"], r["ratings"], r["started"])
            for r in only.rows] == [("sales", 1, 1, 1, None)]
    same_as_csv(only)

    # Not per agent: every chat and the message left, as before.
    whole = (await reader.report(ReportQuery(DAY, DAY, "total", "none"))).totals
    assert (whole["started"], whole["offered"], whole["closed"], whole["closed_unanswered"],
            whole["surveys"]) == (4, 5, 4, 1, 3)


class SetClock(Clock):
    """The test's time: the ticket service and the rating page stamp it."""

    value = 0.0

    def time(self) -> float:
        return self.value


async def play_tickets(database: Database) -> None:
    clock = SetClock()
    service = TicketService(
        TicketSettings(queue="email", mailboxes=[
            MailboxSettings(address="support@cc.test", name="S", queue="email")],
            csat=CsatSettings(
            enabled=True, secret=SECRET, public_url="https://cc.test")),
        TicketStore(database), clock)
    service.agents = lambda: {"a1", "a2"}
    service.queues = lambda: {"email"}
    page = RatingPage(service)
    sam = Who("Sam", staff=True)
    people = {"a1": Who("Alice", agent_id="a1", staff=True),
              "a2": Who("Bob", agent_id="a2", staff=True)}

    async def create(at: float, assignee: str | None) -> int:
        clock.value = at
        return (await service.create(NewTicket(
            f"ticket at {at}", Origin.WEB, "email", Requester("ann@customer.test", "Ann"),
            assignee=assignee), sam)).id

    async def change(at: float, ticket: int, **changes: Any) -> None:
        clock.value = at
        await service.update(ticket, TicketChanges(**changes), sam)

    async def reply(at: float, ticket: int, agent: str) -> None:
        clock.value = at
        await service.write(ticket, "Here is what we found.", people[agent], Visibility.PUBLIC)

    async def rate(at: float, ticket: int, rating: int) -> None:
        clock.value = at
        survey = csat.verify(SECRET, csat.sign(SECRET, ticket, at))
        assert survey is not None and await page.answer(survey, rating, "")

    t1 = await create(M + 9 * H, "a1")
    await reply(M + 9.5 * H, t1, "a1")  # a1's first response: 1800 s
    await change(M + 11 * H, t1, status=Status.SOLVED)  # Sam clicked; a1's solve: 7200 s
    await rate(M + 11.5 * H, t1, 5)  # a1's rating
    t2 = await create(M + 10 * H, "a1")
    await change(M + 10.25 * H, t2, assignee="a2")  # now a2's
    await reply(M + 10.5 * H, t2, "a2")  # a2's first response: 1800 s
    await reply(M + 10.75 * H, t2, "a1")  # not the first
    await change(M + 12 * H, t2, status=Status.SOLVED)  # a2's solve: 7200 s
    await rate(M + 12.5 * H, t2, 2)  # a2's rating
    await change(M + 13 * H, t2, status=Status.OPEN)  # a2's reopen (the customer wrote)
    t3 = await create(M + 11 * H, None)  # nobody's: open all day
    await reply(M + 12.5 * H, t3, "a1")  # a1 answered it all the same: 5400 s, late


async def test_ticket_figures_per_agent(database):
    await play_tickets(database)
    reader = TicketReader(database, Calendar("UTC"), ReportSettings(
        timezone="UTC", first_response_s=H, resolution_s=4 * H), lambda: M + 48 * H)

    report = await reader.report(ReportQuery(DAY, DAY, "total", "agent"))
    assert report.columns[:3] == ("period", "period_start", "agent")
    figures = ("first_responses", "avg_first_response_s", "first_response_breaches", "solved",
               "avg_resolution_s", "resolution_breaches", "reopened", "surveys", "ratings",
               "csat_pct", "csat_avg")
    assert {a: tuple(r[k] for k in figures) for a, r in by_key(report.rows, "agent").items()} \
        == {"a1": (2, 3600.0, 1, 1, 7200.0, 0, 0, 1, 1, 100.0, 5.0),  # t1; t3's reply (late)
            "a2": (1, 1800.0, 0, 1, 7200.0, 0, 1, 1, 1, 0.0, 2.0)}  # t2
    for row in [*report.rows, report.totals]:  # created and backlog: no agent's
        assert all(row[k] is None for k in TICKET_NOT_AGENTS)
    assert (report.totals["first_responses"], report.totals["solved"],
            report.totals["ratings"], report.totals["csat_avg"]) == (3, 2, 2, 3.5)
    same_as_csv(report)

    only = await reader.report(ReportQuery(DAY, DAY, "total", "none", agents=("a2",)))
    assert (only.totals["first_responses"], only.totals["solved"], only.totals["reopened"],
            only.totals["created"], only.totals["backlog"]) == (1, 1, 1, None, None)
    same_as_csv(only)

    whole = (await reader.report(ReportQuery(DAY, DAY, "total", "none"))).totals
    assert (whole["created"], whole["first_responses"], whole["solved"],
            whole["backlog"]) == (3, 3, 2, 2)  # t2 reopened and t3 open at the end

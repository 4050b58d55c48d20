"""Chats and tickets are interactions of the same engine and log: the queue and agent figures
per channel, worked out by hand, for two chats at once on one agent, an abandoned chat, and
tickets routed, withdrawn and taken back while offered (not an abandon: nobody hung up)."""

from __future__ import annotations

from report_helpers import LogFloor, one_day, report_parts, utc
from scenario import by_key

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import QueueConfig
from contactcenter.reports.settings import ReportSettings

T = utc("2026-06-02 10:00:00")
DAY = "2026-06-02"


def channel_floor(database) -> LogFloor:  # type: ignore[no-untyped-def]
    return LogFloor(database, [
        QueueConfig("web", wrapup_s=60, ring_timeout_s=60, service_level_s=30),
        QueueConfig("mail", wrapup_s=60, ring_timeout_s=600, service_level_s=3600),
    ], [
        AgentConfig("C", name="Chloe", dial_string="PJSIP/C",
                    capacity={"voice": 1, "chat": 2, "ticket": 1}, queues=("web", "mail")),
    ])


async def play(f: LogFloor) -> None:
    async def answer(s: int, iid: str) -> None:
        await f.do(T + s, "offer_answered", f.offer_of(iid))

    await f.do(T, "agent_login", "C", None)
    await f.call(T + 10, "k1", "web", "chat")  # offered at once (chat slot 1)
    await answer(12, "k1")  # wait 2
    await f.call(T + 20, "k2", "web", "chat")  # offered at once (chat slot 2)
    await f.call(T + 30, "k3", "web", "chat")  # no slot: waits
    await f.do(T + 40, "abandon", "k3")  # the visitor leaves after 10 s
    await answer(50, "k2")  # wait 30: within 30
    await f.do(T + 100, "complete", "k1")  # talk 88
    await f.do(T + 110, "wrapup_done", "C", None, None)  # k1's wrap-up: 10
    await f.do(T + 130, "complete", "k2")  # talk 80
    await f.do(T + 135, "wrapup_done", "C", "answered", None)  # k2's wrap-up: 5

    await f.call(T + 200, "ticket-1-1", "mail", "ticket")  # offered at once
    await answer(200, "ticket-1-1")  # wait 0 (push)
    await f.call(T + 300, "ticket-2-1", "mail", "ticket")  # the ticket slot is taken: waits
    await f.do(T + 310, "withdraw", "ticket-2-1", "ticket-changed")  # solved while waiting
    await f.call(T + 320, "ticket-3-1", "mail", "ticket")  # waits
    await f.do(T + 500, "complete", "ticket-1-1")  # set pending: talk 300
    await f.do(T + 500, "wrapup_done", "C", None, None)  # ... wrap-up 0; ticket 3 offered
    await answer(501, "ticket-3-1")  # wait 181
    await f.do(T + 900, "complete", "ticket-3-1")  # talk 399
    await f.do(T + 900, "wrapup_done", "C", None, None)
    await f.call(T + 950, "ticket-4-1", "mail", "ticket")  # offered at once...
    await f.do(T + 951, "abandon", "ticket-4-1")  # ...and taken back: assigned by hand
    await f.do(T + 960, "agent_logout", "C")


async def test_chat_and_ticket_figures_per_channel(database):
    f = channel_floor(database)
    await play(f)
    service, reader, _now = report_parts(database, f, "UTC", ReportSettings(timezone="UTC"),
                                        now=T + 1000)
    await service.load()
    await service.catch_up()

    rows = by_key((await reader.queues(one_day(DAY, group="channel"))).rows, "channel")
    assert set(rows) == {"chat", "ticket"}
    expected_chat = {
        "offered": 3, "arrived": 3, "answered": 2, "abandoned": 1, "short_abandoned": 0,
        "exited": 0, "service_level_pct": 100.0, "asa_s": 16.0,  # (2 + 30) / 2
        "abandon_rate_pct": 33.3, "longest_wait_s": 30.0, "handled": 2,
        "aht_s": 91.5,  # (88 + 10 + 80 + 5) / 2: two chats at once each count in full
        "avg_talk_s": 84.0, "avg_hold_s": 0.0, "avg_wrapup_s": 7.5, "offers": 2, "rona": 0,
    }
    expected_ticket = {
        "offered": 4, "arrived": 4, "answered": 2, "abandoned": 0, "short_abandoned": 0,
        "exited": 2,  # withdrawn while waiting, taken back while offered
        "service_level_pct": 100.0, "asa_s": 90.5, "abandon_rate_pct": 0.0,
        "longest_wait_s": 181.0, "handled": 2, "aht_s": 349.5, "avg_talk_s": 349.5,
        "avg_wrapup_s": 0.0, "offers": 3, "rona": 0,
    }
    assert {k: rows["chat"][k] for k in expected_chat} == expected_chat
    assert {k: rows["ticket"][k] for k in expected_ticket} == expected_ticket

    # The agent's own figures, one channel at a time; state times are the agent's whatever
    # the channel asked (two chats at once are one busy time).
    chat = (await reader.agents(one_day(DAY, channels=("chat",)))).rows
    ticket = (await reader.agents(one_day(DAY, channels=("ticket",)))).rows
    assert [(r["agent_id"], r["answered"], r["handled"], r["talk_s"], r["wrapup_s"])
            for r in chat] == [("C", 2, 2, 168.0, 15.0)]
    assert [(r["agent_id"], r["answered"], r["handled"], r["talk_s"], r["aht_s"])
            for r in ticket] == [("C", 2, 2, 699.0, 349.5)]
    assert chat[0]["logged_in_s"] == ticket[0]["logged_in_s"] == 960.0

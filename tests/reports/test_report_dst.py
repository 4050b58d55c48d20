"""Intervals are cut in the center's time zone and stay right across DST changes (Europe/Paris:
29 March 2026 has 23 hours, 25 October 2026 has 25, its 02:00 hour twice)."""

from __future__ import annotations

import datetime as dt

from report_helpers import LogFloor, at, one_day, report_parts, utc

from contactcenter.domain.agent import AgentConfig
from contactcenter.domain.queue import QueueConfig
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.queries import ReportQuery
from contactcenter.reports.rebuild import rebuild
from contactcenter.reports.rules import queue_rules
from contactcenter.reports.settings import ReportSettings

PARIS = "Europe/Paris"


def _intervals(cal: Calendar, day: str) -> list[str]:
    d = dt.date.fromisoformat(day)
    start, end = cal.day_range(d, d)
    return [cal.label(b.start) for b, _s in cal.split(start, end)]


def test_a_dst_day_has_92_or_100_intervals_and_the_repeated_hour_twice():
    cal = Calendar(PARIS)
    spring, autumn, plain = (_intervals(cal, d) for d in ("2026-03-29", "2026-10-25",
                                                          "2026-06-01"))
    assert (len(spring), len(autumn), len(plain)) == (92, 100, 96)
    assert "2026-03-29T01:45:00+01:00" in spring and "2026-03-29T03:00:00+02:00" in spring
    assert not any(label.startswith("2026-03-29T02:") for label in spring)
    assert spring.index("2026-03-29T03:00:00+02:00") == spring.index(
        "2026-03-29T01:45:00+01:00") + 1
    assert [x for x in autumn if x.startswith("2026-10-25T02:00")] == [
        "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    # Buckets follow local midnights, not UTC ones: 23:30 local is the same day.
    assert cal.bucket(at(PARIS, "2026-10-25 23:30:00")).day == "2026-10-25"
    assert cal.bucket(at(PARIS, "2026-10-26 00:10:00")).day == "2026-10-26"
    # A zone whose offset is not a whole hour keeps its local hours (India, +05:30).
    kolkata = Calendar("Asia/Kolkata")
    b = kolkata.bucket(at("Asia/Kolkata", "2026-06-01 10:40:00"))
    assert kolkata.label(b.start) == "2026-06-01T10:30:00+05:30"
    assert kolkata.label(b.hour) == "2026-06-01T10:00:00+05:30"


def _floor(database) -> LogFloor:
    return LogFloor(database, [QueueConfig("sales", wrapup_s=120, service_level_s=20)],
                    [AgentConfig("A", name="Alice", dial_string="PJSIP/A",
                                 capacity={"voice": 1}, queues=("sales",))])


async def _answered_call(f: LogFloor, iid: str, enter: float, wait: float, talk: float,
                         wrapup: float) -> None:
    await f.call(enter, iid, "sales")
    await f.do(enter + wait, "offer_answered", f.offer_of(iid))
    await f.do(enter + wait + talk, "complete", iid)
    await f.do(enter + wait + talk + wrapup, "wrapup_done", "A", "ok", None)


async def test_spring_forward_day_buckets_by_local_time(database):
    f = _floor(database)
    await f.do(utc("2026-03-29 00:50:00"), "agent_login", "A", None)  # 01:50 CET
    # Enters at 01:58 CET, answered 20 s later, talks until 03:05 CEST, wrap-up ends 03:06.
    await _answered_call(f, "c1", utc("2026-03-29 00:58:00"), 20, 400, 60)
    await f.do(utc("2026-03-29 01:10:00"), "agent_logout", "A")  # 03:10 CEST
    service, reader, _now = report_parts(database, f, PARIS, now=utc("2026-03-29 02:00:00"))
    await service.catch_up()

    rows = (await reader.queues(one_day("2026-03-29", "interval"))).rows
    got = {r["period"]: (r["arrived"], r["answered"], r["handled"]) for r in rows}
    assert got == {"2026-03-29T01:45:00+01:00": (1, 1, 0),
                   "2026-03-29T03:00:00+02:00": (0, 0, 1)}
    first = rows[0]
    assert first["period_start"] == int(utc("2026-03-29 00:45:00"))

    hours = (await reader.agents(one_day("2026-03-29", "hour"))).rows
    assert {r["period"]: r["logged_in_s"] for r in hours} == {
        "2026-03-29T01:00:00+01:00": 600.0, "2026-03-29T03:00:00+02:00": 600.0}
    day = (await reader.agents(one_day("2026-03-29"))).rows
    assert [(r["period"], r["logged_in_s"], r["busy_s"]) for r in day] == [
        ("2026-03-29", 1200.0, 400.0)]


async def test_fall_back_day_keeps_the_repeated_hour_apart(database):
    f = _floor(database)
    await f.do(utc("2026-10-25 00:00:00"), "agent_login", "A", None)  # 02:00 CEST
    await _answered_call(f, "c1", utc("2026-10-25 00:10:00"), 5, 100, 10)  # 02:10 CEST
    await _answered_call(f, "c2", utc("2026-10-25 01:10:00"), 5, 100, 10)  # 02:10 CET
    await f.do(utc("2026-10-25 01:30:00"), "agent_logout", "A")
    # 23:30 CET is still the 25th; 00:10 CET the next day.
    await f.do(at(PARIS, "2026-10-25 23:00:00"), "agent_login", "A", None)
    await _answered_call(f, "c3", at(PARIS, "2026-10-25 23:30:00"), 5, 100, 10)
    await _answered_call(f, "c4", at(PARIS, "2026-10-26 00:10:00"), 5, 100, 10)
    await f.do(at(PARIS, "2026-10-26 00:30:00"), "agent_logout", "A")
    service, reader, _now = report_parts(database, f, PARIS, now=utc("2026-10-26 06:00:00"))
    await service.catch_up()

    hours = (await reader.queues(one_day("2026-10-25", "hour"))).rows
    assert [(r["period"], r["answered"]) for r in hours] == [
        ("2026-10-25T02:00:00+02:00", 1), ("2026-10-25T02:00:00+01:00", 1),
        ("2026-10-25T23:00:00+01:00", 1)]
    agent_hours = (await reader.agents(one_day("2026-10-25", "hour"))).rows
    assert [(r["period"], r["logged_in_s"]) for r in agent_hours] == [
        ("2026-10-25T02:00:00+02:00", 3600.0), ("2026-10-25T02:00:00+01:00", 1800.0),
        ("2026-10-25T23:00:00+01:00", 3600.0)]
    days = (await reader.queues(ReportQuery(dt.date(2026, 10, 25), dt.date(2026, 10, 26),
                                            "day"))).rows
    assert [(r["period"], r["answered"]) for r in days] == [("2026-10-25", 3),
                                                             ("2026-10-26", 1)]
    # Another time zone cuts days elsewhere once the range is rebuilt in it: c3 (22:30 UTC)
    # and c4 (23:10 UTC) are both the 25th in UTC.
    utc_settings = ReportSettings(timezone="UTC")
    await rebuild(database, Calendar("UTC"), queue_rules(lambda: f.config.queues, utc_settings),
                  dt.date(2026, 10, 25), dt.date(2026, 10, 25))
    _svc, utc_reader, _n = report_parts(database, f, "UTC", utc_settings)
    assert [(r["period"], r["answered"])
            for r in (await utc_reader.queues(one_day("2026-10-25"))).rows] == [
        ("2026-10-25", 4)]

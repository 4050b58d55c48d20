"""The QA report: scores per agent, per question and per day or week, exact against a table
worked out by hand; the filters; the CSV holds the JSON's values (formula-like cells
neutralized). Over real HTTP and a real database (SQLite, and PostgreSQL with
CC_TEST_POSTGRES_URL)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from qa_written import add_chat, add_ticket

from contactcenter.domain.clock import Clock
from contactcenter.web.roles import Actor

ADMIN = Actor(0, "admin", "admin")
CARD = {"sections": [{"title": "Care", "questions": [
    {"id": "greet", "text": "Greets", "weight": 10},
    {"id": "resolve", "text": "Resolves", "weight": 10, "critical": True},
    {"id": "tone", "text": "Tone", "kind": "scale", "scale_max": 5, "weight": 5}]}]}
OTHER = {"sections": [{"title": "Other", "questions": [{"id": "q", "text": "=cmd()",
                                                        "weight": 1}]}]}
MON = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)  # Monday of 2026-W19


@dataclass
class Frozen(Clock):
    """The project Clock, stopped at ``at`` (each evaluation is submitted on its own day)."""

    at: float = 0.0

    def time(self) -> float:
        """The stopped time."""
        return self.at


# (agent, channel, day offset, answers): each evaluation's percent worked out by hand below.
EVALUATIONS = [
    ("1001", "chat", 0, {"greet": "yes", "resolve": "yes", "tone": 5}),   # 25/25: 100
    ("1001", "chat", 0, {"greet": "no", "resolve": "yes", "tone": 3}),    # 13/25: 52
    ("1001", "ticket", 1, {"greet": "na", "resolve": "no", "tone": 4}),   # critical no: 0
    ("1002", "chat", 1, {"greet": "yes", "resolve": "yes", "tone": "na"}),  # 20/20: 100
    ("1002", "ticket", 7, {"greet": "na", "resolve": "na", "tone": "na"}),  # all N/A: none
]
AGENTS = {"columns": ["agent_id", "evaluations", "average_percent", "failed", "acknowledged",
                      "disputed"],
          "rows": [{"agent_id": "1001", "evaluations": 3, "average_percent": 50.67,
                    "failed": 1, "acknowledged": 1, "disputed": 0},
                   {"agent_id": "1002", "evaluations": 2, "average_percent": 100.0,
                    "failed": 0, "acknowledged": 0, "disputed": 1}],
          "totals": {"agent_id": "total", "evaluations": 5, "average_percent": 63.0,
                     "failed": 1, "acknowledged": 1, "disputed": 1}}


def _question(qid, text, kind, answered, na, yes, no, rate, average, pct):
    return {"question_id": qid, "question": text, "kind": kind, "answered": answered, "na": na,
            "yes": yes, "no": no, "pass_rate": rate, "average": average,
            "average_percent": pct}


QUESTIONS = [
    _question("greet", "Greets", "yes_no", 3, 2, 2, 1, 66.67, None, 66.67),
    _question("resolve", "Resolves", "yes_no", 4, 1, 3, 1, 75.0, None, 75.0),
    _question("tone", "Tone", "scale", 3, 2, None, None, None, 4.0, 80.0),  # 100, 60, 80
]


def _day(offset: int, average, evaluations, failed):
    start = (MON + timedelta(days=offset)).date().isoformat()
    return {"period": start, "start": start, "evaluations": evaluations,
            "average_percent": average, "failed": failed}


DAYS = [_day(0, 76.0, 2, 0), _day(1, 50.0, 2, 1), *[_day(d, None, 0, 0) for d in range(2, 7)],
        _day(7, None, 1, 0)]
WEEKS = [{"period": "2026-W19", "start": "2026-05-04", "evaluations": 4,
          "average_percent": 63.0, "failed": 1},
         {"period": "2026-W20", "start": "2026-05-11", "evaluations": 1,
          "average_percent": None, "failed": 0}]


async def _seed(env) -> tuple[int, int]:
    db = env.qa.service.db
    clock = Frozen()
    env.qa.service.clock = clock
    card = (await env.qa.service.save_scorecard(ADMIN, "Care", CARD, True)).id
    other = (await env.qa.service.save_scorecard(ADMIN, "Other", OTHER, True)).id
    sup = await env.client("sup")
    ids = []
    for n, (agent, channel, offset, answers) in enumerate(EVALUATIONS):
        start = MON - timedelta(days=3)
        if channel == "chat":
            item = f"chat-{n}"
            await add_chat(db, item, agent, start, [(9, "agent", "hello")])
        else:
            item = str(await add_ticket(db, agent, start, []))
        clock.at = (MON + timedelta(days=offset)).timestamp()
        ids.append(await _evaluate(env, sup, channel, item, card,
                                   {q: {"value": v} for q, v in answers.items()}))
    # left out: a draft, one submitted the day before the range, another scorecard's
    clock.at = MON.timestamp()
    await add_chat(db, "draft", "1001", MON, [])
    async with sup.post(env.url("/api/qa/evaluations"), json={
            "channel": "chat", "item_id": "draft", "scorecard_id": card}) as r:
        assert r.status == 201
    clock.at = datetime(2026, 5, 3, 23, 59, 59, tzinfo=UTC).timestamp()
    await add_chat(db, "early", "1002", MON - timedelta(days=2), [])
    await _evaluate(env, sup, "chat", "early", card,
                    {q: {"value": "yes"} for q in ("greet", "resolve")} | {
                        "tone": {"value": 0}})
    clock.at = MON.timestamp()
    await env.add_recording("e" * 32, None, agent_id="=1+1", started=MON)
    await _evaluate(env, sup, "voice", "e" * 32, other, {"q": {"value": "yes"}})

    agent1, agent2 = await env.client("agent1"), await env.client("agent2")
    for http, eid, response in ((agent1, ids[0], "acknowledge"), (agent2, ids[3], "dispute")):
        async with http.post(env.url(f"/api/qa/evaluations/{eid}/response"),
                             json={"response": response}) as r:
            assert r.status == 200, await r.text()
    return card, other


async def _evaluate(env, sup, channel, item, card, answers) -> int:
    async with sup.post(env.url("/api/qa/evaluations"), json={
            "channel": channel, "item_id": item, "scorecard_id": card}) as r:
        assert r.status == 201, await r.text()
        eid = (await r.json())["id"]
    async with sup.put(env.url(f"/api/qa/evaluations/{eid}"),
                       json={"answers": answers, "submit": True}) as r:
        assert r.status == 200, await r.text()
    return int(eid)


async def _get(http, url):
    async with http.get(url) as r:
        assert r.status == 200, await r.text()
        return await r.json()


def _csv_of(table: dict) -> list[list[str]]:
    rows = [*table["rows"], *([table["totals"]] if "totals" in table else [])]
    return [table["columns"], *[["" if r[c] is None else str(r[c]) for c in table["columns"]]
                                for r in rows]]


async def test_the_report_matches_the_hand_worked_table_and_its_csv(qa_env):
    env = qa_env
    card, other = await _seed(env)
    sup = await env.client("sup")
    query = f"from=2026-05-04&to=2026-05-11&scorecard_id={card}"
    report = await _get(sup, env.url(f"/api/qa/report?{query}&by=day"))
    assert (report["from"], report["to"], report["by"], report["timezone"]) == (
        "2026-05-04", "2026-05-11", "day", "UTC")
    assert report["agents"] == AGENTS
    assert report["questions"]["rows"] == [{"scorecard_id": card, **q} for q in QUESTIONS]
    assert report["periods"]["rows"] == DAYS
    weekly = await _get(sup, env.url(f"/api/qa/report?{query}&by=week"))
    assert weekly["periods"]["rows"] == WEEKS and weekly["agents"] == AGENTS

    for name in ("agents", "questions", "periods"):
        async with sup.get(env.url(f"/api/qa/report.csv?{query}&by=day&table={name}")) as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert list(csv.reader(io.StringIO(await r.text()))) == _csv_of(report[name])

    # filters: a channel, an agent; without a scorecard, the other card's questions and agent
    chats = await _get(sup, env.url(f"/api/qa/report?{query}&channel=chat"))
    assert [(a["agent_id"], a["evaluations"], a["average_percent"])
            for a in chats["agents"]["rows"]] == [("1001", 2, 76.0), ("1002", 1, 100.0)]
    one = await _get(sup, env.url(f"/api/qa/report?{query}&agent=1002"))
    assert [a["agent_id"] for a in one["agents"]["rows"]] == ["1002"]
    everything = await _get(sup, env.url("/api/qa/report?from=2026-05-04&to=2026-05-11"))
    assert [(a["agent_id"], a["evaluations"]) for a in everything["agents"]["rows"]] == [
        ("1001", 3), ("1002", 2), ("=1+1", 1)]
    assert [(q["scorecard_id"], q["question_id"]) for q in everything["questions"]["rows"]] == [
        (card, "greet"), (card, "resolve"), (card, "tone"), (other, "q")]
    async with sup.get(env.url("/api/qa/report.csv?from=2026-05-04&to=2026-05-11")) as r:
        cells = list(csv.reader(io.StringIO(await r.text())))
    assert cells[3][0] == "'=1+1"  # a spreadsheet shows it, does not run it
    async with sup.get(env.url("/api/qa/report.csv?from=2026-05-04&to=2026-05-11"
                               "&table=questions")) as r:
        assert "'=cmd()" in [row[2] for row in csv.reader(io.StringIO(await r.text()))]

    # bad queries are refused; agents keep out
    for bad in ("from=2026-05-12&to=2026-05-11", "by=month", "channel=fax", "from=May",
                "table=x"):
        async with sup.get(env.url(f"/api/qa/report.csv?{bad}")) as r:
            # the range is of the declared form but refused: 422; the rest breaks the form
            assert r.status == (422 if bad.startswith("from=2026") else 400), bad
    agent = await env.client("agent1")
    async with agent.get(env.url("/api/qa/report")) as r:
        assert r.status == 403
    spec = await _get(sup, env.url("/api/openapi.json"))
    params = {p["name"] for p in spec["paths"]["/api/qa/report"]["get"]["parameters"]}
    assert params >= {"from", "to", "by", "scorecard_id", "channel", "agent"}
    assert "/api/qa/report.csv" in spec["paths"]

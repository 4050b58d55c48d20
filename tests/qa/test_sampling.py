"""Sampling rules: "N % of each agent's calls per week, at least M" fill the evaluators'
worklist, repeatably with a seed, without ever taking a pick back; the rule's pure logic, then
over real HTTP and a real database with the project Clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qa_audio import tone

from contactcenter.qa.sampling import (
    RuleError,
    SamplingRule,
    check_rule,
    choose,
    order_key,
    target,
    week_of,
)
from contactcenter.web.roles import Actor

RULE = SamplingRule(1, "weekly", None, 10.0, 2, None)


def test_the_target_is_a_share_of_the_calls_at_least_the_minimum_at_most_all():
    assert [target(RULE, n) for n in (0, 1, 2, 5, 20, 21, 30, 100)] == [0, 1, 2, 2, 2, 3, 3, 10]
    third = SamplingRule(2, "third", None, 33.3, 0, None)
    assert target(third, 3) == 1  # 0.999 rounds up, not to 2
    assert target(SamplingRule(3, "ten", None, 10.0, 0, None), 30) == 3  # not 4 by a float


@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["1001", "1002", "1003"])),
                unique_by=lambda c: c[0], max_size=60),
       st.floats(0, 100), st.integers(0, 10), st.data())
def test_choose_reaches_the_target_only_adds_and_repeats(made, percent, minimum, data):
    rule = SamplingRule(7, "r", None, percent, minimum, None)
    calls: dict[str, list[str]] = {}
    for n, agent in made:  # a call is one agent's
        calls.setdefault(agent, []).append(_rid(n))
    every = [c for mine in calls.values() for c in mine]
    picked = set(data.draw(st.lists(st.sampled_from(every), unique=True) if every
                           else st.just([])))
    new = choose(rule, calls, picked, "seed")
    assert new == choose(rule, calls, picked, "seed")  # repeatable
    assert not {c for _, c in new} & picked and len({c for _, c in new}) == len(new)
    for agent, mine in calls.items():
        have = sum(1 for c in mine if c in picked)
        added = [c for a, c in new if a == agent]
        assert set(added) <= set(mine)
        assert have + len(added) == max(have, target(rule, len(mine)))


def test_weeks_start_on_monday_in_the_sampling_time_zone():
    paris = ZoneInfo("Europe/Paris")
    # Sunday 23:30 UTC is already Monday in Paris
    label, start, end = week_of(datetime(2026, 5, 3, 23, 30, tzinfo=UTC), paris)
    assert label == "2026-W19" and start == datetime(2026, 5, 4, tzinfo=paris)
    assert end - start == timedelta(days=7)
    assert week_of(datetime(2026, 5, 3, 23, 30, tzinfo=UTC), ZoneInfo("UTC"))[0] == "2026-W18"


def test_a_bad_rule_is_refused_with_every_problem():
    with pytest.raises(RuleError) as exc:
        check_rule({"name": "", "queue": "a b", "percent": 120, "minimum": -1,
                    "scorecard_id": True})
    assert exc.value.problems == [
        "name: letters, digits, spaces, '_', '.', '-', up to 64",
        "queue: a queue name, or empty for every queue",
        "percent: a number from 0 to 100", "minimum: a whole number from 0 to 1000",
        "scorecard_id: a scorecard's id, or empty"]
    with pytest.raises(RuleError, match="picks nothing"):
        check_rule({"name": "none", "percent": 0, "minimum": 0})


def _rid(n: int) -> str:
    return f"{n:032x}"


async def _calls(env, first: int, count: int, agent: str, start: datetime, queue="sales"):
    for i in range(count):
        await env.add_recording(_rid(first + i), tone(0.2), queue=queue, agent_id=agent,
                                started=start + timedelta(hours=i))


async def test_rules_fill_the_worklist_and_evaluating_ticks_it_off(qa_env):
    env = qa_env
    now = env.qa.service.now()
    _, this_monday, _ = week_of(now, ZoneInfo("UTC"))
    last_week = this_monday - timedelta(days=7)
    label = week_of(last_week, ZoneInfo("UTC"))[0]
    await _calls(env, 0, 25, "1001", last_week)                 # 10 % of 25 -> 3
    await _calls(env, 100, 1, "1002", last_week)                # at least 2, but only 1
    await _calls(env, 200, 5, "1002", last_week, queue="billing")  # not the rule's queue
    await _calls(env, 300, 4, "1001", last_week - timedelta(days=7))  # too old
    sup = await env.client("sup")
    async with sup.post(env.url("/api/qa/sampling/rules"), json={
            "name": "Sales weekly", "queue": "sales", "percent": 10, "minimum": 2}) as r:
        assert r.status == 201, await r.text()
        rule = await r.json()
    async with sup.post(env.url("/api/qa/sampling/run")) as r:
        assert (await r.json()) == {"picked": 4}
    async with sup.get(env.url("/api/qa/worklist")) as r:
        items = (await r.json())["items"]
    by_agent = {a: sorted(i["recording_id"] for i in items if i["agent_id"] == a)
                for a in ("1001", "1002")}
    # the seed (qa.sampling_seed, set by conftest) makes the choice repeatable: the calls
    # with the lowest hash ranks
    assert env.qa.worklist.seed == "qa-tests"
    ranked = sorted((_rid(i) for i in range(25)),
                    key=lambda c: order_key("qa-tests", rule["id"], c))
    assert by_agent == {"1001": sorted(ranked[:3]), "1002": [_rid(100)]}
    assert {(i["week"], i["rule"], i["queue"], i["status"]) for i in items} == {
        (label, "Sales weekly", "sales", "open")}

    # running again picks nothing more; more calls of that week raise the target
    async with sup.post(env.url("/api/qa/sampling/run")) as r:
        assert (await r.json()) == {"picked": 0}
    await _calls(env, 400, 6, "1001", last_week + timedelta(days=2))  # 31 calls -> 4
    async with sup.post(env.url("/api/qa/sampling/run")) as r:
        assert (await r.json()) == {"picked": 1}

    # evaluating a picked call (from the worklist or not) ticks it off
    card = await env.qa.service.save_scorecard(
        _admin(), "Sales", {"sections": [{"title": "S", "questions": [
            {"id": "q", "text": "Q", "weight": 1}]}]}, True)
    async with sup.post(env.url("/api/qa/evaluations"), json={
            "recording_id": _rid(100), "scorecard_id": card.id}) as r:
        assert r.status == 201
    async with sup.get(env.url("/api/qa/worklist?status=draft")) as r:
        assert [i["recording_id"] for i in (await r.json())["items"]] == [_rid(100)]
    async with sup.get(env.url("/api/qa/worklist?status=open")) as r:
        assert len((await r.json())["items"]) == 4

    # changing the rule keeps what was picked; an agent may not see or change rules
    async with sup.put(env.url(f"/api/qa/sampling/rules/{rule['id']}"), json={
            "name": "Sales weekly", "queue": "sales", "percent": 50, "minimum": 0,
            "active": False}) as r:
        assert r.status == 200 and (await r.json())["active"] is False
    async with sup.post(env.url("/api/qa/sampling/run")) as r:
        assert (await r.json()) == {"picked": 0}
    async with sup.get(env.url("/api/qa/worklist")) as r:
        assert len((await r.json())["items"]) == 5
    agent = await env.client("agent1")
    for method, path in (("GET", "/api/qa/worklist"), ("GET", "/api/qa/sampling/rules"),
                         ("POST", "/api/qa/sampling/run")):
        async with agent.request(method, env.url(path)) as r:
            assert r.status == 403
    saves = await env.audit.list(action_prefix="qa.sampling.")
    assert [(e.action, e.actor) for e in saves] == [("qa.sampling.save", "sup")] * 2


def _admin() -> Actor:
    return Actor(0, "admin", "admin")


async def test_the_server_samples_by_itself_and_a_name_is_unique(qa_env):
    env = qa_env
    now = env.qa.service.now()
    _, this_monday, _ = week_of(now, ZoneInfo("UTC"))
    await _calls(env, 0, 3, "1001", this_monday - timedelta(days=7))
    sup = await env.client("sup")
    body = {"name": "all", "percent": 0, "minimum": 1}
    async with sup.post(env.url("/api/qa/sampling/rules"), json=body) as r:
        assert r.status == 201
    async with sup.post(env.url("/api/qa/sampling/rules"), json=body) as r:
        assert r.status == 409
    await env.qa.start()  # the sampling loop's first run is at once

    async def picked():
        while not await env.qa.worklist.worklist():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(picked(), 30.0)  # only catches hangs
    assert len(await env.qa.worklist.worklist()) == 1
    await env.qa.close()
    assert env.qa.sampler._task is None

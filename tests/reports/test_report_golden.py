"""The golden scenario, end to end: calls through the simulated PBX, the IVR and the queue, with
known ring, hold, talk, abandon and wrap-up times, a transfer, agent pauses and a server restart
in the middle; the report's figures equal the table worked out by hand below (counts exactly,
durations within the simulator's jitter), and exactly what the definitions give when applied to
the raw interaction log by this test's own code; the wallboard's "today" equals the report."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from floor import Arrivals
from panel_floor import panel_floor

from contactcenter.app import ContactCenter
from contactcenter.domain import routing_events as rev
from contactcenter.sim import CallerScript, Phone, Press
from contactcenter.web.auth import hash_password
from contactcenter.web.users import UserStore

REPO = Path(__file__).resolve().parents[2]
SPEED = 8.0
TOL = 2.0  # clock seconds: what the simulated PBX and the IVR add to a designed duration
PASSWORD = "golden scenario password"


async def _session(url: str, db: Any, username: str, role: str,
                   agent_id: str | None = None) -> aiohttp.ClientSession:
    await UserStore(db).create_user(username, hash_password(PASSWORD), role, agent_id, 0.0)
    return await _login(url, username)


async def _login(url: str, username: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(headers={"Origin": url}, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{url}/api/login",
                         json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
    return http


async def _restart(floor: Any) -> ContactCenter:
    """Stop the server and start another on the same database, FastAGI port and clock."""
    old = floor.server
    agi_port = old.agi_port
    await old.stop()
    new = ContactCenter(replace(old.settings, web=replace(old.settings.web, port=0),
                                fastagi=replace(old.settings.fastagi, port=agi_port)),
                        clock=floor.clock)
    await new.start()
    await new.pool["sim"].wait_ready(10)
    floor.server = new
    return new


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> None:
    async with http.post(url, json=body) as r:
        assert r.status == 200, await r.text()


def _sales_call(caller: str) -> CallerScript:
    return CallerScript(caller_id=caller, exten="200", steps=[Press("1", after=0.5)],
                        hangup_after=None)


def by_definition(rows: list[dict[str, Any]], sl_s: float, short_s: float) -> dict[str, Any]:
    """docs/reports.md's sales-queue figures straight from the log, written apart from
    reports/aggregate.py (one day, one queue, voice, no callbacks)."""
    q = [r for r in rows if r.get("queue") == "sales"]
    conn = [r for r in q if r["kind"] == "connect"]
    ab = [r for r in q if r["kind"] == "abandon"]
    short = [r for r in ab if r["wait_s"] < short_s]
    counted = [r for r in ab if r["wait_s"] >= short_s]
    offered = len([r for r in q if r["kind"] == "enter"])
    done = [r for r in q if r["kind"] == "wrapup-done"]
    talk = hold = wrap = 0.0
    for w in done:  # each conversation from its own rows
        mine = [r for r in rows if r["interaction_id"] == w["interaction_id"]
                and r.get("agent_id") == w["agent_id"]]
        start = next(r["at"] for r in mine if r["kind"] == "connect")
        end = next(r["at"] for r in mine if r["kind"] in ("complete", "transfer"))
        held = sum(r["held_s"] for r in mine if r["kind"] == "unhold")
        talk += end - start - held
        hold += held
        wrap += w["handle_s"] - (end - start)
    n = len(done)
    return {
        "offered": offered, "answered": len(conn), "abandoned": len(counted),
        "short_abandoned": len(short),
        "service_level_pct": round(100 * len([r for r in conn if r["wait_s"] <= sl_s])
                                   / len(conn), 1),
        "asa_s": round(sum(r["wait_s"] for r in conn) / len(conn), 1),
        "abandon_rate_pct": round(100 * len(counted) / (offered - len(short)), 1),
        "longest_wait_s": round(max(r["wait_s"] for r in conn + ab), 1),
        "handled": n, "aht_s": round(sum(r["handle_s"] for r in done) / n, 1),
        "avg_talk_s": round(talk / n, 1), "avg_hold_s": round(hold / n, 1),
        "avg_wrapup_s": round(wrap / n, 1),
    }


def _close(got: float | None, want: float) -> bool:
    return got is not None and abs(got - want) <= TOL


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
async def test_golden_scenario_figures_equal_the_hand_table(tmp_path):
    async with panel_floor(tmp_path, speed=SPEED) as floor:
        server, sim, clock, url = floor.server, floor.sim, floor.clock, floor.url
        original = server
        routing = server.routing
        seen = Arrivals()
        routing.subscribe(seen.add)
        sim.add_phone(Phone("PJSIP/1001", answer_after=2.0, talk_for=None))
        sim.add_phone(Phone("PJSIP/1006", answer_after=None, talk_for=None))  # never answers
        await routing.agent_login("1001", ["sales"])
        await routing.agent_login("1006", ["sales"])
        await routing.agent_pause("1006", "training")
        t0 = clock.time()
        alice = await _session(url, server.db, "alice", "agent", "1001")
        boss = await _session(url, server.db, "boss", "supervisor")
        try:
            # A: Alice's phone rings 2 s; she talks 3 s, holds 5 s, talks 12 s more.
            # Each step is timed from the answer, so a slow request does not stretch the next.
            call_a = await sim.place_call(_sales_call("5550001"))
            conn_a = await seen.wait(lambda e: isinstance(e, rev.Connected))
            a = conn_a.interaction_id
            await clock.sleep(conn_a.at + 3 - clock.time())
            await _post(alice, f"{url}/api/panel/hold", {})
            await clock.sleep(conn_a.at + 8 - clock.time())
            await _post(alice, f"{url}/api/panel/resume", {})
            # B and C join the line while Alice talks; C hangs up after 2 s (a short abandon).
            mark = len(seen.events)
            call_b = await sim.place_call(_sales_call("5550002"))
            b = (await seen.wait(lambda e: isinstance(e, rev.Entered), mark)).interaction_id
            t_b = clock.time()
            mark = len(seen.events)
            call_c = await sim.place_call(_sales_call("5550003"))
            await seen.wait(lambda e: isinstance(e, rev.Entered) and e.interaction_id != b, mark)
            await clock.sleep(2)
            await sim.hangup_channel(call_c.caller_channel)
            await clock.sleep(conn_a.at + 20 - clock.time())
            await sim.hangup_channel(call_a.caller_channel)
            await seen.wait(lambda e: isinstance(e, rev.Completed) and e.interaction_id == a)
            # Alice pauses for lunch during her wrap-up, then ends it 4 s after the call.
            await _post(alice, f"{url}/api/agents/1001/pause", {"reason": "lunch"})
            t_lunch = clock.time()
            await clock.sleep(4)
            await _post(alice, f"{url}/api/agents/1001/wrapup", {"disposition": "sold"})
            # B gives up after 30 s in line.
            await clock.sleep(30 - (clock.time() - t_b))
            await sim.hangup_channel(call_b.caller_channel)
            await seen.wait(lambda e: isinstance(e, rev.Abandoned) and e.interaction_id == b)
            # The server restarts; Alice's lunch and Farid's training go on meanwhile.
            await alice.close()
            await boss.close()
            server = await _restart(floor)
            routing, url = server.routing, floor.url
            routing.subscribe(seen.add)
            alice, boss = await _login(url, "alice"), await _login(url, "boss")
            # D waits 5 s; Farid comes back from training, his phone rings out (20 s): RONA.
            mark = len(seen.events)
            call_d = await sim.place_call(_sales_call("5550004"))
            d = (await seen.wait(lambda e: isinstance(e, rev.Entered), mark)).interaction_id
            await clock.sleep(5)
            await routing.agent_unpause("1006")
            t_training_end = clock.time()
            await seen.wait(lambda e: isinstance(e, rev.RingNoAnswer), mark)
            t_no_answer = clock.time()
            # Alice comes back from lunch: D rings her 2 s; 6 s later she transfers it to the
            # operator queue, where nobody is logged in; D hangs up 4 s later.
            mark = len(seen.events)
            await _post(alice, f"{url}/api/agents/1001/unpause", {})
            t_lunch_end = clock.time()
            conn_d = await seen.wait(lambda e: isinstance(e, rev.Connected), mark)
            await clock.sleep(conn_d.at + 6 - clock.time())
            await _post(alice, f"{url}/api/panel/transfer", {"queue": "operator"})
            await clock.sleep(conn_d.at + 9 - clock.time())
            await _post(alice, f"{url}/api/agents/1001/wrapup", {"disposition": "transferred"})
            await clock.sleep(1)
            await sim.hangup_channel(call_d.caller_channel)
            await seen.wait(lambda e: isinstance(e, rev.Abandoned) and e.interaction_id == d)
            await routing.agent_logout("1001")
            await routing.agent_logout("1006")
            t_end = clock.time()

            await routing.flush()
            async with boss.get(f"{url}/api/reports/queues?by=total") as r:
                assert r.status == 200, await r.text()
                queues = {row["queue"]: row for row in (await r.json())["rows"]}
            async with boss.get(f"{url}/api/reports/agents?by=total") as r:
                agents = {row["agent_id"]: row for row in (await r.json())["rows"]}
            async with boss.get(f"{url}/api/reports/pauses?by=total") as r:
                pauses = {(row["agent_id"], row["reason"]): row["paused_s"]
                          for row in (await r.json())["rows"]}
            async with boss.get(f"{url}/api/reports/dispositions?by=total") as r:
                dispositions = {row["disposition"]: row["count"]
                                for row in (await r.json())["rows"]}
            # The wallboard's "today" is the report for today, figure for figure.
            async with boss.get(f"{url}/api/panel/wallboard") as r:
                board = {q["name"]: q for q in (await r.json())["queues"]}
            for name in ("sales", "operator", "support"):
                want = queues.get(name) or {"offered": 0, "answered": 0, "abandoned": 0,
                                            "exited": 0, "service_level_pct": None,
                                            "asa_s": None, "short_abandoned": 0}
                sl = want["service_level_pct"]
                assert {k: board[name][k] for k in ("entered", "answered", "abandoned", "exited",
                                                    "service_level", "asa_s",
                                                    "short_abandoned")} == {
                    "entered": want["offered"], "answered": want["answered"],
                    "abandoned": want["abandoned"], "exited": want["exited"],
                    "service_level": None if sl is None else sl / 100, "asa_s": want["asa_s"],
                    "short_abandoned": want["short_abandoned"]}, name
            # Supervisors and admins only; a bad parameter is a 400 that says why; documented.
            async with alice.get(f"{url}/api/reports/queues") as r:
                assert r.status == 403
            async with boss.get(f"{url}/api/reports/queues?by=week") as r:
                assert r.status == 400 and "by must be one of" in (await r.json())["error"]
            async with boss.get(f"{url}/api/openapi.json") as r:
                paths = (await r.json())["paths"]
            for kind in ("queues", "agents", "pauses", "dispositions"):
                for path in (f"/api/reports/{kind}", f"/api/reports/{kind}.csv"):
                    assert paths[path]["get"]["x-roles"] == ["admin", "supervisor"], path
            # Every series the shipped Grafana dashboard charts is one /metrics exports.
            async with boss.get(f"{url}/metrics") as r:
                exported = set(re.findall(r"^(cc_[a-z0-9_]+)", await r.text(),
                                          re.MULTILINE))
            dashboard = json.loads((REPO / "docs/grafana/contactcenter.json").read_text())
            charted = {name for panel in dashboard["panels"] for target in panel.get("targets", [])
                       for name in re.findall(r"\b(cc_[a-z0-9_]+)", target["expr"])}
            assert len(charted) >= 15 and charted <= exported, sorted(charted - exported)
            # ... and every IVR family the server exports has its panel (docs/monitoring.md).
            ivr = {name for name in exported if name.startswith(("cc_ivr_", "cc_flows_loaded"))}
            assert len(ivr) >= 6 and ivr <= charted, sorted(ivr - charted)
            log_rows = await routing.log.events(limit=100_000)
        finally:
            for http in (alice, boss):
                await http.close()
            if floor.server is not original:
                await floor.server.stop()

    sales, operator = queues["sales"], queues["operator"]
    # The hand table. Counts are exact.
    assert {k: sales[k] for k in (
        "offered", "arrived", "answered", "abandoned", "short_abandoned", "exited",
        "transferred_out", "transferred_in", "callbacks_answered", "handled", "holds",
        "offers", "rona", "service_level_pct", "abandon_rate_pct")} == {
        "offered": 4, "arrived": 4, "answered": 2,  # A and D, both by Alice
        "abandoned": 1, "short_abandoned": 1,  # B after 30 s; C after 2 s
        "exited": 0, "transferred_out": 1, "transferred_in": 0, "callbacks_answered": 0,
        "handled": 2, "holds": 1, "offers": 3, "rona": 1,  # A; D to Farid, then to Alice
        "service_level_pct": 50.0,  # A in ~2 s; D after 5 + 20 + 2 s, over 20 s
        "abandon_rate_pct": 33.3,  # B of 4 offered, C left out
    }
    assert {k: operator[k] for k in ("offered", "arrived", "transferred_in", "answered",
                                     "abandoned")} == {
        "offered": 1, "arrived": 0, "transferred_in": 1, "answered": 0, "abandoned": 1}
    # Durations as designed, within the simulator's jitter.
    designed = {
        "asa_s": (2 + 27) / 2,  # A rang 2 s; D waited 5 s, rang Farid 20 s, rang Alice 2 s
        "longest_wait_s": 30.0,  # B
        "aht_s": ((20 + 4) + (6 + 3)) / 2,  # A: 20 s on the call + 4 s wrap-up; D: 6 + 3
        "avg_talk_s": ((20 - 5) + 6) / 2, "avg_hold_s": 5 / 2, "avg_wrapup_s": (4 + 3) / 2,
    }
    assert all(_close(sales[k], v) for k, v in designed.items()), \
        {k: (sales[k], v) for k, v in designed.items()}
    assert _close(operator["longest_wait_s"], 27 + 6 + 4)  # D, since it first arrived

    alice_row, farid_row = agents["1001"], agents["1006"]
    assert {k: alice_row[k] for k in ("answered", "handled", "offers", "rona", "holds",
                                      "transferred_out")} == {
        "answered": 2, "handled": 2, "offers": 2, "rona": 0, "holds": 1, "transferred_out": 1}
    assert {k: farid_row[k] for k in ("answered", "handled", "offers", "rona")} == {
        "answered": 0, "handled": 0, "offers": 1, "rona": 1}
    assert _close(alice_row["logged_in_s"], t_end - t0)
    assert _close(farid_row["logged_in_s"], t_end - t0)
    assert _close(alice_row["busy_s"], 20 + 6)  # A's 20 s (hold included) and D's 6 s
    assert _close(farid_row["ringing_s"], 20)
    assert set(pauses) == {("1001", "lunch"), ("1006", "training"), ("1006", "no answer")}
    # Alice paused in wrap-up: her pause shows from the end of wrap-up (4 s later).
    assert _close(pauses[("1001", "lunch")], t_lunch_end - t_lunch - 4)
    assert _close(pauses[("1006", "training")], t_training_end - t0)
    assert _close(pauses[("1006", "no answer")], t_end - t_no_answer)
    assert dispositions == {"sold": 1, "transferred": 1}

    # And exactly what the definitions give on the raw log, computed here independently.
    mine = by_definition(log_rows, sl_s=20.0, short_s=5.0)
    assert {k: sales[k] for k in mine} == mine

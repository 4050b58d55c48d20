"""End to end: simulated callers take known paths through the demo flow (with one self-service
branch), the server records each IVR session, and the IVR report counts them exactly: per
flow (how they ended, containment) and per node (reached, left), the same in JSON and CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from floor import REPO, floor_settings, login, running_floor, until
from ivr_funnel_flow import add_self_service
from throwaway_pg import throwaway_database

from contactcenter.sim import CallerScript, Press, Silence

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")

QUEUED = ["identify", "welcome", "main_menu", "sales"]
MENU_HANGUP = ["identify", "welcome", "main_menu"]
SELF_SERVED = ["identify", "welcome", "main_menu", "opening_hours", "goodbye"]


def funnel_flows(tmp_path: Path) -> Path:
    """The repository's flows, the demo flow with its self-service branch."""
    flows = tmp_path / "flows"
    flows.mkdir()
    for name in ("main.yaml", "demo.yaml"):
        (flows / name).write_text((REPO / "ivr_flows" / name).read_text())
    add_self_service(flows)
    return flows


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
async def database_url(request, tmp_path) -> AsyncIterator[str | None]:
    """None (the floor's SQLite file), or a new PostgreSQL database dropped after the test (the
    server connects with its own URL: a schema on the search path would not reach it)."""
    if request.param == "sqlite":
        yield None
        return
    async with throwaway_database(POSTGRES_URL, "cc_ivr") as url:
        yield url


async def test_ivr_sessions_counted_per_node_with_containment(tmp_path, database_url):
    settings = floor_settings(tmp_path, 20.0, flows_dir=str(funnel_flows(tmp_path)))
    if database_url is not None:
        settings = replace(settings, database=replace(settings.database, url=database_url))
    async with running_floor(tmp_path, settings=settings) as floor:
        recorder = floor.server.reports.ivr_sessions
        queued = await floor.sim.place_call(CallerScript(
            caller_id="5550101", exten="200", steps=[Press("1", after=0.5)], hangup_after=400))
        menu = await floor.sim.place_call(CallerScript(
            caller_id="5550102", exten="200", steps=[], hangup_after=10))
        served = await floor.sim.place_call(CallerScript(
            caller_id="5550103", exten="200", steps=[Silence(), Press("9", after=0.5)],
            hangup_after=400))
        for call in (queued, menu, served):
            await asyncio.wait_for(call.ended(), timeout=60)
        await until(lambda: recorder.recorded + recorder.pending >= 3)

        http = await login(floor, "sup", "supervisor")
        async with http:
            async def get(path: str) -> tuple[dict, list[list[str]]]:
                async with http.get(f"{floor.web_url}/api/reports/{path}") as r:
                    assert r.status == 200, await r.text()
                    data = await r.json()
                csv_path = path.replace("ivr?", "ivr.csv?")
                async with http.get(f"{floor.web_url}/api/reports/{csv_path}") as r:
                    assert r.status == 200 and r.content_type == "text/csv"
                    sheet = list(csv.reader(io.StringIO(await r.text())))
                return data, sheet

            flows, flows_csv = await get("ivr?by=total&flow=demo")
            nodes, nodes_csv = await get("ivr?by=total&group=node&flow=demo")
            async with http.get(f"{floor.web_url}/api/reports/options") as r:
                options = await r.json()

        # Per flow: three sessions, one queued, one hung up in the menu, one self-served.
        assert [r["flow"] for r in flows["rows"]] == ["demo"]
        row = flows["rows"][0]
        assert {k: row[k] for k in ("sessions", "queued", "transferred", "fallback",
                                    "caller_hangups", "completed", "contained")} == {
            "sessions": 3, "queued": 1, "transferred": 0, "fallback": 0, "caller_hangups": 1,
            "completed": 1, "contained": 2}
        assert row["containment_pct"] == 66.7
        assert flows["totals"]["sessions"] == 3 and flows["totals"]["containment_pct"] == 66.7
        assert flows["filters"]["flow"] == ["demo"] and "demo" in options["flows"]

        # Per node: how many reached it, and where they left.
        by_node = {r["node"]: r for r in nodes["rows"]}
        reached = {n: r["reached"] for n, r in by_node.items()}
        assert reached == {"identify": 3, "welcome": 3, "main_menu": 3, "sales": 1,
                           "opening_hours": 1, "goodbye": 1}
        assert [r["node"] for r in nodes["rows"]] == [
            "identify", "welcome", "main_menu", "opening_hours", "sales", "goodbye"]
        left = {n: r["left"] for n, r in by_node.items() if r["left"]}
        assert left == {"main_menu": 1, "goodbye": 1}  # the queued caller did not leave
        assert {n: r["caller_hangups"] for n, r in by_node.items() if r["caller_hangups"]} == {
            "main_menu": 1}
        assert {n: r["ended"] for n, r in by_node.items() if r["ended"]} == {
            "main_menu": 1, "goodbye": 1, "sales": 1}
        assert by_node["sales"]["reached_pct"] == 33.3 and by_node["identify"]["sessions"] == 3
        assert nodes["totals"]["left"] == 2 and nodes["totals"]["reached"] is None

        # JSON and CSV carry the very same values.
        for data, sheet in ((flows, flows_csv), (nodes, nodes_csv)):
            assert sheet[0] == data["columns"]
            for json_row, csv_row in zip([*data["rows"], data["totals"]], sheet[1:], strict=True):
                assert csv_row == ["" if json_row[c] is None else str(json_row[c])
                                   for c in data["columns"]]

        # Each session's path, in order, and the queued one's interaction.
        async with floor.server.db.engine.connect() as c:
            from contactcenter.reports.tables import ivr_session_nodes, ivr_sessions
            sessions = (await c.execute(ivr_sessions.select())).mappings().all()
            steps = (await c.execute(ivr_session_nodes.select().order_by(
                ivr_session_nodes.c.session_id, ivr_session_nodes.c.seq))).mappings().all()
        paths = {s["ending"]: [n["node"] for n in steps if n["session_id"] == s["id"]]
                 for s in sessions}
        assert paths == {"queued": QUEUED, "caller_hangup": MENU_HANGUP,
                         "completed": SELF_SERVED}
        iids = {s["ending"]: s["interaction_id"] for s in sessions}
        rows = await floor.server.routing.log.events(limit=1000)
        entered = {r["interaction_id"] for r in rows if r["kind"] == "enter"}
        assert entered == {iids["queued"]} and iids["caller_hangup"] is None
        assert all(s["started_at"] <= s["ended_at"] for s in sessions)

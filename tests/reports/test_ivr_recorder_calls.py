"""Over real sockets (PBX simulator -> FastAGI -> IVR handler), the reports' recorder keeps each
session with its path while the database fails: the caller hears exactly the same commands, the
sessions wait in memory, and are written once the database is back."""

from __future__ import annotations

import asyncio

from contactcenter.domain.clock import Clock
from contactcenter.ivr.handler import make_ivr_handler
from contactcenter.ivr.lookups import LookupRouter
from contactcenter.ivr.ports import CollectingEvents, QueueOutcome, QueueRequest
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.settings import IvrSettings
from contactcenter.reports.intervals import Calendar
from contactcenter.reports.ivr_recorder import IvrRecorder
from contactcenter.reports.ivr_report import IvrQuery, IvrReader
from contactcenter.reports.queries import ReportQuery
from contactcenter.sim import CallerScript, Press, SimConfig, Simulator
from contactcenter.storage.database import Database
from contactcenter.telephony.agi.server import FastAgiServer

FLOW = """
entry: menu
nodes:
  menu:
    type: menu
    prompt: custom/menu
    choices: {1: sales, 9: bye}
    timeout: 3
    retries: 2
    on_timeout: bye
  sales: {type: queue, queue: sales}
  bye: {type: hangup, prompt: goodbye}
"""


class ConnectingQueue:
    """The queue port as the IVR sees it: every call is connected at once."""

    async def run(self, call, request: QueueRequest) -> QueueOutcome:  # type: ignore[no-untyped-def]
        return QueueOutcome("connected")


async def test_sessions_survive_a_database_that_fails(tmp_path):
    clock = Clock(speed=20.0)
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "f.yaml").write_text(FLOW)
    settings = IvrSettings(flows_dir=tmp_path / "flows")
    registry = FlowRegistry(settings)
    assert registry.poll() == ["f"]
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cc.sqlite3'}")  # no tables: every write fails
    recorder = IvrRecorder(db, flush_s=0.01)
    await recorder.start()
    events = CollectingEvents()
    server = FastAgiServer(host="127.0.0.1", port=0, allowed_networks=["127.0.0.0/8"],
                           clock=clock)
    server.route("ivr", make_ivr_handler(registry, queue=ConnectingQueue(),
                                         lookups=LookupRouter({}), events=events, clock=clock,
                                         settings=settings, sessions=recorder))
    await server.start()
    sim = Simulator(SimConfig(agi_url=f"agi://127.0.0.1:{server.port}/ivr?flow=f", clock=clock))
    await sim.start()
    try:
        calls = [await sim.place_call(CallerScript(exten="100", caller_id="5551234",
                                                   steps=steps, hangup_after=600.0))
                 for steps in ([Press("1", after=0.5)], [Press("9", after=0.5)])]
        for call in calls:
            await asyncio.wait_for(call.ended(), 30)
        while len(events.results) < 2 or recorder.pending < 2:
            await asyncio.sleep(0.01)  # the handler returns just after the call's last command
        assert calls[1].agi_commands == ["ANSWER", 'STREAM FILE custom/menu "0123456789*#"',
                                         'STREAM FILE goodbye ""', "HANGUP"]
        assert recorder.recorded == 0 and recorder.dropped == 0  # kept, not lost
        await db.create_all()  # the database is back
        while recorder.pending:
            await asyncio.sleep(0.01)  # the background writer's next turn
        assert recorder.recorded == 2
        reader = IvrReader(db, Calendar("UTC"), clock.time)
        today = Calendar("UTC").today(clock.time())
        report = await reader.report(IvrQuery(ReportQuery(today, today, "total", "node")))
        assert {r["node"]: (r["reached"], r["left"]) for r in report.rows} == {
            "menu": (2, 0), "sales": (1, 0), "bye": (1, 1)}
    finally:
        await sim.stop()
        await server.stop(grace=1.0)
        await recorder.close()
        await db.close()

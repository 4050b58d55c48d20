"""Several FastAGI nodes: the simulator runs the shipped dialplan's node loop over real sockets.

A node that refuses the connection (a standby, a stopped server) makes AGI() return
AGISTATUS=FAILURE at once, and the dialplan tries the next node; a queued caller (CC_RESUME=1)
whose server goes away comes back over the node list; a call no node takes is retried for a
few rounds and then hung up. The simulator's tables are checked against the shipped file.
"""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

from sim_agi_helpers import AgiConn, AgiServer
from sim_conformance import RawAmi

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, Phone, SimConfig, Simulator
from contactcenter.sim.agi_nodes import FRESH_ROUNDS, NODE_LABELS, NODE_SUBROUTINES

REPO = Path(__file__).resolve().parents[2]
DIALPLAN = REPO / "dialplan/extensions_contactcenter.conf"
_LINE = re.compile(r"^\s*(?:exten\s*=>\s*(?P<exten>[^,]+),1|same\s*=>\s*n)(?:\((?P<label>\w+)\))?,"
                   r"(?P<app>\w+)\((?P<data>.*)\)\s*$")


def shipped(context: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """The shipped file's ``[context]``: exten -> [(application, data, label)] by priority."""
    out: dict[str, list[tuple[str, str, str | None]]] = {}
    section, exten = None, ""
    for raw in DIALPLAN.read_text().splitlines():
        line = raw.split(";", 1)[0].rstrip() if not raw.lstrip().startswith(";") else ""
        if line.startswith("["):
            section = line.strip("[]")
            continue
        m = _LINE.match(line)
        if section != context or m is None:
            continue
        exten = m.group("exten") or exten
        out.setdefault(exten, []).append((m.group("app"), m.group("data"), m.group("label")))
    return out


def closed_port() -> int:
    """A port nothing listens on (bound, then closed: connecting is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(predicate, limit_s: float = 20.0) -> None:
    """Poll ``predicate`` (a guard against a hang, not a timing under test)."""
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), limit_s)


def agi_status(sim: Simulator) -> list[str]:
    return [e["Value"] for e in sim.events.named("VarSet") if e["Variable"] == "AGISTATUS"]


def steps(sim: Simulator, channel: str) -> list[tuple[str, str, str, str]]:
    """The priorities ``channel`` ran: (context, priority, application, substituted data)."""
    return [(e["Context"], e["Priority"], e["Application"], e["AppData"])
            for e in sim.events.named("Newexten") if e["Channel"] == channel]


def test_the_simulator_runs_the_shipped_subroutines_with_their_labels():
    subs = shipped("contactcenter-subs")
    for (ctx, exten), prios in NODE_SUBROUTINES.items():
        assert [(app, data) for app, data, _ in subs[exten]] == list(prios), exten
        labels = {(ctx, exten, n): label for n, (_a, _d, label) in enumerate(subs[exten], 1)
                  if label}
        assert labels == {k: v for k, v in NODE_LABELS.items() if k[1] == exten}
    for context, exten, script in (("contactcenter-inbound", "_[0-9*#+]!", "ivr"),
                                   ("contactcenter-callback", "s", "callback")):
        assert shipped(context)[exten][2:] == [
            ("Gosub", "contactcenter-subs,agi-nodes,1", None),
            ("AGI", f"${{CC_AGI_URL}}/{script}", "agi"),
            ("Gosub", "contactcenter-subs,agi-next,1", None),
            ("GotoIf", '$["${GOSUB_RETVAL}" = "1"]?agi', None),
            ("Hangup", "", None)]


async def answer_then_close(conn: AgiConn) -> str:
    assert await conn.cmd("ANSWER") == "200 result=0\n"
    return conn.env["agi_request"]


async def test_a_refused_first_node_sends_a_new_call_to_the_second_at_once():
    first = closed_port()
    async with AgiServer(answer_then_close) as second:
        urls = (f"agi://127.0.0.1:{first}/ivr?flow=main", second.url())
        sim = Simulator(SimConfig(clock=Clock(speed=50), agi_urls=urls))
        await sim.start()
        try:
            call = await sim.place_call(CallerScript(hangup_after=None))
            await asyncio.wait_for(call.ended(), 10)
        finally:
            await sim.stop()
    assert second.results == [second.url()]
    assert agi_status(sim) == ["FAILURE", "SUCCESS"]
    assert call.outcome == "agi-closed"
    assert not sim.events.named("MusicOnHoldStart")  # the next node at once, no pause
    subs = "contactcenter-subs"
    assert steps(sim, call.agi_channel)[2:] == [
        ("cc-inbound", "3", "AGI", urls[0]),
        ("cc-inbound", "4", "Gosub", f"{subs},agi-next,1"),
        (subs, "1", "GotoIf", "1?next"),
        (subs, "10", "Set", "CC_NODE=2"),
        (subs, "11", "Set", f"CC_AGI_URL=agi://127.0.0.1:{second.port}"),
        (subs, "12", "Return", "1"),
        ("cc-inbound", "5", "GotoIf", "1?agi"),
        ("cc-inbound", "3", "AGI", urls[1]),
        ("cc-inbound", "4", "Gosub", f"{subs},agi-next,1"),
        (subs, "1", "GotoIf", "0?next"),
        (subs, "2", "GotoIf", "0?again"),
        (subs, "3", "GotoIf", "0?again"),
        (subs, "4", "Return", "0"),
        ("cc-inbound", "5", "GotoIf", "0?agi"),
        ("cc-inbound", "6", "Hangup", ""),
    ]


class Node:
    """One server's FastAGI listener on its own port; ``stop`` takes it away (refused after)."""

    def __init__(self, script) -> None:
        self.script = script
        self.envs: list[dict[str, str]] = []
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.tasks: set[asyncio.Task] = set()

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    def url(self) -> str:
        return f"agi://127.0.0.1:{self.port}/ivr?flow=main"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        conn = AgiConn(reader, writer)
        try:
            self.envs.append(await conn.read_env())
            await self.script(self, conn)
        finally:
            self.tasks.discard(task)
            await conn.close()


async def queue_then_die(node: Node, conn: AgiConn) -> None:
    """The leader: the caller waits in a queue (CC_RESUME=1), then the node goes away."""
    assert await conn.cmd("SET VARIABLE CC_RESUME 1") == "200 result=1\n"
    assert node.server is not None
    node.server.close()  # stop listening first: the retry finds the port refused
    await node.server.wait_closed()
    node.server = None


async def take_back_and_hang_up(node: Node, conn: AgiConn) -> None:
    """The new leader: the caller is back; it ends the call."""
    assert (await conn.cmd("GET VARIABLE CC_RESUME")).startswith("200 result=1 (1)")
    assert await conn.cmd("HANGUP") == "200 result=1\n"


async def test_a_queued_caller_whose_node_goes_away_comes_back_on_the_other_node():
    leader, standby = Node(queue_then_die), Node(take_back_and_hang_up)
    await leader.start()
    standby_port = closed_port()  # a standby: nothing listens yet
    sim = Simulator(SimConfig(clock=Clock(speed=50), agi_urls=(
        leader.url(), f"agi://127.0.0.1:{standby_port}/ivr?flow=main")))
    await sim.start()
    try:
        call = await sim.place_call(CallerScript(hangup_after=None))
        await until(lambda: leader.envs and leader.server is None)
        # The standby takes over only after a round found no node (it is not listening yet).
        await until(lambda: agi_status(sim).count("FAILURE") >= 2)
        await standby.start(standby_port)
        await asyncio.wait_for(call.ended(), 10)
    finally:
        await sim.stop()
        await leader.stop()
        await standby.stop()
    uniqueid = leader.envs[0]["agi_uniqueid"]
    assert [env["agi_uniqueid"] for env in standby.envs] == [uniqueid]
    status = agi_status(sim)
    # leader: SUCCESS (it closed); round 2: both refused; round 3: the leader's port refused,
    # then the new leader, which hung the call up.
    assert status[0] == "SUCCESS" and status[-2:] == ["FAILURE", "HANGUP"]
    assert set(status[1:-1]) == {"FAILURE"}
    tries = [e["Value"] for e in sim.events.named("VarSet")
             if e["Variable"] == "CC_TRIES" and e["Channel"] == call.agi_channel]
    assert tries == [str(n) for n in range(1, len(tries) + 1)] and len(tries) >= 2
    assert len(sim.events.named("MusicOnHoldStart")) == len(tries)


async def test_a_new_call_no_node_takes_is_retried_a_few_rounds_then_hung_up():
    urls = tuple(f"agi://127.0.0.1:{closed_port()}/ivr?flow=main" for _ in range(2))
    sim = Simulator(SimConfig(clock=Clock(speed=100), agi_urls=urls))
    await sim.start()
    try:
        call = await sim.place_call(CallerScript(hangup_after=None))
        await asyncio.wait_for(call.ended(), 10)
    finally:
        await sim.stop()
    assert call.outcome == "agi-failed"
    assert agi_status(sim) == ["FAILURE"] * 2 * (FRESH_ROUNDS + 1)
    tries = [e["Value"] for e in sim.events.named("VarSet") if e["Variable"] == "CC_TRIES"]
    assert tries == [str(n) for n in range(1, FRESH_ROUNDS + 1)]
    agi = [data for _ctx, _prio, app, data in steps(sim, call.agi_channel) if app == "AGI"]
    assert agi == list(urls) * (FRESH_ROUNDS + 1)  # every round from the first node
    assert steps(sim, call.agi_channel)[-1] == ("cc-inbound", "6", "Hangup", "")
    assert not sim.channels


async def test_one_node_only_a_refused_new_call_is_hung_up_at_once_as_before():
    sim = Simulator(SimConfig(clock=Clock(speed=50),
                              agi_url=f"agi://127.0.0.1:{closed_port()}/ivr?flow=main"))
    await sim.start()
    try:
        call = await sim.place_call(CallerScript(hangup_after=None))
        await asyncio.wait_for(call.ended(), 10)
    finally:
        await sim.stop()
    assert agi_status(sim) == ["FAILURE"]
    assert not sim.events.named("MusicOnHoldStart")
    assert call.outcome == "agi-failed"


async def test_the_callback_context_tries_the_nodes_too():
    async def callback(conn: AgiConn) -> str:
        assert conn.env["agi_context"] == "contactcenter-callback"
        assert await conn.cmd("HANGUP") == "200 result=1\n"
        return conn.env["agi_network_script"]

    first = closed_port()
    async with AgiServer(callback) as second:
        sim = Simulator(SimConfig(clock=Clock(speed=50), agi_urls=(
            f"agi://127.0.0.1:{first}/ivr", second.url())))
        sim.add_phone(Phone("PJSIP/1003", answer_after=0.5, talk_for=None))
        await sim.start()
        ami = await RawAmi.connect(sim.ami_port)
        try:
            await ami.banner()
            ami.send_raw("Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\nEvents: off\r\n\r\n")
            assert (await ami.next_reply()).get("Response") == "Success"
            ami.send_raw("Action: Originate\r\nChannel: PJSIP/1003\r\nContext: contactcenter-callback"
                         "\r\nExten: s\r\nPriority: 1\r\nAsync: true\r\nActionID: o1\r\n\r\n")
            await until(lambda: second.results and not sim.channels)
        finally:
            ami.close()
            await sim.stop()
    assert second.results == ["callback"]
    assert agi_status(sim) == ["FAILURE", "HANGUP"]
    leg = next(e["Channel"] for e in sim.events.named("Newexten")
               if e["Context"] == "contactcenter-callback")
    ran = steps(sim, leg)
    subs = "contactcenter-subs"
    joined = f"agi://127.0.0.1:{first}&agi://127.0.0.1:{second.port}"
    assert ran[:12] == [
        ("contactcenter-callback", "1", "NoOp", "contactcenter callback s"),
        ("contactcenter-callback", "2", "Answer", ""),
        ("contactcenter-callback", "3", "Gosub", f"{subs},agi-nodes,1"),
        (subs, "1", "Set", f"CC_AGI_NODES={joined}"),
        (subs, "2", "GotoIf", "1?count"),
        (subs, "6", "Set", "CC_AGI_NODE_COUNT=2"),
        (subs, "7", "Set", "CC_NODE=1"),
        (subs, "8", "Set", f"CC_AGI_URL=agi://127.0.0.1:{first}"),
        (subs, "9", "Return", ""),
        ("contactcenter-callback", "4", "AGI", f"agi://127.0.0.1:{first}/callback"),
        ("contactcenter-callback", "5", "Gosub", f"{subs},agi-next,1"),
        (subs, "1", "GotoIf", "1?next"),
    ]
    assert ran[15:17] == [("contactcenter-callback", "6", "GotoIf", "1?agi"),
                          ("contactcenter-callback", "4", "AGI", second.url("callback"))]


async def test_showdialplan_lists_the_node_subroutines_with_their_labels():
    sim = Simulator(SimConfig(clock=Clock()))
    await sim.start()
    ami = await RawAmi.connect(sim.ami_port)
    try:
        await ami.banner()
        ami.send_raw("Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\nEvents: off\r\n\r\n")
        assert (await ami.next_reply()).get("Response") == "Success"
        ami.send_raw("Action: ShowDialPlan\r\nContext: contactcenter-subs\r\nExtension: agi-next"
                     "\r\nActionID: d2\r\n\r\n")
        items = []
        while True:
            msg = await ami.next()
            assert msg is not None
            if msg.get("ActionID") != "d2":
                continue
            if msg.get("Event") == "ListDialplan":
                items.append(msg)
            if msg.get("EventList") == "Complete":
                break
    finally:
        ami.close()
        await sim.stop()
    assert [m.get("Application") for m in items] == [a for a, _ in NODE_SUBROUTINES[
        ("contactcenter-subs", "agi-next")]]
    assert {m.get("Priority"): m.get("ExtensionLabel") for m in items
            if m.get("ExtensionLabel")} == {"5": "again", "10": "next"}
    labelled = next(m for m in items if m.get("Priority") == "10")
    assert [k for k, _ in labelled.headers][:6] == [
        "Event", "ActionID", "Context", "Extension", "ExtensionLabel", "Priority"]

"""ShowDialPlan on the simulator, header for header as Asterisk 23.4.1 answered the server's
least-privilege AMI user (``reporting`` write class) for the shipped offer subroutine."""

from __future__ import annotations

from sim_conformance import RawAmi

from contactcenter.domain.clock import Clock
from contactcenter.sim import SimConfig, Simulator

OFFER_LISTED = [
    [("Response", "Success"), ("ActionID", "d1"), ("EventList", "start"),
     ("Message", "DialPlan list will follow")],
    [("Event", "ListDialplan"), ("ActionID", "d1"), ("Context", "contactcenter-subs"),
     ("Extension", "offer"), ("Priority", "1"), ("Application", "MSet"),
     ("AppData", ("CC_RESUME=1,CC_INTERACTION=${ARG1},CC_AGENT=${ARG2},CC_OFFER=${ARG3},"
                  "DIALSTATUS=")),
     ("Registrar", "pbx_config")],
    [("Event", "ListDialplan"), ("ActionID", "d1"), ("Context", "contactcenter-subs"),
     ("Extension", "offer"), ("Priority", "2"), ("Application", "Return"), ("AppData", ""),
     ("Registrar", "pbx_config")],
    [("Event", "ShowDialPlanComplete"), ("ActionID", "d1"), ("EventList", "Complete"),
     ("ListItems", "2"), ("ListExtensions", "1"), ("ListPriorities", "2"),
     ("ListContexts", "1")],
]


async def _ask(sim: Simulator, *actions: str) -> list[list[tuple[str, str]]]:
    ami = await RawAmi.connect(sim.ami_port)
    try:
        await ami.banner()
        ami.send_raw("Action: Login\r\nUsername: cc\r\nSecret: ccsecret\r\nEvents: off\r\n\r\n")
        login = await ami.next_reply()
        assert login is not None and login.get("Response") == "Success"
        out = []
        for action in actions:
            ami.send_raw(action)
            while True:
                msg = await ami.next()
                assert msg is not None
                if msg.get("ActionID") is None:  # FullyBooted after the login
                    continue
                out.append(list(msg.headers))
                if msg.get("Response") == "Error" or msg.get("EventList") == "Complete":
                    break
        return out
    finally:
        ami.close()


async def test_the_offer_subroutine_is_listed_as_asterisk_lists_it():
    sim = Simulator(SimConfig(clock=Clock()))
    await sim.start()
    try:
        got = await _ask(sim, "Action: ShowDialPlan\r\nContext: contactcenter-subs\r\n"
                              "Extension: offer\r\nActionID: d1\r\n\r\n")
    finally:
        await sim.stop()
    assert got == OFFER_LISTED


async def test_a_dialplan_without_it_answers_with_asterisks_errors():
    sim = Simulator(SimConfig(clock=Clock(), without_offer_sub=True))
    await sim.start()
    try:
        got = await _ask(
            sim,
            "Action: ShowDialPlan\r\nContext: contactcenter-subs\r\nExtension: offer\r\n"
            "ActionID: d2\r\n\r\n",
            "Action: ShowDialPlan\r\nContext: nosuchctx\r\nExtension: offer\r\n"
            "ActionID: d3\r\n\r\n")
    finally:
        await sim.stop()
    assert got == [
        [("Response", "Error"), ("ActionID", "d2"),
         ("Message", "Did not find extension offer@contactcenter-subs")],
        [("Response", "Error"), ("ActionID", "d3"), ("Message", "Did not find context nosuchctx")],
    ]

"""``AgiSession.dial(answered=Subroutine(...))``: Dial's option ``U`` stamps the agent's answer.

Every Dial to an agent carries ``U(contactcenter-answered^<interaction>^<offer>)``: once the
agent answered, Asterisk runs the dialplan's ``[contactcenter-answered] s`` on the agent's leg,
which sets ``SHARED(CC_ANSWERED,<interaction>)`` on the caller's channel (voice/answer_stamp.py).
Driven end to end: the simulator places a call to our FastAGI server, whose handler dials a
simulated phone; the stamp is read back over AGI and AMI as a restarted server would.
"""

from __future__ import annotations

import pytest
from agi_call import run_call

from contactcenter.domain.clock import Clock
from contactcenter.sim import Phone, SimConfig, Simulator
from contactcenter.telephony.agi.api import Subroutine
from contactcenter.telephony.agi.session import AgiSession
from contactcenter.voice.answer_stamp import FUNCTION, answered_subroutine, stamped_at


async def test_the_answered_leg_stamps_the_caller_with_the_offer_and_the_time():
    seen: dict[str, str | None] = {}

    async def handler(s: AgiSession) -> None:
        seen["uniqueid"] = s.env.uniqueid
        seen["status"] = await s.dial("PJSIP/3001", 20, "g",
                                      answered=answered_subroutine(s.env.uniqueid, "4"))
        seen["stamp"] = await s.get_variable(FUNCTION)
        seen["plain"] = await s.get_variable("CC_ANSWERED")  # a datastore, not a variable

    commands, sim = await run_call(handler, [Phone("PJSIP/3001", answer_after=0.5, talk_for=1.0)])
    uid = seen["uniqueid"]
    assert commands[0] == f"EXEC Dial PJSIP/3001,20,gU(contactcenter-answered^{uid}^4)"
    assert seen["status"] == "ANSWER" and seen["plain"] is None
    stamp = seen["stamp"] or ""
    assert stamp.startswith("4@") and stamped_at(stamp, "4", 1e12) is not None
    events = [dict(h) for h in sim.events.history]
    # As app_dial.c runs it: on the agent's leg, after DIALEDPEERNUMBER, before DialEnd and the
    # bridge; the subroutine's Newexten at s,1 of its context; the VarSet on the caller (the
    # frame's VarSets as for B(), seen on Asterisk 23.4.1).
    caller = next(e["Channel"] for e in events if e["Event"] == "VarSet"
                  and e.get("Variable") == "SHARED(CC_ANSWERED)")
    assert caller.endswith(";2")  # the caller's (AGI) channel
    order = [(e["Event"], e.get("Variable"), e.get("Channel") == caller) for e in events
             if e["Event"] in ("VarSet", "Newexten", "DialEnd", "BridgeEnter")]
    shared = order.index(("VarSet", "SHARED(CC_ANSWERED)", True))
    assert order[shared - 5:shared + 8] == [
        ("VarSet", "DIALEDPEERNUMBER", True),  # Dial's answer variables on the caller
        ("VarSet", "LOCAL(ARG1)", False), ("VarSet", "LOCAL(ARG2)", False),  # the agent's leg
        ("VarSet", "LOCAL(ARGC)", False), ("Newexten", None, False),
        ("VarSet", "SHARED(CC_ANSWERED)", True),  # written on the caller
        ("Newexten", None, False), ("VarSet", "ARGC", False), ("VarSet", "ARG2", False),
        ("VarSet", "ARG1", False), ("VarSet", "GOSUB_RETVAL", False),
        ("DialEnd", None, True), ("BridgeEnter", None, False)]
    sub = [e for e in events if e["Event"] == "Newexten"
           and e.get("Context") == "contactcenter-answered"]
    assert [(e["Extension"], e["Priority"], e["Application"]) for e in sub] == [
        ("s", "1", "Set"), ("s", "2", "Return")]
    assert all(e["Channel"].startswith("PJSIP/3001-") for e in sub)
    assert sub[0]["AppData"] == f"SHARED(CC_ANSWERED,{uid})={stamp}"


async def test_an_old_dialplan_without_the_subroutine_bridges_all_the_same():
    seen: dict[str, str | None] = {}

    async def handler(s: AgiSession) -> None:
        seen["status"] = await s.dial("PJSIP/3001", 20, "g",
                                      answered=answered_subroutine(s.env.uniqueid, "1"))
        seen["stamp"] = await s.get_variable(FUNCTION)

    await run_call(handler, [Phone("PJSIP/3001", answer_after=0.2, talk_for=0.5)],
                   without_answered_sub=True)
    assert seen == {"status": "ANSWER", "stamp": None}  # no datastore: SHARED() fails


def test_the_stamp_names_its_offer_and_is_never_after_now():
    assert stamped_at("3@1765112345.125", "3", 1765112400.0) == 1765112345.125
    assert stamped_at("3@1765112345.125", "4", 1765112400.0) is None  # an earlier offer's
    assert stamped_at("3@1765112999.0", "3", 1765112400.0) == 1765112400.0
    for bad in (None, "", "3", "3@", "3@soon", "@1765112345.1", "3@-1"):
        assert stamped_at(bad, "3", 1765112400.0) is None, bad


def test_u_takes_a_context_and_its_arguments_only():
    assert answered_subroutine("1763935200.42", "3").callee_option() == \
        "contactcenter-answered^1763935200.42^3"
    with pytest.raises(ValueError):
        Subroutine("contactcenter-subs", "offer").callee_option()  # U() always runs s,1


async def test_dial_refuses_a_second_u_option():
    refused: list[BaseException] = []

    async def handler(s: AgiSession) -> None:
        try:
            await s.dial("PJSIP/3001", 20, "gU(x)", answered=answered_subroutine("1.2", "1"))
        except ValueError as exc:
            refused.append(exc)

    commands, _ = await run_call(handler)
    assert len(refused) == 1 and not [c for c in commands if c.startswith("EXEC Dial")]


def test_shared_is_read_on_the_channel_or_by_uniqueid_and_is_no_plain_variable():
    # func_global.c: SHARED(var) reads the channel's own datastore; SHARED(var,chan) finds
    # chan by name or uniqueid (ast_channel_get_by_name). manager.c's Status and Getvar read
    # functions too (ast_func_read), which is how a restarted server asks for it.
    sim = Simulator(SimConfig(clock=Clock()))
    _, caller = sim.pbx.new_local_pair("100", "cc-inbound")
    sim.pbx.set_shared(caller, "CC_ANSWERED", "2@1765112345.5")
    assert sim.pbx.get_var(caller, "SHARED(CC_ANSWERED)") == "2@1765112345.5"
    assert sim.pbx.get_var(caller.peer, f"SHARED(CC_ANSWERED,{caller.uniqueid})") == \
        "2@1765112345.5"
    assert sim.pbx.get_var(caller.peer, "SHARED(CC_ANSWERED)") is None  # no datastore: -1
    sim.pbx.set_shared(caller, "OTHER", "x")
    assert sim.pbx.get_var(caller, "SHARED(MISSING)") == ""  # a datastore without it: ""
    assert sim.pbx.get_var(caller, "CC_ANSWERED") is None

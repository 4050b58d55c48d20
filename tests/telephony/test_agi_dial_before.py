"""``AgiSession.dial(before=Subroutine(...))``: Dial's option ``B`` sets the offer's variables.

The voice queue hands the offer's variables to the dialplan's ``[contactcenter-subs] offer``
subroutine, which Dial runs on the caller's channel before it calls the agent: one AGI round
trip for what took two (MSet, then Dial). Driven end to end: the simulator places a call to our
FastAGI server, whose handler dials a simulated phone.
"""

from __future__ import annotations

import pytest
from agi_call import run_call

from contactcenter.sim import Phone
from contactcenter.sim.dial import dial_options
from contactcenter.telephony.agi.api import Subroutine
from contactcenter.telephony.agi.session import AgiSession

OFFER = Subroutine("contactcenter-subs", "offer", ("1763935200.42", "agent_7@site-b", "3"))


async def test_the_subroutine_sets_the_offer_before_the_agent_is_called():
    seen: dict[str, str | None] = {}

    async def handler(s: AgiSession) -> None:
        await s.set_variable("DIALSTATUS", "NOANSWER")  # a stale status from an earlier Dial
        seen["status"] = await s.dial("PJSIP/3001", 20, "g", before=OFFER)
        for name in ("CC_RESUME", "CC_INTERACTION", "CC_AGENT", "CC_OFFER"):
            seen[name] = await s.get_variable(name)

    commands, sim = await run_call(handler, [Phone("PJSIP/3001", answer_after=0.5, talk_for=1.0)])
    assert commands[1] == ("EXEC Dial PJSIP/3001,20,gB(contactcenter-subs^offer^1("
                           "1763935200.42^agent_7@site-b^3))")
    assert not [c for c in commands if "MSet" in c]
    assert seen == {"status": "ANSWER", "CC_RESUME": "1", "CC_INTERACTION": "1763935200.42",
                    "CC_AGENT": "agent_7@site-b", "CC_OFFER": "3"}
    # As in Asterisk: the subroutine's VarSets come after Dial's own resets, before DialBegin.
    events = [dict(h) for h in sim.events.history]
    names = [(e["Event"], e.get("Variable")) for e in events
             if e["Event"] in ("VarSet", "DialBegin") and e.get("Channel", "").endswith(";2")]
    offer_set = names.index(("VarSet", "CC_OFFER"))
    assert names.index(("VarSet", "DIALEDTIME")) < offer_set < names.index(("DialBegin", None))
    # The subroutine's arguments, as Asterisk 23 reports them (seen on a real 23.4.1).
    assert names[offer_set - 7:offer_set - 3] == [
        ("VarSet", "LOCAL(ARG1)"), ("VarSet", "LOCAL(ARG2)"), ("VarSet", "LOCAL(ARG3)"),
        ("VarSet", "LOCAL(ARGC)")]
    assert names[offer_set + 2:offer_set + 7] == [
        ("VarSet", "ARGC"), ("VarSet", "ARG3"), ("VarSet", "ARG2"), ("VarSet", "ARG1"),
        ("VarSet", "GOSUB_RETVAL")]


async def test_a_dial_to_an_unreachable_agent_still_names_its_offer():
    # Dial runs B() before it requests any channel (app_dial.c), so a dial that fails at once
    # has still marked the offer: a restarted server reads CC_OFFER and DIALSTATUS and knows
    # that this very offer failed (voice.queue's resume), instead of a stale earlier one.
    seen: dict[str, str | None] = {}

    async def handler(s: AgiSession) -> None:
        await s.set_variable("CC_OFFER", "2")
        seen["status"] = await s.dial("PJSIP/nobody", 20, "g", before=OFFER)
        seen["offer"] = await s.get_variable("CC_OFFER")

    await run_call(handler)
    assert seen == {"status": "CHANUNAVAIL", "offer": "3"}


async def test_an_unknown_subroutine_is_skipped_and_the_dial_goes_on():
    seen: dict[str, str | None] = {}

    async def handler(s: AgiSession) -> None:
        seen["status"] = await s.dial("PJSIP/3001", 20, "",
                                      before=Subroutine("somewhere-else", "s", ("x",)))
        seen["offer"] = await s.get_variable("CC_OFFER")

    await run_call(handler, [Phone("PJSIP/3001", answer_after=0.2, talk_for=0.5)])
    assert seen == {"status": "ANSWER", "offer": None}


@pytest.mark.parametrize("part", ["a^b", "a,b", "f(x)", "a)", "${EXTEN}", "a b", 'a"', "a\nb",
                                  "é", "a[1]"])
def test_subroutine_parts_are_ids_only(part):
    with pytest.raises(ValueError):
        Subroutine("contactcenter-subs", "offer", ("1", part))
    with pytest.raises(ValueError):
        Subroutine(part, "offer")
    with pytest.raises(ValueError):
        Subroutine("contactcenter-subs", part)


async def test_dial_refuses_a_second_b_option():
    refused: list[BaseException] = []

    async def handler(s: AgiSession) -> None:
        try:
            await s.dial("PJSIP/3001", 20, "gB(x^s^1)", before=OFFER)
        except ValueError as exc:
            refused.append(exc)

    commands, _ = await run_call(handler)
    assert len(refused) == 1 and not [c for c in commands if c.startswith("EXEC Dial")]


def test_dial_options_take_arguments_to_the_matching_parenthesis():
    assert dial_options("gB(contactcenter-subs^offer^1(a^b^c))tL(60000)") == {
        "g": None, "B": "contactcenter-subs^offer^1(a^b^c)", "t": None, "L": "60000"}
    assert dial_options("") == {}
    assert dial_options("U(sub") == {"U": "sub"}  # unclosed: the rest, as Asterisk takes it

"""The server asks each PBX (AMI ShowDialPlan) for the subroutine every Dial to an agent runs.

An Asterisk with an older extensions_contactcenter.conf dials all the same, so only this check
shows that callers ringing an agent at a restart would be hung up (seen on a real Asterisk
23.4.1: ``Gosub attempted to reach non-existent destination`` in its log, nothing on AMI).
"""

from __future__ import annotations

import asyncio

import aiohttp
from floor import running_floor

from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.voice.dialplan_check import OK, UNCHECKED, answered_verdict, verdict


async def _health_and_metric(url: str) -> tuple[dict, list[str]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/api/health") as r:
            body = await r.json()
        async with http.get(f"{url}/metrics") as r:
            lines = [x for x in (await r.text()).splitlines()
                     if x.startswith("cc_pbx_dialplan_ok{")]
    return body, lines


async def test_a_pbx_without_the_offer_subroutine_is_reported(tmp_path):
    async with running_floor(tmp_path) as floor:
        check = floor.server.voice.dialplan_check
        for _ in range(100):  # asked after the first AMI resync
            if check.of("sim") != UNCHECKED:
                break
            await asyncio.sleep(0.05)
        assert check.of("sim") == OK
        body, metric = await _health_and_metric(floor.web_url)
        assert body["status"] == "ok" and body["ami"][0]["dialplan"] == "ok"
        assert metric == ['cc_pbx_dialplan_ok{pbx="sim"} 1.0']

        floor.sim.config.without_offer_sub = True  # an Asterisk with an old dialplan
        answer = await check.check("sim")
        assert answer.startswith("Did not find extension offer@contactcenter-subs: update "
                                 "extensions_contactcenter.conf")
        body, metric = await _health_and_metric(floor.web_url)
        assert body["status"] == "degraded" and body["ami"][0]["dialplan"] == answer
        assert body["ami"][0]["state"] == "connected"
        assert metric == ['cc_pbx_dialplan_ok{pbx="sim"} 0.0']

        # Older than the answered subroutine only (Dial's U(), voice/answer_stamp.py).
        floor.sim.config.without_offer_sub = False
        floor.sim.config.without_answered_sub = True
        answer = await check.check("sim")
        assert answer.startswith("Did not find context contactcenter-answered: update "
                                 "extensions_contactcenter.conf")
        body, metric = await _health_and_metric(floor.web_url)
        assert body["status"] == "degraded" and body["ami"][0]["dialplan"] == answer
        floor.sim.config.without_answered_sub = False
        assert await check.check("sim") == OK


def test_an_offer_subroutine_that_does_not_mark_the_offer_is_a_problem():
    def listed(*apps: tuple[str, str]) -> list[AmiMessage]:
        return [AmiMessage((("Event", "ListDialplan"), ("Context", "contactcenter-subs"),
                            ("Extension", "offer"), ("Priority", str(n)), ("Application", app),
                            ("AppData", data))) for n, (app, data) in enumerate(apps, 1)]

    mset = "CC_RESUME=1,CC_INTERACTION=${ARG1},CC_AGENT=${ARG2},CC_OFFER=${ARG3},DIALSTATUS="
    shipped = listed(("MSet", mset), ("Return", ""))
    assert verdict(shipped) == OK
    old = listed(("Set", "CC_RESUME=1"), ("Return", ""))
    assert verdict(old).startswith("[contactcenter-subs] offer does not set CC_OFFER=${ARG3}")
    assert verdict([]).startswith(
        "[contactcenter-subs] offer does not set CC_RESUME=1, CC_OFFER=${ARG3}")


def test_an_answered_subroutine_that_does_not_stamp_the_caller_is_a_problem():
    def listed(*apps: tuple[str, str]) -> list[AmiMessage]:
        return [AmiMessage((("Event", "ListDialplan"), ("Context", "contactcenter-answered"),
                            ("Extension", "s"), ("Priority", str(n)), ("Application", app),
                            ("AppData", data))) for n, (app, data) in enumerate(apps, 1)]

    shipped = listed(("Set", "SHARED(CC_ANSWERED,${ARG1})=${ARG2}@${STRFTIME(,,%s.%3q)}"),
                     ("Return", ""))
    assert answered_verdict(shipped) == OK
    assert answered_verdict(listed(("NoOp", "answered"), ("Return", ""))).startswith(
        "[contactcenter-answered] s does not set SHARED(CC_ANSWERED,${ARG1})=${ARG2}@<time>")

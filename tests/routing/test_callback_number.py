"""Callback numbers are checked before they reach a dial string; the request keeps the place."""

from __future__ import annotations

import pytest
from routing_helpers import agent, make_config

from contactcenter.domain.clock import Clock
from contactcenter.domain.interaction import Interaction
from contactcenter.domain.queue import QueueConfig
from contactcenter.routing.service import RoutingService
from contactcenter.voice.callback_call import OUTBOUND
from contactcenter.voice.callback_request import dialable_number, request_callback


@pytest.mark.parametrize("number", ["5551234", "+15551234", "911", "0" * 20, "+" + "4" * 20])
def test_digits_with_an_optional_leading_plus_are_dialable(number):
    assert dialable_number(number) == number
    assert OUTBOUND.format(number=number) == f"Local/{number}@contactcenter-outbound/n"


@pytest.mark.parametrize("number", [
    None, "", "anonymous", "Unknown", "12", "+", "++15551234", "555 1234", "555-1234",
    "(555)1234", "5551234\r\n", "5551234\n", "555\x001234", "5551234,t", "5551234&PJSIP/1",
    "Local/5551234@x", "*5551234", "5551234#", "1" * 21, "+" + "1" * 21, "٥٥٥١٢٣٤",
])
def test_anything_else_is_refused(number):
    with pytest.raises(ValueError):
        dialable_number(number)


CONFIG = make_config([QueueConfig("q")], [agent("a")])


async def test_request_keeps_the_place_or_says_why_not():
    svc = RoutingService(CONFIG, Clock(speed=1), None)
    await svc.start()
    try:
        await svc.enqueue(Interaction("voice", "q", id="c1"))
        await svc.enqueue(Interaction("voice", "q", id="c2"))
        await svc.withdraw("c1", "flow-max-wait")

        hidden = await request_callback(svc, "c1", None)
        assert (hidden.ok, hidden.detail) == (
            False, "refused: the caller id is not a dialable number")
        bad = await request_callback(svc, "c1", "555 1234")
        assert not bad.ok and bad.number is None

        done = await request_callback(svc, "c1", "+15551234", {"callback_name_file": "n.wav"})
        assert (done.ok, done.number, done.detail) == (True, "+15551234", "requested")
        assert svc.position("c1").position == 1 and svc.position("c2").position == 2
        assert svc.engine.live["c1"].data["callback_name_file"] == "n.wav"

        nowhere = await request_callback(svc, "never-queued", "5551234")
        assert not nowhere.ok and nowhere.detail.startswith("refused: no place in line to keep")
    finally:
        await svc.stop()

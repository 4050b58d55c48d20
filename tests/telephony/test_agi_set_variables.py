"""``AgiSession.set_variables``: several variables in one ``EXEC MSet``, id-like values only.

Driven end to end: the simulator (which speaks FastAGI like Asterisk 22) places a call to our
FastAGI server, whose handler sets the variables and reads them back.
"""

from __future__ import annotations

import pytest
from agi_call import run_call

from contactcenter.telephony.agi.session import AgiSession


async def _call(handler) -> list[str]:
    """Run ``handler`` on one simulated call; return the AGI commands the simulator received."""
    commands, _sim = await run_call(handler)
    return commands


async def test_set_variables_is_one_mset_round_trip():
    seen: dict[str, str | None] = {}

    async def handler(s: AgiSession) -> None:
        await s.set_variables({"CC_RESUME": "1", "CC_INTERACTION": "1763935200.42",
                               "CC_AGENT": "agent_7@site-b"})
        for name in ("CC_RESUME", "CC_INTERACTION", "CC_AGENT"):
            seen[name] = await s.get_variable(name)

    commands = await _call(handler)
    assert commands[0] == "EXEC MSet CC_RESUME=1,CC_INTERACTION=1763935200.42,CC_AGENT=agent_7@site-b"
    assert seen == {"CC_RESUME": "1", "CC_INTERACTION": "1763935200.42",
                    "CC_AGENT": "agent_7@site-b"}


@pytest.mark.parametrize("values", [
    {"CC_AGENT": "a,CC_RESUME=0"},  # would set another variable
    {"CC_AGENT": "x=y"}, {"CC_AGENT": 'a"b'}, {"CC_AGENT": "a\\b"}, {"CC_AGENT": "a b"},
    {"CC_AGENT": "${EXTEN}"}, {"CC_AGENT": "f(x)"}, {"CC_AGENT": "[x]"},
    {"CC_AGENT": "a\nb"}, {"CC_AGENT": "a\rb"}, {"CC_AGENT": "a\x00b"}, {"CC_AGENT": "é"},
    {"CDR(userfield)": "1"}, {"1X": "1"}, {"": "1"}, {"A B": "1"},
])
async def test_set_variables_refuses_anything_but_plain_names_and_ids(values):
    refused: list[BaseException] = []

    async def handler(s: AgiSession) -> None:
        try:
            await s.set_variables({"CC_RESUME": "1", **values})
        except ValueError as exc:
            refused.append(exc)
        await s.noop()

    commands = await _call(handler)
    assert len(refused) == 1
    assert commands == ["NOOP"]  # nothing of the refused call reached the wire

"""``EXEC MSet`` in the simulator: several variables in one AGI command, parsed like Asterisk 22.

main/pbx_variables.c (pbx_builtin_setvar_multiple) splits the data with
``AST_STANDARD_APP_ARGS`` (``,``; quotes removed; ``\\`` escapes; no split inside ``()``/``[]``),
then each entry at its first ``=``; an entry without ``=`` is skipped, and the result is 0.
"""

from __future__ import annotations

import asyncio

from sim_agi_helpers import AgiConn, AgiServer

from contactcenter.domain.clock import Clock
from contactcenter.sim import CallerScript, SimConfig, Simulator
from contactcenter.sim.agi_commands import app_args


async def _replies(commands: list[str]) -> list[str]:
    async def ivr(c: AgiConn) -> list[str]:
        return [await c.cmd(text) for text in commands]

    async with AgiServer(ivr) as agi:
        sim = Simulator(SimConfig(clock=Clock(speed=25.0), agi_url=agi.url()))
        await sim.start()
        try:
            call = await sim.place_call(CallerScript(hangup_after=60))
            await asyncio.wait_for(call.ended(), 20)
        finally:
            await sim.stop()
    assert not agi.errors, agi.errors
    return agi.results[0]  # type: ignore[return-value]


async def test_mset_sets_every_pair_in_one_command():
    replies = await _replies([
        "EXEC MSet CC_RESUME=1,CC_INTERACTION=1763935200.42,CC_AGENT=agent-7",
        "GET VARIABLE CC_RESUME", "GET VARIABLE CC_INTERACTION", "GET VARIABLE CC_AGENT",
    ])
    assert replies == ["200 result=0\n", "200 result=1 (1)\n", "200 result=1 (1763935200.42)\n",
                       "200 result=1 (agent-7)\n"]


async def test_mset_skips_entries_without_equals_and_keeps_the_rest_of_a_value():
    replies = await _replies([
        'EXEC MSet "A=x=y,NOPE,B=,C=\\"q\\""', "GET VARIABLE A", "GET VARIABLE NOPE",
        "GET VARIABLE B", "GET VARIABLE C",
    ])
    # The AGI line's quotes are AGI's; MSet's parser then removes the inner (escaped) ones.
    assert replies[0] == "200 result=0\n"
    assert replies[1] == "200 result=1 (x=y)\n"
    assert replies[2] == "200 result=0\n"  # never set
    assert replies[3] == "200 result=1 ()\n"
    assert replies[4] == "200 result=1 (q)\n"


def test_app_args_follows_ast_app_separate_args():
    assert app_args("A=1,B=2", ",", 99) == ["A=1", "B=2"]
    assert app_args("a,", ",", 99) == ["a", ""]  # a trailing delimiter makes one more argument
    assert app_args("", ",", 99) == []
    assert app_args('"a,b",c', ",", 99) == ["a,b", "c"]
    assert app_args("f(a,b),[c,d],e\\,f", ",", 99) == ["f(a,b)", "[c,d]", "e,f"]
    assert app_args("x=y=z", "=", 2) == ["x", "y=z"]  # the last argument is the raw rest
    assert app_args("nov", "=", 2) == ["nov"]

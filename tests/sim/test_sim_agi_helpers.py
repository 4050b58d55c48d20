"""The tests' FastAGI helper fails a test whose script raised, whether or not it looks."""

from __future__ import annotations

import asyncio

import pytest
from sim_agi_helpers import AgiConn, AgiServer


async def _one_call(agi: AgiServer) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
    writer.write(b"agi_channel: PJSIP/x-1\n\n")
    await writer.drain()
    await agi.done.wait()
    writer.close()


async def test_a_script_that_raised_fails_the_block():
    async def script(conn: AgiConn) -> None:
        assert conn.env["agi_channel"] == "something else"

    with pytest.raises(AssertionError, match="the AGI script raised"):
        async with AgiServer(script) as agi:
            await _one_call(agi)


async def test_errors_can_be_inspected_instead():
    async def script(conn: AgiConn) -> None:
        raise ValueError("expected by this test")

    async with AgiServer(script, allow_errors=True) as agi:
        await _one_call(agi)
    assert [str(e) for e in agi.errors] == ["expected by this test"]


async def test_a_script_still_running_at_the_end_is_stopped_not_an_error():
    started = asyncio.Event()

    async def script(conn: AgiConn) -> None:
        started.set()
        await asyncio.Event().wait()  # a call that lasts longer than the test

    async with AgiServer(script) as agi:
        _reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
        writer.write(b"agi_channel: PJSIP/x-1\n\n")
        await writer.drain()
        await started.wait()
    assert agi.errors == [] and agi.done.is_set()
    writer.close()

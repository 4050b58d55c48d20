"""Stopping the transcript worker: a stop right after start lets the database calls in progress
finish (no row left ``running``), and a stop during a transcription kills the child and queues
the recording again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from qa_audio import tone

from contactcenter.qa import tables as t
from contactcenter.qa.worker import engine_installed

pytestmark = pytest.mark.skipif(not engine_installed(), reason="pocketsphinx is not installed")

A, B = "a" * 32, "b" * 32
NOW = datetime(2026, 5, 1, tzinfo=UTC)


async def test_a_stop_right_after_start_leaves_no_row_running(qa_env):
    env = qa_env
    for rec_id in (A, B):
        await env.add_recording(rec_id, tone(1.0), queue="sales")
        await env.qa.transcripts.enqueue(rec_id, "sales", NOW)
    tasks_before = asyncio.all_tasks()
    await env.qa.start()
    await env.qa.close()
    assert env.qa.worker is not None and not env.qa.worker._tasks
    assert not env.qa.worker._children
    for rec_id in (A, B):
        row = await env.qa.transcripts.get(rec_id)
        assert row is not None and row.status in (t.PENDING, t.DONE), (row.status, row.error)
    assert asyncio.all_tasks() <= tasks_before | {asyncio.current_task()}


async def test_a_stop_during_a_transcription_kills_the_child_and_queues_it_again(qa_env):
    env = qa_env
    await env.add_recording(A, tone(600.0), queue="sales")  # ten minutes: still running at stop
    await env.qa.transcripts.enqueue(A, "sales", NOW)
    await env.qa.start()
    worker = env.qa.worker
    assert worker is not None

    async def child_running():
        while not worker._children:
            await asyncio.sleep(0.02)
    await asyncio.wait_for(child_running(), 30.0)  # only catches hangs
    (child,) = worker._children
    await env.qa.close()
    assert child.returncode is not None  # killed, not left behind
    row = await env.qa.transcripts.get(A)
    assert row.status == t.PENDING and row.error == "interrupted by shutdown"

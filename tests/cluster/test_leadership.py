"""The leader's lock, its term and the fence on the interaction log, on a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from contactcenter.domain import routing_events as rev
from contactcenter.routing.interaction_log import InteractionLog
from contactcenter.storage.database import Database
from contactcenter.storage.leadership import (
    Fenced,
    LeaderLease,
    LeaseSettings,
    current_leader,
)
from contactcenter.storage.schema import ensure_schema


def lease(url: str, node: str) -> LeaderLease:
    return LeaderLease(url, LeaseSettings(key=4242, node=node, timeout_s=2.0,
                                          keepalive_idle_s=3, keepalive_interval_s=1,
                                          keepalive_count=3))


async def migrated(url: str) -> Database:
    db = Database(url)
    await ensure_schema(db)
    return db


async def test_one_node_holds_the_lock_and_the_next_gets_a_higher_term(cluster_db_url):
    db = await migrated(cluster_db_url)
    a, b = lease(cluster_db_url, "a"), lease(cluster_db_url, "b")
    try:
        assert await a.try_acquire() == 1
        assert await b.try_acquire() is None  # held by a
        assert await a.holds() and not await b.holds()
        assert await current_leader(cluster_db_url) == ("a", 1)
        await a.release()  # as when a's process dies: the session ends, the lock with it
        assert not await a.holds()
        assert await b.try_acquire() == 2
        assert await current_leader(cluster_db_url) == ("b", 2)
    finally:
        await a.release()
        await b.release()
        await db.close()


async def test_a_terminated_session_is_no_proof_of_the_lock(cluster_db_url):
    db = await migrated(cluster_db_url)
    a = lease(cluster_db_url, "a")
    try:
        assert await a.try_acquire() == 1
        async with db.engine.connect() as conn:  # an operator kills the lock's backend
            await conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'contactcenter leader lock a'")
        assert not await a.holds()
    finally:
        await a.release()
        await db.close()


async def test_a_stale_leaders_writes_are_refused_and_it_learns_so(cluster_db_url):
    db = await migrated(cluster_db_url)
    a, b = lease(cluster_db_url, "a"), lease(cluster_db_url, "b")
    try:
        from contactcenter.storage.leadership import Fence

        fence_a = Fence(await a.try_acquire() or 0)
        log_a = InteractionLog(db, fence_a)
        await log_a.append([rev.Entered(at=1.0, interaction_id="i1", queue="q", channel="voice",
                                        priority=0, skills={}, position=1)])
        await a.release()
        assert await b.try_acquire() == 2  # b leads now; a has not noticed yet
        writer = log_a.writer()
        with pytest.raises(Fenced):
            await writer.append([rev.Abandoned(at=2.0, interaction_id="i1", queue="q",
                                               wait_s=1.0, stage="waiting")])
        await writer.release()
        assert fence_a.lost.is_set()
        kinds = [r["kind"] for r in await InteractionLog(db).events()]
        assert kinds == ["enter"]  # a's second write never landed
    finally:
        await a.release()
        await b.release()
        await db.close()


async def test_raising_the_term_waits_for_a_write_in_flight(cluster_db_url):
    # FOR SHARE: a write that read the old term commits before the new term exists, never after.
    db = await migrated(cluster_db_url)
    a, b = lease(cluster_db_url, "a"), lease(cluster_db_url, "b")
    import asyncpg

    from contactcenter.storage.leadership import TERM_SQL, asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(cluster_db_url))
    try:
        assert await a.try_acquire() == 1
        tx = conn.transaction()
        await tx.start()
        assert await conn.fetchval(TERM_SQL) == 1  # a write of term 1 in flight
        await a.release()
        take = asyncio.ensure_future(b.try_acquire())
        await asyncio.sleep(0.3)
        assert not take.done()  # b waits for the write to finish
        await tx.commit()
        assert await asyncio.wait_for(take, 5) == 2
    finally:
        await conn.close()
        await a.release()
        await b.release()
        await db.close()

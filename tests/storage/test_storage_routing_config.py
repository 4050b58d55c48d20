"""Stored queues, agents and skills: round trip, versions, conflicts, transactions (SQLite and
PostgreSQL when CC_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import pytest

from contactcenter.routing.config_store import RoutingConfigStore, VersionConflict

QUEUE = {"strategy": "most_skilled", "skills": {"french": 2},
         "relaxation": [{"after_s": 30, "lower_by": 1}], "description": "Français ✓"}


async def test_round_trip_of_each_kind(database):
    store = RoutingConfigStore(database)
    saved = await store.put("queues", "fr", QUEUE, True, 0, "root", 100.0)
    assert (saved.version, saved.updated_by, saved.updated_at) == (1, "root", 100.0)
    await store.put("agents", "2001", {"id": "2001", "skills": {"french": 3}}, True, 0, "root", 1)
    await store.put("skills", "french", {"description": "French"}, False, 0, "root", 2)
    loaded = await store.load()
    assert loaded["queues"]["fr"].document == QUEUE
    assert loaded["agents"]["2001"].document["skills"] == {"french": 3}
    skill = loaded["skills"]["french"]
    assert (skill.enabled, skill.document, skill.version) == (False, {"description": "French"}, 1)
    assert (await store.get("queues", "fr")) == loaded["queues"]["fr"]
    assert await store.get("queues", "nope") is None


async def test_versions_advance_and_stale_writers_lose(database):
    store = RoutingConfigStore(database)
    await store.put("queues", "fr", QUEUE, True, 0, "a", 1.0)
    second = await store.put("queues", "fr", {**QUEUE, "wrapup_s": 5}, False, 1, "b", 2.0)
    assert (second.version, second.enabled, second.updated_by) == (2, False, "b")
    with pytest.raises(VersionConflict) as stale:
        await store.put("queues", "fr", QUEUE, True, 1, "c", 3.0)
    assert (stale.value.expected, stale.value.current) == (1, 2)
    with pytest.raises(VersionConflict) as exists:
        await store.put("queues", "fr", QUEUE, True, 0, "c", 3.0)
    assert exists.value.current == 2
    with pytest.raises(VersionConflict):
        await store.put("queues", "other", QUEUE, True, 4, "c", 3.0)  # never stored
    row = await store.get("queues", "fr")
    assert (row.version, row.document["wrapup_s"], row.updated_by) == (2, 5, "b")


async def test_a_transaction_that_raises_stores_nothing(database):
    store = RoutingConfigStore(database)
    await store.put("skills", "french", {"description": "French"}, True, 0, "a", 1.0)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.put("skills", "french", {"description": "changed"}, True, 1, "a", 2.0)
            await tx.put("skills", "german", {"description": "German"}, True, 0, "a", 2.0)
            raise RuntimeError("the engine refused")
    loaded = await store.load()
    assert list(loaded["skills"]) == ["french"]
    assert loaded["skills"]["french"].document == {"description": "French"}
    assert loaded["skills"]["french"].version == 1


async def test_delete_needs_the_current_version(database):
    store = RoutingConfigStore(database)
    await store.put("agents", "2001", {"id": "2001"}, True, 0, "a", 1.0)
    async with store.transaction() as tx:
        with pytest.raises(VersionConflict):
            await tx.delete("agents", "2001", 7)
    async with store.transaction() as tx:
        await tx.delete("agents", "2001", 1)
    assert (await store.load())["agents"] == {}


async def test_unknown_kind_is_refused(database):
    with pytest.raises(ValueError, match="unknown configuration kind"):
        await RoutingConfigStore(database).put("flows", "x", {}, True, 0, "a", 1.0)

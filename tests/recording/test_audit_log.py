"""The append-only audit trail: record, list newest first, filter by action prefix."""

from __future__ import annotations

from contactcenter.storage.audit import AuditLog


async def test_record_and_list_newest_first(database):
    audit = AuditLog(database)
    await audit.record("sup1", "monitor.start", "PJSIP/1001-00000001", detail={"mode": "listen"})
    await audit.record("agent7", "monitor.start", "x", outcome="refused")
    await audit.record("system", "recording.purge", "rec-1")
    entries = await audit.list()
    assert [e.action for e in entries] == ["recording.purge", "monitor.start", "monitor.start"]
    assert entries[1].outcome == "refused" and entries[1].actor == "agent7"
    assert entries[2].detail == {"mode": "listen"}
    assert entries[0].at.tzinfo is not None


async def test_action_prefix_is_literal(database):
    audit = AuditLog(database)
    await audit.record("a", "monitor.start")
    await audit.record("a", "monitorXstart")
    await audit.record("a", "monitor_x")
    got = await audit.list(action_prefix="monitor.")
    assert [e.action for e in got] == ["monitor.start"]
    got = await audit.list(action_prefix="monitor_")
    assert [e.action for e in got] == ["monitor_x"]


async def test_limit_offset_and_long_values_clipped(database):
    audit = AuditLog(database)
    for i in range(5):
        await audit.record("a" * 1000, f"act.{i}", "t" * 2000)
    page = await audit.list(limit=2, offset=1)
    assert [e.action for e in page] == ["act.3", "act.2"]
    assert len(page[0].actor) <= 200 and len(page[0].target) <= 500

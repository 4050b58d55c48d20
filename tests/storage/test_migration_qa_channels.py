"""Migration 0016 (qa of chats and tickets) keeps every evaluation, rule and pick of a call:
they become ``voice`` ones named by their recording, a pick gets its recording's start and
caller id, and the new unique pick is (rule, channel, item). SQLite, and PostgreSQL when
CC_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from migration_rows import insert_rows
from sqlalchemy.exc import IntegrityError

from contactcenter.storage.database import Database
from contactcenter.storage.schema import Migrations

STARTED = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
REC = "r" * 32


async def _rows(db: Database, table: str) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        result = await conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
        return [dict(r._mapping) for r in result]


async def test_calls_evaluations_rules_and_picks_survive_as_voice_ones(empty):
    db, migrations = empty, Migrations()
    await migrations.upgrade(db, "0015")
    await insert_rows(db, "recordings", [{
        "id": REC, "interaction_id": "1764.1", "agent_id": "1001", "queue": "sales",
        "caller_id": "+3225550100", "pbx": "pbx1", "channel": "PJSIP/x-1",
        "started_at": STARTED, "ended_at": STARTED, "file": "a.wav", "status": "complete",
        "channels": 1, "pauses": []}])
    await insert_rows(db, "qa_scorecards", [{"id": 1, "name": "Sales", "active": True, "version": 1,
                                        "form": {"sections": []}, "updated_at": STARTED,
                                        "updated_by": "admin"}])
    await insert_rows(db, "qa_evaluations", [{
        "id": 1, "scorecard_id": 1, "scorecard_version": 1, "form": {"sections": []},
        "recording_id": REC, "interaction_id": "1764.1", "agent_id": "1001", "queue": "sales",
        "evaluator": "sup", "status": "submitted", "answers": {}, "comment": "",
        "percent": 80.0, "failed": False, "created_at": STARTED, "submitted_at": STARTED,
        "agent_comment": ""}])
    await insert_rows(db, "qa_sampling_rules", [{
        "id": 1, "name": "weekly", "queue": None, "percent": 10.0, "minimum": 2,
        "scorecard_id": 1, "active": True, "updated_at": STARTED, "updated_by": "sup"}])
    await insert_rows(db, "qa_worklist", [{"id": 1, "rule_id": 1, "week": "2026-W19",
                                      "recording_id": REC, "agent_id": "1001",
                                      "queue": "sales", "picked_at": STARTED}])

    await migrations.upgrade(db)
    assert (await migrations.state(db)).at_head
    [evaluation] = await _rows(db, "qa_evaluations")
    assert (evaluation["channel"], evaluation["item_id"], evaluation["recording_id"],
            evaluation["percent"]) == ("voice", REC, REC, 80.0)
    [rule] = await _rows(db, "qa_sampling_rules")
    assert rule["channel"] == "voice" and rule["minimum"] == 2
    [pick] = await _rows(db, "qa_worklist")
    started = pick["started_at"]
    started = datetime.fromisoformat(started) if isinstance(started, str) else started
    assert (pick["channel"], pick["item_id"], pick["recording_id"], pick["label"]) == (
        "voice", REC, REC, "+3225550100")
    assert started.replace(tzinfo=UTC) == STARTED

    # a chat's pick has no recording; the same item twice under one rule is refused
    chat = {"rule_id": 1, "week": "2026-W19", "channel": "chat", "item_id": "c-1",
            "recording_id": None, "agent_id": "1001", "queue": "web", "started_at": STARTED,
            "label": "Vera", "picked_at": STARTED}
    await insert_rows(db, "qa_worklist", [{"id": 2, **chat}])
    with pytest.raises(IntegrityError):
        await insert_rows(db, "qa_worklist", [{"id": 3, **chat}])

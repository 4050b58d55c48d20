"""Backup while the floor takes calls, restore into an empty database, and a server on it shows
the same history, as of the backup, through its HTTP API.

The source is the real server on a SQLite file with the PBX simulator placing calls (recorded
sales calls, agents' phones answering); the backup runs while calls are connected and being
recorded. The restore goes into a new SQLite file, and into a new PostgreSQL database when
CC_TEST_POSTGRES_URL is set; a second server is started on it, with no PBX, and is read over
HTTP as a supervisor and an admin would read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import tarfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import sqlalchemy as sa
from floor import PASSWORD, floor_settings, login, running_floor

from contactcenter.app import ContactCenter
from contactcenter.sim import CallerScript, Press
from contactcenter.storage.backup.create import create_backup
from contactcenter.storage.backup.restore import restore_backup
from contactcenter.storage.backup_cli import RECORDINGS_INDEX
from contactcenter.storage.database import Database

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")
TARGETS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


async def _get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def _history(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    """What the panel shows a supervisor and an admin: users, audit trail, recordings."""
    return {
        "users": (await _get(http, f"{base}/api/users"))["users"],
        "audit": (await _get(http, f"{base}/api/audit?limit=1000"))["entries"],
        "recordings": (await _get(http, f"{base}/api/recordings?limit=1000"))["recordings"],
    }


def _archive_rows(archive: Path, table: str) -> list[dict[str, Any]]:
    with tarfile.open(archive, "r:gz") as tar:
        data = tar.extractfile(f"data/{table}.jsonl")
        assert data is not None
        return [json.loads(line) for line in data.read().decode().split("\n") if line]


@contextlib.asynccontextmanager
async def _empty_database(kind: str, tmp_path: Path):
    """A URL naming a new, empty database (a SQLite file, or a PostgreSQL database)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    assert POSTGRES_URL
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.ext.asyncio.create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _poll(check, timeout_s: float = 60.0) -> Any:
    async def loop() -> Any:
        while not (value := await check()):
            await asyncio.sleep(0.1)
        return value
    return await asyncio.wait_for(loop(), timeout_s)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("target", TARGETS)
async def test_a_backup_taken_during_traffic_restores_the_same_history(tmp_path, target):
    archive = tmp_path / "floor.tar.gz"
    source_root = tmp_path / "recordings"
    async with running_floor(tmp_path, speed=20) as floor:
        admin = await login(floor, "boss", "admin")
        agents = sorted(floor.server.routing_config.agents)
        agent_sessions = [await login(floor, f"user-{a}", "agent", a) for a in agents[:3]]
        for http in agent_sessions:
            await http.close()
        base = floor.web_url
        placed: list[Any] = []
        stop = asyncio.Event()

        async def traffic() -> None:
            rng = random.Random(11)
            n = 0
            while not stop.is_set():
                placed.append(await floor.sim.place_call(CallerScript(
                    caller_id=f"555{n:04d}", exten="200", steps=[Press("1", after=0.5)],
                    hangup_after=rng.uniform(15, 60))))
                n += 1
                await floor.clock.sleep(3)

        caller = asyncio.create_task(traffic())
        try:
            async def some_done_some_recording() -> bool:
                statuses = [r["status"] for r in (await _get(
                    admin, f"{base}/api/recordings?limit=1000"))["recordings"]]
                return statuses.count("complete") >= 2 and "recording" in statuses

            await _poll(some_done_some_recording)
            in_progress = [c for c in placed if not c.is_ended]
            # A separate handle, as `contactcenter backup` in another process would open.
            source_db = Database(floor.server.db.url)
            try:
                manifest = await create_backup(source_db, archive, source_root,
                                               RECORDINGS_INDEX, include_audio=True)
            finally:
                await source_db.close()
            after_backup = await _history(admin, base)
            assert in_progress, "calls must be in progress when the backup starts"
            # After the backup: must not be in the restored database.
            async with admin.post(f"{base}/api/users", json={
                    "username": "late", "role": "agent", "password": PASSWORD}) as r:
                assert r.status == 201, await r.text()
            await asyncio.sleep(0.5)  # more calls, more events
            later = await _history(admin, base)
        finally:
            stop.set()
            await caller
            await admin.close()
        await floor.server.routing.flush()
        source_url = floor.server.db.url

    rows = manifest.rows()
    assert rows["recordings"] >= 3 and rows["routing_events"] > 0 and rows["users"] == 4

    async with _empty_database(target, tmp_path) as target_url:
        restored_root = tmp_path / "restored-recordings"
        target_db = Database(target_url)
        try:
            report = await restore_backup(target_db, archive, restored_root)
        finally:
            await target_db.close()
        assert report.rows == rows and report.audio_missing == ()

        settings = floor_settings(tmp_path, 1.0)
        settings = replace(settings, asterisk=[], recordings_dir=str(restored_root),
                           database=replace(settings.database, url=target_url))
        server = ContactCenter(settings)
        await server.start()
        try:
            await _check_restored(server, settings, archive, manifest, after_backup, later,
                                  source_root)
        finally:
            await server.stop()
        await _check_point_in_time(source_url, target_url, archive)


async def _check_restored(server: ContactCenter, settings, archive: Path, manifest,
                          after_backup: dict[str, Any], later: dict[str, Any],
                          source_root: Path) -> None:
    base = f"http://127.0.0.1:{server.web_port}"
    http = aiohttp.ClientSession(headers={"Origin": base},
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http:
        async with http.post(f"{base}/api/login",
                             json={"username": "boss", "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            http.headers["X-CSRF-Token"] = (await r.json())["csrf_token"]
        restored = await _history(http, base)

        # Users: exactly those of the backup; the one made afterwards is not there.
        assert restored["users"] == after_backup["users"]
        assert "late" in {u["username"] for u in later["users"]}

        # Audit trail: the first N entries, N as the manifest counted, identical to the
        # source's; what the source wrote afterwards (the "late" user) is not there.
        counted = manifest.rows()["audit_log"]
        old = sorted((e for e in restored["audit"] if e["id"] <= counted), key=lambda e: e["id"])
        assert [e["id"] for e in old] == list(range(1, counted + 1))
        assert old == sorted((e for e in after_backup["audit"] if e["id"] <= counted),
                             key=lambda e: e["id"])
        assert not any(e["target"] == "late" for e in restored["audit"])
        assert any(e["target"] == "late" for e in later["audit"])

        # Recordings: the index as the backup saw it (calls still being recorded then are
        # still "recording" here, whatever the source says now), and the audio plays.
        in_archive = {r["id"]: r for r in _archive_rows(archive, "recordings")}
        by_id = {r["id"]: r for r in restored["recordings"]}
        assert set(by_id) == set(in_archive)
        assert {i: r["status"] for i, r in by_id.items()} == \
            {i: r["status"] for i, r in in_archive.items()}
        source_now = {r["id"]: r for r in after_backup["recordings"]}
        complete = [i for i, r in by_id.items() if r["status"] == "complete"]
        assert len(complete) >= 2
        for rec_id in complete:
            assert by_id[rec_id] == source_now[rec_id]
            async with http.get(f"{base}/api/recordings/{rec_id}/audio") as r:
                assert r.status == 200
                body = await r.read()
            assert body == (source_root / in_archive[rec_id]["file"]).read_bytes()

        # The agents' panel: today's answered calls, as the backup's interaction log has them.
        tz = ZoneInfo(settings.ivr.timezone or "UTC")
        midnight = dt.datetime.fromtimestamp(time.time(), tz).replace(
            hour=0, minute=0, second=0, microsecond=0).timestamp()
        events = _archive_rows(archive, "routing_events")
        answered_total = 0
        for user in [u for u in restored["users"] if u["role"] == "agent"]:
            agent = aiohttp.ClientSession(headers={"Origin": base},
                                          cookie_jar=aiohttp.CookieJar(unsafe=True))
            async with agent:
                async with agent.post(f"{base}/api/login", json={
                        "username": user["username"], "password": PASSWORD}) as r:
                    assert r.status == 200, await r.text()
                me = await _get(agent, f"{base}/api/panel/me")
            expected = sum(1 for e in events if e["kind"] == "connect" and
                           e["agent_id"] == user["agent_id"] and e["at"] >= midnight)
            assert me["figures"]["answered"] == expected, user
            answered_total += expected
        assert answered_total > 0


async def _check_point_in_time(source_url: str, target_url: str, archive: Path) -> None:
    """The append-only tables of the restored database are a prefix of the source's (one
    instant of it), and the source went on after it."""
    source, target = Database(source_url), Database(target_url)
    try:
        for table, key in (("routing_events", "id"), ("audit_log", "id")):
            query = sa.text(f"SELECT {key} FROM {table} ORDER BY {key}")
            async with target.engine.connect() as conn:
                restored = [row[0] for row in await conn.execute(query)]
            async with source.engine.connect() as conn:
                now = [row[0] for row in await conn.execute(query)]
            in_archive = [r[key] for r in _archive_rows(archive, table)]
            assert restored[:len(in_archive)] == in_archive
            assert now[:len(in_archive)] == in_archive and len(now) > len(in_archive), table
    finally:
        await source.close()
        await target.close()

"""Backup and restore on real databases (a SQLite file; PostgreSQL too when CC_TEST_POSTGRES_URL
is set), real archives on disk, and the commands as real subprocesses."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contactcenter.recording.tables import RecordingRow
from contactcenter.routing.tables import (
    ConfigAgentRow,
    ConfigQueueRow,
    ConfigSkillRow,
    RoutingAgentRow,
    RoutingEventRow,
    RoutingInteractionRow,
)
from contactcenter.storage.backup.archive import BackupError
from contactcenter.storage.backup.create import AudioIndex, create_backup
from contactcenter.storage.backup.restore import restore_backup
from contactcenter.storage.backup.values import decode_value, encode_value, schema_tables
from contactcenter.storage.database import Database
from contactcenter.storage.schema import head_revision
from contactcenter.storage.tables import AuditRow, CustomerRow
from contactcenter.web.tables import SessionRow, UserRow

POSTGRES_URL = os.environ.get("CC_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
PAIRS = [("sqlite", "sqlite")] + ([("postgresql", "postgresql"), ("sqlite", "postgresql"),
                                   ("postgresql", "sqlite")] if POSTGRES_URL else [])
INDEX = AudioIndex("recordings", "file")
REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 3, 31, 23, 59, 58, 123456, tzinfo=UTC)


class Databases:
    """Fresh databases on one backend: SQLite files, or PostgreSQL schemas (or databases, for
    a subprocess that knows only a URL); all dropped at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.opened: list[Database] = []
        self.schemas: list[str] = []
        self.pg_databases: list[str] = []
        self.search_paths: dict[int, str] = {}

    async def new(self, backend: str, *, tables: bool = True) -> Database:
        if backend == "sqlite":
            db = Database(f"sqlite+aiosqlite:///{self.tmp_path / uuid.uuid4().hex[:8]}.sqlite3")
        else:
            assert POSTGRES_URL
            schema = f"t_{uuid.uuid4().hex[:12]}"
            await _pg_admin(f'CREATE SCHEMA "{schema}"')
            self.schemas.append(schema)
            db = Database(POSTGRES_URL, search_path=schema)
            self.search_paths[id(db)] = schema
        self.opened.append(db)
        if tables:
            await db.create_all()  # records head, as a server's new database would be
        return db

    def another(self, db: Database) -> Database:
        """A second handle (its own engine and connections) on the same database."""
        other = Database(db.url, search_path=self.search_paths.get(id(db)))
        self.opened.append(other)
        return other

    async def new_url(self, backend: str) -> str:
        """A URL alone naming a new, empty database (no tables)."""
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp_path / uuid.uuid4().hex[:8]}.sqlite3"
        assert POSTGRES_URL
        name = f"t_{uuid.uuid4().hex[:12]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        self.pg_databases.append(name)
        return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name

    async def close(self) -> None:
        for db in self.opened:
            await db.close()
        for schema in self.schemas:
            await _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')
        for name in self.pg_databases:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _pg_admin(statement: str) -> None:
    assert POSTGRES_URL
    admin = sa.ext.asyncio.create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await admin.dispose()


@pytest.fixture
async def dbs(tmp_path) -> AsyncIterator[Databases]:
    made = Databases(tmp_path)
    try:
        yield made
    finally:
        await made.close()


# --------------------------------------------------------------------------- data


def _row(**values: Any) -> dict[str, Any]:
    return values


def _rows() -> dict[type, list[dict[str, Any]]]:
    """At least one row in every table, with the values a format most easily gets wrong."""
    return {
        UserRow: [
            _row(id=1, username="zoë", password_hash="$scrypt$x", role="admin", agent_id=None,
                 phone=None, disabled=False, created_at=0.1 + 0.2, updated_at=1712345678.9876543),
            _row(id=7, username="a'b\"c", password_hash="h", role="agent", agent_id="a1",
                 phone="PJSIP/2001", disabled=True, created_at=5e-324, updated_at=-1.5),
        ],
        SessionRow: [_row(id=3, token_hash="f" * 64, user_id=7, created_at=1.0, last_seen=2.0,
                          expires_at=1e300, remote="::1")],
        AuditRow: [
            _row(id=1, at=T0, actor="cli:root", action="users.create", target="zoë",
                 outcome="ok", detail={"f": 0.1, "big": 2**53 + 1, "nested": [None, True, "é"],
                                       "e": 1e-300}),
            _row(id=2, at=T0 + timedelta(microseconds=1), actor="x", action="y", target="",
                 outcome="refused", detail=None),  # stored as JSON null
            _row(id=5, at=T0.astimezone(UTC), actor="tab\tnew\nline", action="z", target="🎧",
                 outcome="ok", detail=sa.null()),  # SQL NULL
        ],
        CustomerRow: [_row(id=1, phone="+15551234", name="Ada", account="A-1", tier="gold",
                           notes="multi\nline ✓")],
        RecordingRow: [_row(id="a" * 32, interaction_id="i1", agent_id="a1", queue="sales",
                            caller_id=None, pbx="sim", channel="PJSIP/1-0001", started_at=T0,
                            ended_at=None, file="2024/03/31/a.wav", status="recording",
                            error=None, duration_s=math.inf, sample_rate=8000, channels=1,
                            size_bytes=2**40, pauses=[{"start": 1.25, "end": None, "by": "sup"}],
                            purged_at=None)],
        RoutingEventRow: [_row(id=10, at=1712345678.123457, kind="enter", interaction_id="i1",
                               agent_id=None, queue="sales", payload={"caller_id": "5551234"})],
        RoutingInteractionRow: [_row(
            id="i1", channel="voice", queue="sales", priority=0, skills={"sales": 1},
            data={"caller_id": "5551234", "ivr_path": ["main", "sales"]}, callback=None,
            state="connected", arrived_at=1.5, queue_entered_at=2.5, seq=1, relax_step=-1,
            attempts=0, agent_id="a1", offer_id="o1", offers=1, connected_at=3.5,
            retry_at=None, updated_at=4.5)],
        RoutingAgentRow: [_row(agent_id="a1", presence="available", pause_reason=None,
                               queues=["sales"], answered_today=3, day=19813, updated_at=9.0,
                               wrapups=[{"interaction_id": "i0", "until": 10.0}])],
        ConfigQueueRow: [_row(name="sales", document={"wrapup_s": 30}, enabled=False, version=2,
                              updated_at=1.0, updated_by="admin")],
        ConfigAgentRow: [_row(name="a1", document={"skills": {"sales": 2}}, enabled=True,
                              version=1, updated_at=1.0, updated_by="")],
        ConfigSkillRow: [_row(name="sales", document={}, enabled=True, version=1, updated_at=1.0,
                              updated_by="")],
    }


def _synthetic_row(table: sa.Table, made: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One row for a table ``_rows`` has no hand-made rows for (a context that came later),
    with a value of each column's type; a foreign key takes the value of the first row of the
    table it points at (made before it: parents come first)."""
    values: dict[str, Any] = {}
    for c in table.columns:
        kind = c.type
        parent = next(iter(c.foreign_keys), None)
        if parent is not None and parent.column.table is table:  # a tree's root: no parent
            values[c.name] = None
        elif parent is not None:
            values[c.name] = made[parent.column.table.name][0][parent.column.name]
        elif isinstance(kind, sa.JSON):
            values[c.name] = {"k": [1, 2.5, None]}
        elif isinstance(kind, sa.Boolean):
            values[c.name] = True
        elif isinstance(kind, sa.Integer):
            values[c.name] = 1
        elif isinstance(kind, sa.Float):
            values[c.name] = 0.1 + 0.2
        elif isinstance(kind, sa.DateTime):
            values[c.name] = T0
        elif isinstance(kind, sa.LargeBinary):
            values[c.name] = bytes(range(256))
        else:
            values[c.name] = "x"
    return values


def all_rows() -> dict[str, tuple[sa.Table, list[dict[str, Any]]]]:
    """Rows for every table of the schema: ``_rows``' by hand, one synthetic row for the rest."""
    by_hand = {m.__tablename__: rows for m, rows in _rows().items()}
    made: dict[str, list[dict[str, Any]]] = {}
    out = {}
    for table in schema_tables():
        made[table.name] = by_hand.get(table.name) or [_synthetic_row(table, made)]
        out[table.name] = (table, made[table.name])
    return out


async def seed(db: Database) -> None:
    async with db.engine.begin() as conn:
        for table, rows in all_rows().values():  # parents first (schema_tables' order)
            for row in rows:  # one by one: sa.null() is per row
                await conn.execute(sa.insert(table), row)


async def raw_rows(db: Database) -> dict[str, list[tuple]]:
    """Every table's rows, JSON columns as their stored text, datetimes as aware UTC."""
    out = {}
    async with db.engine.connect() as conn:
        for table in schema_tables():
            cols = [sa.cast(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c
                    for c in table.columns]
            result = await conn.execute(sa.select(*cols).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(_utc(v) for v in row) for row in result]
    return out


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


async def table_names(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        return sorted(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


# --------------------------------------------------------------------------- archives


def read_members(archive: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(archive, "r:gz") as tar:
        return [(ti.name, tar.extractfile(ti).read()) for ti in tar]  # type: ignore[union-attr]


def write_members(archive: Path, members: list[tuple[str, bytes]],
                  kinds: dict[str, bytes] | None = None) -> None:
    """A tar.gz with these members (``kinds``: name -> tar type, e.g. a symlink)."""
    with tarfile.open(archive, "w:gz") as tar:
        for name, body in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(body)
            if kinds and name in kinds:
                ti.type, ti.linkname, ti.size = kinds[name], "/etc/passwd", 0
                tar.addfile(ti)
                continue
            tar.addfile(ti, io.BytesIO(body))


def rewrite(src: Path, dst: Path, edit: Callable[[str, bytes], bytes | None],
            manifest: Callable[[dict], None] | None = None, *, rehash: bool = False) -> None:
    """A copy of ``src`` with members edited (None drops one) and the manifest changed;
    ``rehash``: the manifest's digests follow the edits (so only the other checks can fail)."""
    members = []
    doc: dict = {}
    digests = {}
    for name, body in read_members(src):
        if name == "manifest.json":
            doc = json.loads(body)
            continue
        new = edit(name, body)
        if new is not None:
            members.append((name, new))
            digests[name] = {"size": len(new), "sha256": hashlib.sha256(new).hexdigest()}
    if rehash:
        doc["members"].update({n: d for n, d in digests.items() if n in doc["members"]})
    if manifest:
        manifest(doc)
    members.append(("manifest.json", json.dumps(doc).encode()))
    write_members(dst, members)


async def backup_of(db: Database, tmp_path: Path, *, audio_root: Path | None = None,
                    include_audio: bool = False, name: str = "backup.tar.gz") -> Path:
    archive = tmp_path / name
    await create_backup(db, archive, audio_root or tmp_path / "no-recordings", INDEX,
                        include_audio=include_audio)
    return archive


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("source_backend,target_backend", PAIRS)
async def test_every_table_round_trips_exactly_across_dialects(dbs, tmp_path, source_backend,
                                                                target_backend):
    source = await dbs.new(source_backend)
    await seed(source)
    lines: list[str] = []
    archive = tmp_path / "b.tar.gz"
    manifest = await create_backup(source, archive, tmp_path / "rec", INDEX,
                                   progress=lines.append)
    assert manifest.dialect == source_backend and manifest.schema_revision == head_revision()
    assert manifest.rows() == {name: len(rows) for name, (_t, rows) in all_rows().items()}
    assert "table users: 2 rows" in lines and "table audit_log: 3 rows" in lines

    target = await dbs.new(target_backend, tables=False)
    report = await restore_backup(target, archive, tmp_path / "rec2")
    assert report.rows == manifest.rows()
    restored = await raw_rows(target)
    assert restored == await raw_rows(source)
    # JSON null and SQL NULL stay apart; floats and datetimes keep every digit.
    audit = {r[0]: r for r in restored["audit_log"]}
    assert audit[2][6] is not None and json.loads(audit[2][6]) is None and audit[5][6] is None
    duration_s = [c.name for c in RecordingRow.__table__.columns].index("duration_s")
    assert restored["recordings"][0][duration_s] == math.inf
    assert restored["users"][0][7] == 0.1 + 0.2 and restored["users"][1][7] == 5e-324

    # The server's next inserts get new ids (on PostgreSQL: the sequences were moved on).
    async with target.engine.begin() as conn:
        new_id = (await conn.execute(sa.insert(AuditRow.__table__).values(
            at=T0, actor="a", action="b", target="", outcome="ok").returning(
            AuditRow.__table__.c.id))).scalar_one()
        user_id = (await conn.execute(sa.insert(UserRow.__table__).values(
            username="new", password_hash="h", role="agent", disabled=False, created_at=0.0,
            updated_at=0.0).returning(UserRow.__table__.c.id))).scalar_one()
    assert new_id == 6 and user_id == 8


@pytest.mark.parametrize("value,kind", [
    (math.nan, "float"), (math.inf, "float"), (-math.inf, "float"), (1e-310, "float"),
    (2**63 - 1, "int"), (False, "bool"),
    (datetime(2024, 1, 1, 12, tzinfo=UTC), "datetime_tz"),
    (bytes(range(256)) + b"\r\n.\r\n", "bytes"),  # a raw mail is any bytes at all
])
def test_values_survive_the_text_form(value, kind):
    text = json.dumps(encode_value(kind, value), allow_nan=False)
    back = decode_value(kind, json.loads(text))
    if kind == "float" and math.isnan(value):
        assert math.isnan(back)
    else:
        assert back == value and type(back) is type(value)


def test_a_naive_datetime_from_sqlite_is_written_as_utc():
    # SQLite hands back naive datetimes; what the server wrote into them was UTC.
    text = encode_value("datetime_tz", datetime(2024, 5, 1, 8, 30))
    assert text == "2024-05-01T08:30:00+00:00"
    assert encode_value("datetime_tz", datetime.fromisoformat("2024-05-01T10:30:00+02:00")) == text


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_snapshot_is_one_instant_while_a_writer_writes(dbs, tmp_path, backend):
    source = await dbs.new(backend)
    writer_db = dbs.another(source)
    # Each transaction adds one audit row and one customer: in any one instant the counts are
    # equal. audit_log is dumped first and customers several tables later, so a dump that read
    # each table at its own moment would see more customers than audit rows.
    written = 0
    stop = asyncio.Event()

    async def write_pairs() -> None:
        nonlocal written
        while not stop.is_set():
            async with writer_db.engine.begin() as conn:
                await conn.execute(sa.insert(AuditRow.__table__).values(
                    at=T0, actor="w", action="pair", target=str(written), outcome="ok"))
                await conn.execute(sa.insert(CustomerRow.__table__).values(
                    phone=f"+1{written:09d}", name="", account="", tier="", notes=""))
            written += 1
            await asyncio.sleep(0)

    async with writer_db.engine.begin() as conn:  # enough rows that a dump takes a while
        await conn.execute(sa.insert(AuditRow.__table__), [
            _row(at=T0, actor="w", action="seed", target="", outcome="ok")] * 3000)
        await conn.execute(sa.insert(CustomerRow.__table__), [
            _row(phone=f"seed{n}", name="", account="", tier="", notes="") for n in range(3000)])
    task = asyncio.create_task(write_pairs())
    try:
        while written < 20:
            await asyncio.sleep(0.01)
        before = written
        manifest = await create_backup(source, tmp_path / "b.tar.gz", tmp_path / "rec", INDEX)
        during = written - before
    finally:
        stop.set()
        await task
    rows = manifest.rows()
    assert during > 0, "the writer must have written while the backup ran"
    assert rows["audit_log"] == rows["customers"] >= 3000 + before


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
async def test_a_damaged_archive_is_refused_and_the_target_left_alone(dbs, tmp_path, backend,
                                                                       damage):
    source = await dbs.new("sqlite")
    await seed(source)
    archive = await backup_of(source, tmp_path)
    data = archive.read_bytes()
    bad = tmp_path / "bad.tar.gz"
    if damage == "truncated":
        bad.write_bytes(data[: len(data) * 2 // 3])
    else:
        middle = len(data) // 2
        bad.write_bytes(data[:middle] + bytes([data[middle] ^ 0x10]) + data[middle + 1:])
    target = await dbs.new(backend, tables=False)
    with pytest.raises(BackupError) as refused:
        await restore_backup(target, bad, tmp_path / "rec")
    message = str(refused.value)
    assert str(bad) in message and "\n" not in message
    assert await table_names(target) == []


async def test_each_verification_check_refuses_on_its_own(dbs, tmp_path):
    source = await dbs.new("sqlite")
    await seed(source)
    archive = await backup_of(source, tmp_path)
    target = await dbs.new("sqlite", tables=False)

    def drop_a_user_line(name: str, body: bytes) -> bytes:
        return body.split(b"\n", 1)[1] if name == "data/users.jsonl" else body

    def make_agent_an_admin(name: str, body: bytes) -> bytes:  # same size, other bytes
        return body.replace(b'"role":"agent"', b'"role":"admin"') if name == "data/users.jsonl" \
            else body

    def same(_name: str, body: bytes) -> bytes:
        return body

    cases: dict[str, dict[str, Any]] = {
        # content changed, gzip valid, manifest not updated: the size or the sha256 catches it
        "has 155 bytes, the manifest says 336": _row(edit=drop_a_user_line),
        "does not match its sha256": _row(edit=make_agent_an_admin),
        # content and digest changed together: the row count catches it
        "has 1 rows, the manifest says 2": _row(edit=drop_a_user_line, rehash=True),
        "listed in the manifest is missing": _row(
            edit=lambda n, b: None if n == "data/customers.jsonl" else b),
        "is not in the manifest": _row(
            edit=same, manifest=lambda d: d["members"].pop("data/customers.jsonl")),
        "archive format version 2": _row(edit=same,
                                         manifest=lambda d: d.update(format_version=2)),
    }
    for n, (expected, how) in enumerate(cases.items()):
        crafted = tmp_path / f"crafted{n}.tar.gz"
        rewrite(archive, crafted, **how)
        with pytest.raises(BackupError, match=expected):
            await restore_backup(target, crafted, tmp_path / "rec")
    no_manifest = tmp_path / "no-manifest.tar.gz"
    write_members(no_manifest, [m for m in read_members(archive) if m[0] != "manifest.json"])
    with pytest.raises(BackupError, match="has no manifest.json"):
        await restore_backup(target, no_manifest, tmp_path / "rec")
    assert await table_names(target) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_another_schema_revision_is_refused(dbs, tmp_path, backend):
    source = await dbs.new("sqlite")
    archive = await backup_of(source, tmp_path)
    crafted = tmp_path / "old.tar.gz"
    rewrite(archive, crafted, lambda n, b: b, lambda d: d.update(schema_revision="0000_older"))
    target = await dbs.new(backend, tables=False)
    with pytest.raises(BackupError, match=f"revision 0000_older, this release's is "
                                          f"{head_revision()}"):
        await restore_backup(target, crafted, tmp_path / "rec")
    assert await table_names(target) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_database_with_rows_is_refused_and_left_as_it_was(dbs, tmp_path, backend):
    source = await dbs.new("sqlite")
    await seed(source)
    archive = await backup_of(source, tmp_path)
    target = await dbs.new(backend)
    async with target.engine.begin() as conn:
        await conn.execute(sa.insert(CustomerRow.__table__).values(
            phone="+1999", name="Keep me", account="", tier="", notes=""))
    before = await raw_rows(target)
    with pytest.raises(BackupError, match="is not empty \\(table customers has rows\\)"):
        await restore_backup(target, archive, tmp_path / "rec")
    assert await raw_rows(target) == before

    # A database at head with no rows (a server started on it once) is empty: restore goes in.
    fresh = await dbs.new(backend)
    await restore_backup(fresh, archive, tmp_path / "rec")
    assert await raw_rows(fresh) == await raw_rows(source)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_failing_insert_leaves_no_row_behind(dbs, tmp_path, backend):
    source = await dbs.new("sqlite")
    await seed(source)
    archive = await backup_of(source, tmp_path)
    crafted = tmp_path / "dangling.tar.gz"

    def dangling_session(name: str, body: bytes) -> bytes:
        # web_sessions comes after users: its user_id names no user, so the foreign key
        # refuses it once the users are already in.
        return body.replace(b'"user_id":7', b'"user_id":99') if name.endswith("sessions.jsonl") \
            else body

    rewrite(archive, crafted, dangling_session, rehash=True)
    target = await dbs.new(backend)
    with pytest.raises(BackupError, match="rolled back, no row was written"):
        await restore_backup(target, crafted, tmp_path / "rec")
    assert all(rows == [] for rows in (await raw_rows(target)).values())


def _recordings(root: Path) -> dict[str, bytes]:
    files = {"2024/03/31/a.wav": b"RIFF" + os.urandom(5000),
             "2024/04/01/b c.wav": b"RIFF" + bytes(range(256)) * 40}
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(body)
    return files


async def _seed_recordings(db: Database, files: list[str]) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(RecordingRow.__table__), [
            _row(id=f"{n:032x}", interaction_id=f"i{n}", queue="sales", pbx="", channel="",
                 started_at=T0, file=rel, status="complete", pauses=[])
            for n, rel in enumerate(files)])


@pytest.mark.parametrize("backend", BACKENDS)
async def test_audio_round_trips_byte_for_byte(dbs, tmp_path, backend):
    old_root, new_root = tmp_path / "old-rec", tmp_path / "new-rec"
    files = _recordings(old_root)
    source = await dbs.new("sqlite")
    await _seed_recordings(source, [*files, "2024/04/02/gone.wav"])
    archive = await backup_of(source, tmp_path, audio_root=old_root, include_audio=True)
    names = [n for n, _ in read_members(archive)]
    assert sorted(n for n in names if n.startswith("audio/")) == sorted(
        f"audio/{rel}" for rel in files)

    target = await dbs.new(backend, tables=False)
    report = await restore_backup(target, archive, new_root)
    assert {rel: (new_root / rel).read_bytes() for rel in files} == files
    assert len(report.audio_written) == 2 and report.audio_missing == ()
    # Nothing but the files: no temporary name left behind.
    assert sorted(str(p.relative_to(new_root)) for p in new_root.rglob("*") if p.is_file()) == \
        sorted(files)
    gone = [a for a in report.manifest.audio if a.file.endswith("gone.wav")]
    assert gone and gone[0].size is None and gone[0].member is None


@pytest.mark.parametrize("backend", BACKENDS)
async def test_without_audio_the_restore_names_the_files_to_copy(dbs, tmp_path, backend):
    old_root, new_root = tmp_path / "old-rec", tmp_path / "new-rec"
    files = _recordings(old_root)
    source = await dbs.new("sqlite")
    await _seed_recordings(source, list(files))
    archive = await backup_of(source, tmp_path, audio_root=old_root)
    assert not any(n.startswith("audio/") for n, _ in read_members(archive))
    first, second = sorted(files)
    (new_root / first).parent.mkdir(parents=True)
    (new_root / first).write_bytes(files[first])  # already copied over by the operator
    report = await restore_backup(await dbs.new(backend, tables=False), archive, new_root)
    assert report.audio_missing == (second,)
    listed = {a.file: a for a in report.manifest.audio}
    assert listed[second].sha256 == hashlib.sha256(files[second]).hexdigest()


async def test_audio_leading_outside_the_root_is_refused(dbs, tmp_path):
    old_root = tmp_path / "old-rec"
    files = _recordings(old_root)
    source = await dbs.new("sqlite")
    await _seed_recordings(source, list(files))
    archive = await backup_of(source, tmp_path, audio_root=old_root, include_audio=True)
    first = min(files)
    outside = tmp_path / "outside"
    outside.mkdir()
    new_root = tmp_path / "new-rec"
    new_root.mkdir()
    (new_root / "2024").symlink_to(outside)  # a folder in the root that leads out of it

    def with_audio(label: str, bad_path: str, *, as_member: bool) -> Path:
        """The archive plus one recording at ``bad_path``, in it or only referenced, with
        every digest right, so only the path check can refuse it."""
        path = tmp_path / f"{label}.tar.gz"
        members = [(n, b) for n, b in read_members(archive) if n != "manifest.json"]
        doc = json.loads(dict(read_members(archive))["manifest.json"])
        body = files[first]
        digest = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        member = f"audio/{bad_path}" if as_member else None
        if member:
            members.append((member, body))
            doc["members"][member] = digest
        doc["recordings"]["files"].append({"file": bad_path, **digest, "member": member})
        write_members(path, [*members, ("manifest.json", json.dumps(doc).encode())])
        return path

    link = tmp_path / "symlink-member.tar.gz"
    write_members(link, [*read_members(archive), ("audio/x.wav", b"")],
                  kinds={"audio/x.wav": tarfile.SYMTYPE})
    crafted = {
        with_audio("dotdot", "../../evil.wav", as_member=True): "unexpected member",
        with_audio("absolute", "/tmp/evil.wav", as_member=True): "unexpected member",
        with_audio("listed", "a/../../evil.wav", as_member=False): "not a plain relative path",
        link: "audio/x.wav is not a regular file",
    }
    target = await dbs.new("sqlite", tables=False)
    for path, expected in crafted.items():
        with pytest.raises(BackupError, match=expected):
            await restore_backup(target, path, tmp_path / "plain-root")
    # The original archive's own paths lead, through the symlinked folder, outside this root.
    with pytest.raises(BackupError, match="leads outside the recordings root"):
        await restore_backup(target, archive, new_root)
    assert list(outside.iterdir()) == [] and await table_names(target) == []
    assert not (tmp_path / "evil.wav").exists() and not (tmp_path.parent / "evil.wav").exists()
    assert not (tmp_path / "plain-root").exists()


async def test_a_failed_backup_leaves_nothing_under_its_name(dbs, tmp_path):
    old_root = tmp_path / "old-rec"
    _recordings(old_root)
    source = await dbs.new("sqlite")
    await _seed_recordings(source, ["2024/03/31/a.wav"])
    archive = tmp_path / "b.tar.gz"

    def fail_while_writing(line: str) -> None:
        if line.startswith("audio:"):  # said once the archive is half written
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await create_backup(source, archive, old_root, INDEX, include_audio=True,
                            progress=fail_while_writing)
    assert not archive.exists() and list(tmp_path.glob(".b.tar.gz*")) == []
    await create_backup(source, archive, old_root, INDEX)
    with pytest.raises(BackupError, match="already exists"):
        await create_backup(source, archive, old_root, INDEX)


async def test_a_database_behind_this_release_is_not_backed_up(dbs, tmp_path):
    source = await dbs.new("sqlite")
    async with source.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000_older'"))
    with pytest.raises(BackupError, match="schema revision 0000_older"):
        await backup_of(source, tmp_path)
    missing = Database(f"sqlite+aiosqlite:///{tmp_path / 'nope.sqlite3'}")
    dbs.opened.append(missing)
    with pytest.raises(BackupError, match="no database file at"):
        await backup_of(missing, tmp_path)
    assert not (tmp_path / "nope.sqlite3").exists()


# --------------------------------------------------------------------------- commands


def _config(tmp_path: Path, name: str, url: str, recordings: Path) -> Path:
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(f'database: {{url: "{url}"}}\nrecordings_dir: {recordings}\n')
    return cfg


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "contactcenter", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_commands_back_up_and_restore_and_say_what_they_touched(dbs, tmp_path,
                                                                           backend):
    src_url = await dbs.new_url(backend)
    source = Database(src_url)
    dbs.opened.append(source)
    await source.create_all()
    await seed(source)
    files = _recordings(tmp_path / "rec")
    await _seed_recordings(source, list(files))
    archive = tmp_path / "cc.tar.gz"
    src_cfg = _config(tmp_path, "src", src_url, tmp_path / "rec")
    done = await asyncio.to_thread(_run, "backup", str(archive), "--include-audio", "--config",
                                   str(src_cfg), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = sa.engine.make_url(src_url).render_as_string(hide_password=True)
    assert f"backup of database {shown} to {archive}" in done.stdout
    assert "table audit_log: 3 rows" in done.stdout and "2 audio files" in done.stdout

    dst_url = await dbs.new_url(backend)
    dst_cfg = _config(tmp_path, "dst", dst_url, tmp_path / "rec2")
    done = await asyncio.to_thread(_run, "restore", str(archive), "--config", str(dst_cfg),
                                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = sa.engine.make_url(dst_url).render_as_string(hide_password=True)
    assert f"restore of {archive} into database {shown}" in done.stdout
    assert "table users: 2 rows" in done.stdout and f"into {shown}" in done.stdout
    target = Database(dst_url)
    dbs.opened.append(target)
    assert await raw_rows(target) == await raw_rows(source)
    assert (tmp_path / "rec2" / min(files)).read_bytes() == files[min(files)]

    # Again into the same database: refused in one line, no traceback, nothing changed.
    before = await raw_rows(target)
    again = await asyncio.to_thread(_run, "restore", str(archive), "--config", str(dst_cfg),
                                    cwd=tmp_path)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip().count("\n") == 0
    assert again.stderr.startswith("restore refused: database ") and "is not empty" in again.stderr
    assert await raw_rows(target) == before

    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:-200])
    empty_url = await dbs.new_url(backend)
    cut = await asyncio.to_thread(_run, "restore", str(truncated), "--config",
                                  str(_config(tmp_path, "cut", empty_url, tmp_path / "rec3")),
                                  cwd=tmp_path)
    assert cut.returncode == 2 and "Traceback" not in cut.stderr
    assert cut.stderr.strip().count("\n") == 0 and "not a complete backup archive" in cut.stderr
    assert not (tmp_path / "rec3").exists()

"""Chat attachments' bytes through the real ``contactcenter backup`` and ``restore`` commands
(SQLite file, and PostgreSQL with CC_TEST_POSTGRES_URL): listed with size and sha256 by
default, in the archive with ``--include-attachments``, put back under the restoring server's
``chat.attachments_dir`` byte for byte (each file's sha256 is the one its row holds); a file
member whose bytes changed is refused before anything is written; without the files in the
archive, restore names the ones to copy."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from throwaway_pg import throwaway_database

from contactcenter.chat.attachments import AttachmentFiles
from contactcenter.chat.model import ConversationRecord, ConversationState
from contactcenter.chat.store import ChatStore
from contactcenter.chat.tables import ChatAttachmentRow
from contactcenter.storage.database import Database
from contactcenter.storage.schema import ensure_schema

REPO = Path(__file__).resolve().parents[2]
PG = os.environ.get("CC_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG else [])]
FILES = {"0a" + "1" * 30: b"%PDF-1.4 an invoice\n", "ff" + "2" * 30: b"\x89PNG\r\n\x1a\n a photo"}

pytestmark = pytest.mark.slow  # subprocesses of the real command line


@contextlib.asynccontextmanager
async def new_url(backend: str, tmp_path: Path, name: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}"
        return
    assert PG is not None
    async with throwaway_database(PG, f"cc_bk_{name}") as url:
        yield url


def config(tmp_path: Path, name: str, url: str, attachments: Path) -> Path:
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(f'database: {{url: "{url}"}}\nrecordings_dir: {tmp_path / "rec"}\n'
                   f"chat:\n  attachments_dir: '{attachments}'\n")
    return cfg


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "contactcenter", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def seed(url: str, root: Path) -> None:
    db = Database(url)
    try:
        await ensure_schema(db)
        await ChatStore(db).create(ConversationRecord(
            id="c1", channel="site", visitor_id="v1", visitor_name="Vera", answers=(),
            attributes={}, page="", queue="web", state=ConversationState.CLOSED,
            created_at=1.0, closed_at=2.0), "0" * 64)
        files = AttachmentFiles(root)
        async with db.session() as s, s.begin():
            for key, data in FILES.items():
                await files.write(key, data)
                s.add(ChatAttachmentRow(
                    key=key, conversation_id="c1", sender="visitor", agent_id=None,
                    filename="f", kind="file", content_type="application/octet-stream",
                    size=len(data), sha256=hashlib.sha256(data).hexdigest(), created_at=1.0))
    finally:
        await db.close()


async def row_digests(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.session() as s:
            return dict((await s.execute(sa.select(ChatAttachmentRow.key,
                                                   ChatAttachmentRow.sha256))).all())
    finally:
        await db.close()


def on_disk(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def tamper(src: Path, dst: Path) -> None:
    """The same archive with one file member's bytes changed (same size, manifest kept)."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for ti in tin:
            body = tin.extractfile(ti).read()  # type: ignore[union-attr]
            if ti.name.startswith("files/chat_attachments/"):
                body = bytes([body[0] ^ 1]) + body[1:]
            out = tarfile.TarInfo(ti.name)
            out.size = len(body)
            tout.addfile(out, io.BytesIO(body))


@pytest.mark.parametrize("backend", BACKENDS)
async def test_chat_files_round_trip_through_the_commands(tmp_path, backend):
    async with new_url(backend, tmp_path, "src") as src, \
            new_url(backend, tmp_path, "dst") as dst, \
            new_url(backend, tmp_path, "bad") as bad, \
            new_url(backend, tmp_path, "ref") as ref:
        await seed(src, tmp_path / "files")
        src_cfg = config(tmp_path, "src", src, tmp_path / "files")

        archive = tmp_path / "with-files.tar.gz"
        done = await asyncio.to_thread(run, "backup", str(archive), "--include-attachments",
                                       "--config", str(src_cfg), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "chat_attachments: 2 files included" in done.stdout
        assert "2 chat_attachments files" in done.stdout
        with tarfile.open(archive, "r:gz") as tar:
            names = tar.getnames()
        assert sorted(n for n in names if n.startswith("files/")) == sorted(
            f"files/chat_attachments/{k[:2]}/{k}" for k in FILES)

        # A changed byte in a file member: refused by its sha256, nothing written anywhere.
        tampered = tmp_path / "tampered.tar.gz"
        tamper(archive, tampered)
        refused = await asyncio.to_thread(
            run, "restore", str(tampered), "--config",
            str(config(tmp_path, "bad", bad, tmp_path / "bad-files")), cwd=tmp_path)
        assert refused.returncode == 2 and "does not match its sha256" in refused.stderr
        assert not (tmp_path / "bad-files").exists()

        restored = await asyncio.to_thread(
            run, "restore", str(archive), "--config",
            str(config(tmp_path, "dst", dst, tmp_path / "new-files")), cwd=tmp_path)
        assert restored.returncode == 0, restored.stderr
        assert "chat_attachments: 2 files written under" in restored.stdout
        digests = await row_digests(dst)
        assert on_disk(tmp_path / "new-files") == digests == {
            k: hashlib.sha256(v).hexdigest() for k, v in FILES.items()}
        for key, data in FILES.items():
            assert (tmp_path / "new-files" / key[:2] / key).read_bytes() == data

        # Without the flag the files are listed, not carried: restore names what to copy.
        listed = tmp_path / "listed.tar.gz"
        done = await asyncio.to_thread(run, "backup", str(listed), "--config", str(src_cfg),
                                       cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "chat_attachments: 2 files referenced" in done.stdout
        with tarfile.open(listed, "r:gz") as tar:
            assert not any(n.startswith("files/") for n in tar.getnames())
        restored = await asyncio.to_thread(
            run, "restore", str(listed), "--config",
            str(config(tmp_path, "ref", ref, tmp_path / "ref-files")), cwd=tmp_path)
        assert restored.returncode == 0, restored.stderr
        assert "2 chat_attachments files are neither in the archive nor in their folder" \
            in restored.stdout
        for key in FILES:
            assert f"missing {key[:2]}/{key}" in restored.stdout

"""Retention: delete recordings older than their queue's ``retention_days``, auditing each one.

Design note: the cut-off is computed per queue from the policy book; a queue without a
retention keeps its recordings. Each deletion is: resolve the file inside the root (a path that
escapes is never unlinked, only reported), unlink it, mark the index row ``purged``, write one
audit row. ``dry_run`` reports the same list and touches nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from contactcenter.recording import tables as t
from contactcenter.recording.index import Recording, RecordingIndex
from contactcenter.recording.paths import SPEAKERS, RecordingPaths
from contactcenter.recording.policy import PolicyBook
from contactcenter.storage.audit import AuditLog


@dataclass(frozen=True, slots=True)
class PurgeItem:
    """One recording past retention and what happened to it."""

    recording_id: str
    queue: str
    file: str
    started_at: datetime
    outcome: str  # "deleted", "already-missing", "would-delete", "refused"
    detail: str = ""


@dataclass
class PurgeReport:
    """What a purge run did (or would do, for a dry run)."""

    dry_run: bool
    items: list[PurgeItem] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        """How many entries were purged (files deleted or already gone)."""
        return sum(1 for i in self.items if i.outcome in ("deleted", "already-missing"))


def _unlink(paths: RecordingPaths, rel: str) -> tuple[str, str]:
    # Unlinking a symlink never touches its target, so a planted link is removed, not followed;
    # only the directory part must resolve inside the root.
    parts = PurePosixPath(rel).parts
    if not rel or PurePosixPath(rel).is_absolute() or ".." in parts or "\x00" in rel:
        return "refused", "path is not a plain relative path"
    try:
        root = paths.root.resolve()
        link = paths.local_path(rel)
        if not link.parent.resolve().is_relative_to(root):
            return "refused", "directory resolves outside the recordings root"
        if link.is_symlink():
            link.unlink()
            return "deleted", "symlink removed"
        link.unlink()
        return "deleted", ""
    except FileNotFoundError:
        return "already-missing", ""
    except (OSError, RuntimeError) as exc:
        return "refused", f"unlink failed: {exc}"[:200]


async def purge(
    index: RecordingIndex,
    paths: RecordingPaths,
    policies: PolicyBook,
    audit: AuditLog,
    now: datetime,
    dry_run: bool = False,
    actor: str = "system:retention",
) -> PurgeReport:
    """Purge every recording past its queue's retention (or list them with ``dry_run``)."""
    report = PurgeReport(dry_run=dry_run)
    for queue in await index.queues():
        days = policies.for_queue(queue).retention_days
        if days is None:
            continue
        candidates: list[Recording] = await index.started_before(now - timedelta(days=days), queue)
        for rec in candidates:
            if rec.status == t.STATUS_RECORDING:
                continue  # still being written; the next run gets it
            if dry_run:
                report.items.append(PurgeItem(rec.id, queue, rec.file, rec.started_at, "would-delete"))
                continue
            outcome, detail = await asyncio.to_thread(_unlink, paths, rec.file)
            if outcome != "refused":  # each direction's file too (``speakers: true``)
                for who in SPEAKERS:
                    await asyncio.to_thread(_unlink, paths, paths.speaker_file(rec.file, who))
            if outcome != "refused":
                await index.update(rec.id, status=t.STATUS_PURGED, purged_at=now, size_bytes=None)
            await audit.record(
                actor, "recording.purge", rec.id, "ok" if outcome != "refused" else "refused",
                {"file": rec.file, "queue": queue, "retention_days": days, "result": outcome,
                 "started_at": rec.started_at.isoformat(), **({"detail": detail} if detail else {})},
            )
            report.items.append(PurgeItem(rec.id, queue, rec.file, rec.started_at, outcome, detail))
    return report

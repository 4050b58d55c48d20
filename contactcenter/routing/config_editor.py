"""Changing the stored routing configuration: check everything, save, apply -- or change nothing.

Design note. One change (save, enable/disable, revert to the file) runs under one lock:
1. re-read the stored entries and compare the version the admin saw (``VersionConflict``);
2. merge files + stored entries + this change and check the result with the file loader's
   own code (``ConfigInvalid``: every problem with where it is), then the extra checks the
   composition root adds (e.g. the recording block);
3. ask the engine whether it can take it now (``ConfigRefused``: e.g. callers still wait in a
   queue being removed);
4. in one database transaction: write the entry (the version is checked again by the UPDATE),
   apply it to the running engine, commit. If the engine refuses, the write is rolled back; if
   the commit fails, the previous configuration is applied again.
So a refused change leaves both the database and the engine as they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.domain.clock import Clock
from contactcenter.routing.config_merge import (
    KINDS,
    MergedConfig,
    Override,
    Overrides,
    RoutingSources,
    entry_label,
    lenient_plain,
    merge_config,
    plain,
    to_yaml,
)
from contactcenter.routing.config_store import RoutingConfigStore, StoredEntry, VersionConflict
from contactcenter.routing.engine_config import ConfigRefused
from contactcenter.routing.service import RoutingService

log = logging.getLogger(__name__)

Stored = dict[str, dict[str, StoredEntry]]
Check = Callable[[MergedConfig], list[SourceError]]
Listener = Callable[[MergedConfig], Any]

__all__ = ["ConfigInvalid", "ConfigRefused", "RoutingConfigEditor", "VersionConflict"]


class ConfigInvalid(Exception):
    """The change makes the configuration invalid; ``errors`` say what and where."""

    def __init__(self, errors: list[SourceError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Change:
    """What one accepted change did: the stored entry (None after a revert) and the entry's
    effective document before and after (None where it was not in force)."""

    kind: str
    name: str
    entry: StoredEntry | None
    before: Any
    after: Any


Suspended = dict[tuple[str, str], list[str]]  # (kind, name) -> why, file:line / field


def overrides_of(stored: Stored, suspended: Suspended | None = None) -> Overrides:
    """Stored rows as the merge's overrides (suspended ones left out)."""
    skip = suspended or {}
    return Overrides(**{
        kind: {n: Override(e.document, e.enabled) for n, e in stored.get(kind, {}).items()
               if (kind, n) not in skip}
        for kind in KINDS
    })


async def load_merged(sources: RoutingSources, store: RoutingConfigStore
                      ) -> tuple[MergedConfig, Stored, Suspended]:
    """At start: files + stored entries, checked.

    A file edit can make an entry stored earlier invalid (a skill it requires is gone from the
    files, say). The server must still start: such entries are *suspended* -- left out of the
    configuration in force, kept untouched in the database, logged and listed to admins with
    their errors -- until an admin saves a fixed version or reverts them. Only errors in the
    files themselves (``SourceErrors`` with file:line) still stop the start.
    """
    stored = await store.load()
    suspended: Suspended = {}
    labels = {entry_label(kind, name): (kind, name) for kind in KINDS for name in stored[kind]}
    while True:
        try:
            merged = merge_config(sources, overrides_of(stored, suspended))
        except SourceErrors as exc:
            if not stored_entries_to_blame(exc.errors, labels, stored, suspended):
                raise  # the files alone are wrong: file:line errors, as before
            continue
        for (kind, name), errors in sorted(suspended.items()):
            log.error("routing: stored %s %r suspended (kept in the database, not in force): %s",
                      kind[:-1], name, "; ".join(errors))
        return merged, stored, suspended


def stored_entries_to_blame(errors: Sequence[SourceError], labels: Mapping[str, tuple[str, str]],
                            stored: Stored, suspended: Suspended) -> bool:
    """Suspend the stored entries ``errors`` name; False when there is nothing left to suspend.

    An error located in a stored entry names it (``queue sales, field skills.x``). An error
    located in a file while stored entries are in force (a stored skill entry disabled what a
    file's queue requires) names none of them: then the stored skills go first, then all.
    """
    named = {labels[e.mark.file] for e in errors
             if e.mark.file in labels and labels[e.mark.file] not in suspended}
    if not named:
        live = [(k, n) for k in KINDS for n in stored[k] if (k, n) not in suspended]
        named = {(k, n) for k, n in live if k == "skills"} or set(live)
    if not named:
        return False
    for key in named:
        suspended[key] = [str(e) for e in errors
                          if e.mark.file == entry_label(*key)] or [
            "suspended with others to make the files' configuration valid: "
            + "; ".join(str(e) for e in errors[:3])]
    return True


class RoutingConfigEditor:
    """Lists, checks and changes the stored queues, agents and skills of a running server."""

    def __init__(
        self, sources: RoutingSources, store: RoutingConfigStore, routing: RoutingService,
        clock: Clock, merged: MergedConfig, stored: Stored, checks: Sequence[Check] = (),
        suspended: Suspended | None = None,
    ) -> None:
        self.sources = sources
        self.store = store
        self.routing = routing
        self.clock = clock
        self.merged = merged
        self.stored = stored
        self.suspended: Suspended = dict(suspended or {})
        self.checks = list(checks)
        self.listeners: list[Listener] = []
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ reading
    def entries(self, kind: str) -> list[dict[str, Any]]:
        """Every entry of ``kind`` from the files and the database, in force or not."""
        names = list(self.sources.file_entries(kind))
        names += sorted(n for n in self.stored[kind] if n not in names)
        return [self._view(kind, n) for n in names]

    def entry(self, kind: str, name: str) -> dict[str, Any] | None:
        """One entry's view, or None when neither the files nor the database have it."""
        if name not in self.sources.file_entries(kind) and name not in self.stored[kind]:
            return None
        return self._view(kind, name)

    def _view(self, kind: str, name: str) -> dict[str, Any]:
        file_doc = self.sources.file_entries(kind).get(name)
        row = self.stored[kind].get(name)
        document = row.document if row is not None else lenient_plain(file_doc)
        if row is None:
            source = "file"
        else:
            source = "database" if file_doc is None else "database (overrides the file)"
        view: dict[str, Any] = {
            "name": name, "source": source, "enabled": row.enabled if row else True,
            "in_force": name in self.merged.documents[kind],
            "version": row.version if row else 0,
            "updated_at": row.updated_at if row else None,
            "updated_by": row.updated_by if row else None,
            "document": document, "yaml": to_yaml(document),
            "file_document": lenient_plain(file_doc) if file_doc is not None else None,
            "suspended": self.suspended.get((kind, name)),  # None, or why it is not in force
        }
        if kind == "skills":
            view["used_by"] = self.merged.config.skill_users(name)
        return view

    # ------------------------------------------------------------------ checking
    def candidate(self, stored: Stored, kind: str, name: str,
                  entry: Override | None) -> MergedConfig:
        """The merged configuration with one entry changed; ``ConfigInvalid`` if it is not."""
        overrides = overrides_of(stored, self.suspended).with_entry(kind, name, entry)
        try:
            merged = merge_config(self.sources, overrides)
        except SourceErrors as exc:
            raise ConfigInvalid(exc.errors) from None
        errors = [e for check in self.checks for e in check(merged)]
        if errors:
            raise ConfigInvalid(errors)
        return merged

    def validate(self, kind: str, name: str, document: Any,
                 enabled: bool = True) -> tuple[list[SourceError], list[str]]:
        """Content errors, and why the engine would refuse it now, without saving anything."""
        try:
            plain(document)
            merged = self.candidate(self.stored, kind, name, Override(document, enabled))
        except SourceErrors as exc:
            return exc.errors, []
        except ConfigInvalid as exc:
            return exc.errors, []
        return [], self.routing.check_config(merged.config)

    # ------------------------------------------------------------------ changing
    async def save(self, kind: str, name: str, document: Any, enabled: bool,
                   expected_version: int, actor: str) -> Change:
        """Create or replace an entry (``expected_version`` 0: no stored row yet)."""
        try:
            stored_doc = plain(document)
        except SourceErrors as exc:
            raise ConfigInvalid(exc.errors) from None
        entry = Override(document, enabled)
        return await self._change(kind, name, entry, expected_version, actor, stored_doc)

    async def set_enabled(self, kind: str, name: str, enabled: bool, expected_version: int,
                          actor: str) -> Change:
        """Enable or disable an entry; a file-only entry gets a stored copy to carry the flag."""
        row = self.stored[kind].get(name)
        if row is not None:
            document = row.document
        elif name in self.sources.file_entries(kind):
            document = plain(self.sources.file_entries(kind)[name])
        else:
            raise LookupError(f"no {kind[:-1]} {name!r}")
        return await self.save(kind, name, document, enabled, expected_version, actor)

    async def revert(self, kind: str, name: str, expected_version: int, actor: str) -> Change:
        """Drop the stored entry: the file's entry of that name (if any) applies again."""
        return await self._change(kind, name, None, expected_version, actor, None)

    async def _change(self, kind: str, name: str, entry: Override | None, expected_version: int,
                      actor: str, stored_doc: Any) -> Change:
        async with self._lock:
            stored = await self.store.load()
            row = stored[kind].get(name)
            current = row.version if row is not None else 0
            if current != expected_version:
                raise VersionConflict(kind, name, expected_version, current)
            if entry is None and row is None:
                raise LookupError(f"no stored {kind[:-1]} {name!r} to revert")
            merged = self.candidate(stored, kind, name, entry)
            problems = self.routing.check_config(merged.config)
            if problems:
                raise ConfigRefused(problems)
            previous = self.merged
            applied = False
            try:
                async with self.store.transaction() as tx:
                    if entry is None:
                        await tx.delete(kind, name, expected_version)
                        saved = None
                    else:
                        saved = await tx.put(kind, name, stored_doc, entry.enabled,
                                             expected_version, actor, self.clock.time())
                    await self.routing.apply_config(merged.config)
                    applied = True
            except BaseException:
                if applied:  # the commit failed after the engine took it: undo in the engine
                    log.error("routing config commit failed; re-applying the previous one")
                    await self.routing.apply_config(previous.config)
                raise
            if saved is None:
                stored[kind].pop(name, None)
            else:
                stored[kind][name] = saved
            self.stored, self.merged = stored, merged
            if self.suspended.pop((kind, name), None) is not None:
                log.info("routing: stored %s %r is no longer suspended", kind[:-1], name)
        for listener in self.listeners:
            try:
                listener(merged)
            except Exception:  # a broken listener must not undo an applied change
                log.exception("routing config listener failed")
        return Change(kind, name, saved, previous.documents[kind].get(name),
                      merged.documents[kind].get(name))


def diff_summary(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                 limit: int = 200) -> dict[str, Any]:
    """Top-level keys added, removed and changed (values clipped), for the audit log."""
    before, after = before or {}, after or {}

    def clip(value: Any) -> Any:
        text = repr(value)
        return value if len(text) <= limit else text[: limit - 1] + "…"

    return {
        "added": {k: clip(after[k]) for k in after if k not in before},
        "removed": sorted(k for k in before if k not in after),
        "changed": {k: {"from": clip(before[k]), "to": clip(after[k])}
                    for k in after if k in before and before[k] != after[k]},
    }

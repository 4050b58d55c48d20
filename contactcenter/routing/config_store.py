"""Queues, agents and skills edited in the panel: one JSON document per entry, versioned.

Design note. Each kind has its own table (``config_queues``, ``config_agents``,
``config_skills``) keyed by the entry's name (queue name, agent id, skill name). ``document``
holds the entry in the YAML shape of ``config/*.yaml`` (a skill's is ``{"description": ...}``);
``enabled`` false means "this entry is removed" (it also hides a file entry of the same name).
``version`` is the optimistic-concurrency token: a writer names the version it read (0 when no
row exists) and the write happens only if it is still current, checked inside the UPDATE itself
so that two writers cannot both win. What the documents mean is checked above this module
(``routing.config_merge``); this one only stores them, and reads back whatever is there: a
document that is not an object, or not even JSON (a hand edit, an older server), comes back as
it is (or as ``UnreadableDocument``) so that the merge can suspend that one entry instead of
the whole configuration failing to load.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.routing.tables import (
    ACTOR_LEN,
    TABLES,
    EntryColumns,
)
from contactcenter.storage.database import Database


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One stored entry as read back."""

    kind: str
    name: str
    document: Any  # a JSON object when valid; checked by routing.config_merge
    enabled: bool
    version: int
    updated_at: float
    updated_by: str


class VersionConflict(Exception):
    """The entry changed since the writer read it (``current`` is its version now, 0: none)."""

    def __init__(self, kind: str, name: str, expected: int, current: int | None) -> None:
        now = "was just created" if current is None else f"is at version {current}"
        super().__init__(f"{kind} {name!r} {now}, not version {expected}: "
                         "someone else changed it; reload and try again")
        self.expected = expected
        self.current = current


@dataclass(frozen=True, slots=True)
class UnreadableDocument:
    """A stored document that is not JSON text; ``reason`` says what the parser found."""

    reason: str


def _table(kind: str) -> type[EntryColumns]:
    try:
        return TABLES[kind]
    except KeyError:
        raise ValueError(f"unknown configuration kind {kind!r}") from None


def _columns(table: type[EntryColumns]) -> Any:
    # The document is read as text and parsed here: the JSON type would raise for the whole
    # query on one damaged row, and nothing could be listed, reverted or started.
    return sa.select(table.name, sa.cast(table.document, sa.Text), table.enabled, table.version,
                     table.updated_at, table.updated_by)


def _parsed(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        return UnreadableDocument(str(exc))


def _entry(kind: str, row: Any) -> StoredEntry:
    name, text, enabled, version, updated_at, updated_by = row
    return StoredEntry(kind, name, _parsed(text), bool(enabled), version, updated_at,
                       updated_by or "")


class ConfigWrite:
    """Writes inside one transaction (``RoutingConfigStore.transaction``)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _current(self, kind: str, name: str) -> int:
        table = _table(kind)
        found = await self._session.execute(
            sa.select(table.version).where(table.name == name))
        return found.scalar_one_or_none() or 0

    async def put(self, kind: str, name: str, document: Any, enabled: bool,
                  expected_version: int, actor: str, now: float) -> StoredEntry:
        """Create (``expected_version`` 0) or replace an entry; ``VersionConflict`` if stale."""
        table = _table(kind)
        values: dict[str, Any] = {"document": document, "enabled": enabled, "updated_at": now,
                                  "updated_by": actor[:ACTOR_LEN]}
        if expected_version == 0:
            current = await self._current(kind, name)
            if current:
                raise VersionConflict(kind, name, 0, current)
            self._session.add(table(name=name, version=1, **values))
            try:
                await self._session.flush()
            except IntegrityError:  # another process created it meanwhile; the block rolls back
                raise VersionConflict(kind, name, 0, None) from None
            return StoredEntry(kind, name, document, enabled, 1, now, values["updated_by"])
        result = cast(CursorResult[Any], await self._session.execute(  # an UPDATE's: rowcount
            sa.update(table)
            .where(table.name == name, table.version == expected_version)
            .values(version=expected_version + 1, **values)))
        if result.rowcount != 1:
            raise VersionConflict(kind, name, expected_version, await self._current(kind, name))
        return StoredEntry(kind, name, document, enabled, expected_version + 1, now,
                           values["updated_by"])

    async def delete(self, kind: str, name: str, expected_version: int) -> None:
        """Drop an entry (the file's entry of that name, if any, applies again)."""
        table = _table(kind)
        result = cast(CursorResult[Any], await self._session.execute(  # a DELETE's: rowcount
            sa.delete(table).where(table.name == name,
                                   table.version == expected_version)))
        if result.rowcount != 1:
            raise VersionConflict(kind, name, expected_version, await self._current(kind, name))


class RoutingConfigStore:
    """Reads and versioned writes of the stored queues, agents and skills."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> dict[str, dict[str, StoredEntry]]:
        """Every stored entry, enabled or not: kind -> name -> entry."""
        out: dict[str, dict[str, StoredEntry]] = {}
        async with self.db.session() as session:
            for kind, table in TABLES.items():
                rows = (await session.execute(_columns(table).order_by(table.name))).all()
                out[kind] = {row[0]: _entry(kind, row) for row in rows}
        return out

    async def get(self, kind: str, name: str) -> StoredEntry | None:
        """One stored entry, or None."""
        async with self.db.session() as session:
            table = _table(kind)
            row = (await session.execute(_columns(table).where(table.name == name))).first()
            return _entry(kind, row) if row is not None else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[ConfigWrite]:
        """Writes that commit together when the block ends, and not at all if it raises."""
        async with self.db.session() as session, session.begin():
            yield ConfigWrite(session)

    async def put(self, kind: str, name: str, document: Any, enabled: bool,
                  expected_version: int, actor: str, now: float) -> StoredEntry:
        """``ConfigWrite.put`` in a transaction of its own."""
        async with self.transaction() as tx:
            return await tx.put(kind, name, document, enabled, expected_version, actor, now)

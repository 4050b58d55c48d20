"""Timestamps read back from the database: always aware (UTC), and their ISO text for JSON.

SQLite hands back naive datetimes; everything we write is UTC, so a naive value is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def aware(value: datetime) -> datetime: ...


@overload
def aware(value: None) -> None: ...


@overload
def aware(value: datetime | None) -> datetime | None: ...


def aware(value: datetime | None) -> datetime | None:
    """``value`` with UTC as its zone when it has none (None stays None)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 text, or None."""
    return value.isoformat() if value is not None else None

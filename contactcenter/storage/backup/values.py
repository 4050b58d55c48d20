"""Column values as the archive writes them: one JSON form for both dialects."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from contactcenter.storage.backup.archive import NON_FINITE, BackupError
from contactcenter.storage.base import Base
from contactcenter.storage.database import import_table_modules

# --------------------------------------------------------------------------- values


class _RawJson(sa.types.TypeDecorator[str]):
    """A JSON column bound from JSON text as it is: the archive already carries the text."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        return None  # the JSON type would encode the text a second time, as a JSON string


def _kind(column: sa.Column[Any]) -> str:
    t = column.type
    if isinstance(t, sa.JSON):
        return "json"
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.Float):
        return "float"
    if isinstance(t, sa.DateTime):
        return "datetime_tz" if t.timezone else "datetime"
    if isinstance(t, sa.String):
        return "str"
    if isinstance(t, sa.LargeBinary):
        return "bytes"
    raise BackupError(f"column {column.table.name}.{column.name} has type {t!r}, which the "
                      f"backup format does not carry yet")


def encode_value(kind: str, value: Any) -> Any:
    """A column value (as the database driver returns it) as a JSON value of the archive."""
    if value is None:
        return None
    if kind == "float":
        f = float(value)
        if math.isfinite(f):
            return f
        return "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity")
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    if kind == "datetime_tz":
        aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.isoformat()
    if kind == "datetime":
        return value.isoformat()
    if kind == "bytes":  # a raw e-mail, say: base64 keeps every byte in a JSON string
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)  # str, and json (its text)


def decode_value(kind: str, value: Any) -> Any:
    """The inverse of ``encode_value``; ``ValueError`` on a value of the wrong type."""
    if value is None:
        return None
    if kind == "float":
        if isinstance(value, str) and value in NON_FINITE:
            return NON_FINITE[value]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind in ("datetime_tz", "datetime"):
        if isinstance(value, str):
            when = datetime.fromisoformat(value)
            if kind == "datetime_tz" and when.tzinfo is None:
                raise ValueError(f"{value!r} has no UTC offset")
            return when
    elif kind == "bytes":
        if isinstance(value, str):
            return base64.b64decode(value, validate=True)
    elif kind == "json":
        if isinstance(value, str):
            json.loads(value)  # SQLite would store text that is not JSON; PostgreSQL would not
            return value
    elif isinstance(value, str):
        return value
    raise ValueError(f"{value!r} is not a {kind} value")


def table_columns(table: sa.Table) -> list[tuple[str, str]]:
    return [(c.name, _kind(c)) for c in table.columns]


def select_in_order(table: sa.Table) -> sa.Select[Any]:
    cols = [sa.cast(c, sa.Text).label(c.name) if _kind(c) == "json" else c
            for c in table.columns]
    return sa.select(*cols).order_by(*table.primary_key.columns)


def wire_table(table: sa.Table) -> sa.Table:
    # The same table, with JSON columns bound from their text (see _RawJson).
    return sa.Table(table.name, sa.MetaData(), *[
        sa.Column(c.name, _RawJson() if _kind(c) == "json" else c.type) for c in table.columns])


def schema_tables() -> list[sa.Table]:
    """Every table of this release, parents before children."""
    import_table_modules()
    return list(Base.metadata.sorted_tables)

"""The local customers table: phone -> name, account, tier, notes; importable from CSV.

Design note: phones are stored normalised to their digits (a leading ``+`` kept) so
``+33 1 23 45 67 89`` and ``+33123456789`` are the same key; ``phone`` is unique, so a CSV
import is an upsert keyed by phone. Lookups by caller id use the phone; lookups by an account
number typed by the caller use ``account``. Rows are returned as frozen ``CustomerRecord``
dataclasses, never as ORM objects, so callers cannot write through them by accident.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from contactcenter.storage.database import Database
from contactcenter.storage.tables import CustomerRow

CSV_COLUMNS = ("phone", "name", "account", "tier", "notes")
MAX_IMPORT_ROWS = 200_000
_LIMITS = {"phone": 32, "name": 200, "account": 64, "tier": 32, "notes": 2000}


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer as the rest of the server sees it."""

    phone: str
    name: str = ""
    account: str = ""
    tier: str = ""
    notes: str = ""

    def fields(self) -> dict[str, str]:
        """The record as lookup fields (screen pop / IVR variables)."""
        return {"phone": self.phone, "name": self.name, "account": self.account,
                "tier": self.tier, "notes": self.notes}


@dataclass
class ImportReport:
    """What a CSV import did; ``errors`` are ``file:line: message``."""

    inserted: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def normalize_phone(phone: str) -> str:
    """Digits only, with a leading ``+`` kept: the key phones are stored and found by."""
    phone = phone.strip()
    digits = re.sub(r"\D", "", phone)
    return ("+" + digits) if phone.startswith("+") and digits else digits


def _record(row: CustomerRow) -> CustomerRecord:
    return CustomerRecord(row.phone, row.name, row.account, row.tier, row.notes)


class CustomerStore:
    """Reads and writes the customers table of one ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def find_by_phone(self, phone: str) -> CustomerRecord | None:
        """The customer with this phone number, if any."""
        key = normalize_phone(phone)
        if not key:
            return None
        async with self.db.session() as s:
            row = (await s.execute(sa.select(CustomerRow).where(CustomerRow.phone == key))).scalar()
            return _record(row) if row else None

    async def find_by_account(self, account: str) -> CustomerRecord | None:
        """The customer with this account number (the first one if several share it)."""
        account = account.strip()
        if not account:
            return None
        async with self.db.session() as s:
            q = sa.select(CustomerRow).where(CustomerRow.account == account).order_by(CustomerRow.id)
            row = (await s.execute(q.limit(1))).scalar()
            return _record(row) if row else None

    async def upsert(self, record: CustomerRecord) -> bool:
        """Insert or update by phone; returns True when a new row was inserted."""
        key = normalize_phone(record.phone)
        if not key:
            raise ValueError("a customer needs a phone number")
        async with self.db.session() as s, s.begin():
            row = (await s.execute(sa.select(CustomerRow).where(CustomerRow.phone == key))).scalar()
            values = {"name": record.name, "account": record.account, "tier": record.tier,
                      "notes": record.notes}
            if row is None:
                s.add(CustomerRow(phone=key, **values))
                return True
            for k, v in values.items():
                setattr(row, k, v)
            return False

    async def import_csv(self, text: str, file: str = "<csv>") -> ImportReport:
        """Upsert every row of a CSV with a header of columns from ``CSV_COLUMNS``."""
        report = ImportReport()
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if "phone" not in header or unknown:
            report.errors.append(f"{file}:1: header must have 'phone' and only {', '.join(CSV_COLUMNS)}"
                                 + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
            return report
        records: dict[str, CustomerRecord] = {}
        for n, row in enumerate(reader, start=2):
            if n > MAX_IMPORT_ROWS + 1:
                report.errors.append(f"{file}:{n}: more than {MAX_IMPORT_ROWS} rows; stopped")
                break
            if None in row:
                report.errors.append(f"{file}:{reader.line_num}: too many fields")
                continue
            values = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
            too_long = [k for k, v in values.items() if len(v) > _LIMITS[k]]
            phone = normalize_phone(values["phone"])
            if not phone or too_long:
                why = f"field too long: {', '.join(too_long)}" if too_long else "no phone number"
                report.errors.append(f"{file}:{reader.line_num}: {why}")
                continue
            records[phone] = CustomerRecord(phone, values["name"], values["account"],
                                            values["tier"], values["notes"])
        async with self.db.session() as s, s.begin():
            existing: dict[str, CustomerRow] = {}
            phones = list(records)
            for i in range(0, len(phones), 500):  # stay under SQLite's bound-parameter limit
                q = sa.select(CustomerRow).where(CustomerRow.phone.in_(phones[i:i + 500]))
                existing.update((r.phone, r) for r in (await s.execute(q)).scalars())
            for phone, rec in records.items():
                stored = existing.get(phone)
                if stored is None:
                    s.add(CustomerRow(phone=phone, name=rec.name, account=rec.account,
                                      tier=rec.tier, notes=rec.notes))
                    report.inserted += 1
                else:
                    stored.name, stored.account, stored.tier, stored.notes = (
                        rec.name, rec.account, rec.tier, rec.notes)
                    report.updated += 1
        return report

    async def count(self) -> int:
        """How many customers are stored."""
        async with self.db.session() as s:
            return int((await s.execute(sa.select(sa.func.count(CustomerRow.id)))).scalar() or 0)

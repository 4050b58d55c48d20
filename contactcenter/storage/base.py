"""The declarative base every table module registers with."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Metadata root for all contact-center tables (one per bounded context module)."""

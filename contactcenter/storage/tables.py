"""The tables shared by every context: the audit trail, the customer records, the leadership.

Customers are the one record the IVR lookup, the chat and the tickets all use; the audit trail
is written by every context. Each context's own tables are in its ``tables.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contactcenter.storage.base import Base

ACTOR_LEN = 200
ACTION_LEN = 100
TARGET_LEN = 500
OUTCOME_LEN = 50


class AuditRow(Base):
    """One audit entry; rows are only ever inserted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(sa.String(ACTOR_LEN))
    action: Mapped[str] = mapped_column(sa.String(ACTION_LEN), index=True)
    target: Mapped[str] = mapped_column(sa.String(TARGET_LEN), default="")
    outcome: Mapped[str] = mapped_column(sa.String(OUTCOME_LEN), default="ok")
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)


class CustomerRow(Base):
    """One customer known to the contact center."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    account: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    tier: Mapped[str] = mapped_column(sa.String(32), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Lowercase; how a mail's sender finds their record (tickets). Not unique: a household or
    # a company may share one address between several customer records.
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True, index=True)




class ClusterLeaderRow(Base):
    """The one row naming the current leader of a cluster and its term (``storage/leadership``).

    Each node that takes the leader's advisory lock raises ``term``; the interaction log's
    writes check it in their transaction, so a leader that lost the lock cannot write.
    """

    __tablename__ = "cluster_leader"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    term: Mapped[int] = mapped_column(sa.BigInteger)
    node: Mapped[str] = mapped_column(sa.String(200))
    since: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

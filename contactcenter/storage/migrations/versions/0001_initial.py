"""initial schema

Every table as the models declared it when migrations began. It also adopts a database made
before then by ``create_all()``: a table that is already there is kept with its rows and only
given the columns and indexes it lacks (``users.phone`` and ``routing_agents.wrapups`` were
added by hand-written ALTERs in those releases; the ``config_*`` tables came with them).

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _table(name: str, *elements: sa.Column | sa.Constraint) -> None:
    """Create ``name``; or, adopting an older database, add the columns its table lacks."""
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(name):
        op.create_table(name, *elements)
        return
    have = {c["name"] for c in inspector.get_columns(name)}
    missing = [e for e in elements if isinstance(e, sa.Column) and e.name not in have]
    if missing:
        with op.batch_alter_table(name) as batch:
            for column in missing:
                batch.add_column(column)


def _index(name: str, table: str, columns: list[str], unique: bool = False) -> None:
    """Create an index unless an adopted table already has it (``create_all()`` named it so)."""
    if name not in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns, unique=unique)


def upgrade() -> None:
    _table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("outcome", sa.String(50), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_audit_log_action", "audit_log", ["action"])
    _index("ix_audit_log_at", "audit_log", ["at"])

    _table(
        "customers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone"),
    )
    _index("ix_customers_account", "customers", ["account"])

    for config_table in ("config_queues", "config_agents", "config_skills"):
        _table(
            config_table,
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("document", sa.JSON(), nullable=False),
            sa.Column("enabled", sa.Boolean(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.Column("updated_by", sa.String(200), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )

    _table(
        "recordings",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("interaction_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("caller_id", sa.String(100), nullable=True),
        sa.Column("pbx", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("pauses", sa.JSON(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_recordings_agent_id", "recordings", ["agent_id"])
    _index("ix_recordings_interaction_id", "recordings", ["interaction_id"])
    _index("ix_recordings_queue", "recordings", ["queue"])
    _index("ix_recordings_started_at", "recordings", ["started_at"])
    _index("ix_recordings_status", "recordings", ["status"])

    _table(
        "routing_agents",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("presence", sa.String(16), nullable=False),
        sa.Column("pause_reason", sa.String(64), nullable=True),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("answered_today", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("wrapups", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("agent_id"),
    )

    _table(
        "routing_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("interaction_id", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_routing_events_agent_id", "routing_events", ["agent_id"])
    _index("ix_routing_events_at", "routing_events", ["at"])
    _index("ix_routing_events_interaction_id", "routing_events", ["interaction_id"])
    _index("ix_routing_events_kind", "routing_events", ["kind"])

    _table(
        "routing_interactions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("callback", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("arrived_at", sa.Float(), nullable=False),
        sa.Column("queue_entered_at", sa.Float(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("relax_step", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("offer_id", sa.String(80), nullable=True),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.Column("connected_at", sa.Float(), nullable=True),
        sa.Column("retry_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_routing_interactions_state", "routing_interactions", ["state"])

    _table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("phone", sa.String(130), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )

    _table(
        "web_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("remote", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    _index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    _index("ix_web_sessions_user_id", "web_sessions", ["user_id"])


def downgrade() -> None:
    for name in ("web_sessions", "users", "routing_interactions", "routing_events",
                 "routing_agents", "recordings", "config_skills", "config_agents",
                 "config_queues", "customers", "audit_log"):
        op.drop_table(name)

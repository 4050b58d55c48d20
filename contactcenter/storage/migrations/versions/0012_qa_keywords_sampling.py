"""add quality's keyword lists (with their scans and hits) and sampling rules (with the worklist)

``qa_keyword_lists`` (named lists of words and phrases, versioned), ``qa_keyword_scans`` (which
version of a list a transcript was scanned against), ``qa_keyword_hits`` (each phrase heard,
with its time), ``qa_sampling_rules`` ("N % of each agent's calls per week, at least M") and
``qa_worklist`` (the calls the rules picked). All new and empty: the transcript worker's sweep
scans the existing transcripts, the sampling loop fills the worklist (docs/qa.md).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_keyword_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("min_match", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "qa_keyword_scans",
        sa.Column("recording_id", sa.String(32), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["qa_keyword_lists.id"]),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
        sa.PrimaryKeyConstraint("recording_id", "list_id"),
    )
    op.create_index("ix_qa_keyword_scans_list_id", "qa_keyword_scans", ["list_id"])
    op.create_table(
        "qa_keyword_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.String(32), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(200), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("heard", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["qa_keyword_lists.id"]),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_qa_keyword_hits_recording_id", "qa_keyword_hits", ["recording_id"])
    op.create_index("ix_qa_keyword_hits_list_id", "qa_keyword_hits", ["list_id"])
    op.create_table(
        "qa_sampling_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(100), nullable=True),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("scorecard_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["scorecard_id"], ["qa_scorecards.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "qa_worklist",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("recording_id", sa.String(32), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
        sa.ForeignKeyConstraint(["rule_id"], ["qa_sampling_rules.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_id", "recording_id"),
    )
    op.create_index("ix_qa_worklist_rule_id", "qa_worklist", ["rule_id"])
    op.create_index("ix_qa_worklist_week", "qa_worklist", ["week"])
    op.create_index("ix_qa_worklist_recording_id", "qa_worklist", ["recording_id"])
    op.create_index("ix_qa_worklist_agent_id", "qa_worklist", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_qa_worklist_agent_id", table_name="qa_worklist")
    op.drop_index("ix_qa_worklist_recording_id", table_name="qa_worklist")
    op.drop_index("ix_qa_worklist_week", table_name="qa_worklist")
    op.drop_index("ix_qa_worklist_rule_id", table_name="qa_worklist")
    op.drop_table("qa_worklist")
    op.drop_table("qa_sampling_rules")
    op.drop_index("ix_qa_keyword_hits_list_id", table_name="qa_keyword_hits")
    op.drop_index("ix_qa_keyword_hits_recording_id", table_name="qa_keyword_hits")
    op.drop_table("qa_keyword_hits")
    op.drop_index("ix_qa_keyword_scans_list_id", table_name="qa_keyword_scans")
    op.drop_table("qa_keyword_scans")
    op.drop_table("qa_keyword_lists")

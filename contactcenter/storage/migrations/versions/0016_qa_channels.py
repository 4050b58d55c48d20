"""qa of chats and tickets: evaluations, rules and picks name a channel and an item

Evaluations and worklist picks were of recordings only. They now say which channel (``voice``,
``chat``, ``ticket``) and which item (the recording's id, the conversation's id, the ticket's
number) they are of; a sampling rule says which channel it samples. Existing rows are calls:
``channel`` is ``voice`` and ``item_id`` their recording's id; an existing pick also gets its
recording's start and caller id (``started_at``, ``label``), which the worklist now keeps with
the pick whatever the channel. ``qa_worklist.recording_id`` becomes nullable and the unique pick
is (rule, channel, item) instead of (rule, recording).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# SQLite's batch mode reflects the old unnamed unique constraint; this names it for the drop.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"}


def _old_unique(columns: list[str]) -> str:
    """The name the database gave the unique constraint on ``columns`` of qa_worklist."""
    bind = op.get_bind()
    for uc in sa.inspect(bind).get_unique_constraints("qa_worklist"):
        if list(uc["column_names"]) == columns and uc.get("name"):
            return str(uc["name"])
    return f"uq_qa_worklist_{columns[0]}_{columns[1]}"  # SQLite: named by _NAMING


def upgrade() -> None:
    with op.batch_alter_table("qa_sampling_rules") as batch:
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False,
                                   server_default="voice"))
    with op.batch_alter_table("qa_evaluations") as batch:
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False,
                                   server_default="voice"))
        batch.add_column(sa.Column("item_id", sa.String(64), nullable=True))
    op.execute("UPDATE qa_evaluations SET item_id = COALESCE(recording_id, interaction_id)")
    with op.batch_alter_table("qa_evaluations") as batch:
        batch.alter_column("item_id", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_qa_evaluations_item", ["channel", "item_id"])

    with op.batch_alter_table("qa_worklist") as batch:
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False,
                                   server_default="voice"))
        batch.add_column(sa.Column("item_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("label", sa.String(200), nullable=False,
                                   server_default=""))
    op.execute(
        "UPDATE qa_worklist SET item_id = recording_id, "
        "started_at = (SELECT r.started_at FROM recordings r "
        "WHERE r.id = qa_worklist.recording_id), "
        "label = COALESCE((SELECT r.caller_id FROM recordings r "
        "WHERE r.id = qa_worklist.recording_id), '')")
    old = _old_unique(["rule_id", "recording_id"])
    with op.batch_alter_table("qa_worklist", naming_convention=_NAMING) as batch:
        batch.alter_column("item_id", existing_type=sa.String(64), nullable=False)
        batch.alter_column("started_at", existing_type=sa.DateTime(timezone=True),
                           nullable=False)
        batch.alter_column("recording_id", existing_type=sa.String(32), nullable=True)
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint("uq_qa_worklist_rule_item",
                                       ["rule_id", "channel", "item_id"])


def downgrade() -> None:
    # Picks and evaluations of chats and tickets have no recording: they go.
    op.execute("DELETE FROM qa_worklist WHERE recording_id IS NULL")
    op.execute("DELETE FROM qa_evaluations WHERE channel <> 'voice'")
    op.execute("DELETE FROM qa_sampling_rules WHERE channel <> 'voice'")
    with op.batch_alter_table("qa_worklist") as batch:
        batch.drop_constraint("uq_qa_worklist_rule_item", type_="unique")
        batch.alter_column("recording_id", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_qa_worklist_rule_id_recording_id",
                                       ["rule_id", "recording_id"])
        batch.drop_column("label")
        batch.drop_column("started_at")
        batch.drop_column("item_id")
        batch.drop_column("channel")
    with op.batch_alter_table("qa_evaluations") as batch:
        batch.drop_index("ix_qa_evaluations_item")
        batch.drop_column("item_id")
        batch.drop_column("channel")
    with op.batch_alter_table("qa_sampling_rules") as batch:
        batch.drop_column("channel")

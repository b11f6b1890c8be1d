"""The task transcript (typed messages, gap-free seq per task) and per-model usage.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_message",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "seq", name=op.f("pk_task_message")),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["agent_task_queue.id"],
            name=op.f("fk_task_message_task_id_agent_task_queue"),
        ),
        sa.CheckConstraint(
            "kind IN ('agent','thinking','tool_call','tool_result','error')",
            name=op.f("ck_task_message_kind"),
        ),
    )
    op.create_table(
        "task_usage",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cache_creation_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("task_id", "model", name=op.f("pk_task_usage")),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["agent_task_queue.id"],
            name=op.f("fk_task_usage_task_id_agent_task_queue"),
        ),
    )


def downgrade() -> None:
    op.drop_table("task_usage")
    op.drop_table("task_message")

"""Claim stamp (dispatched_at keys the reclaim window and dispatch TTL) and per-agent cap.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table copy needed, even on SQLite.
    op.add_column("agent_task_queue", sa.Column("dispatched_at", sa.BigInteger(), nullable=True))
    op.add_column(
        "agent",
        sa.Column("max_concurrent_tasks", sa.Integer(), server_default="1", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("max_concurrent_tasks")
    with op.batch_alter_table("agent_task_queue") as batch:
        batch.drop_column("dispatched_at")

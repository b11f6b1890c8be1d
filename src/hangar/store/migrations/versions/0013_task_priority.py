"""Task priority (0..3 = P3..P0) and the indexes the claim, cap and board queries use.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agent_task_queue",
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index(
        "idx_agent_task_queue_claim",
        "agent_task_queue",
        ["status", "priority", "created_at", "id"],
    )
    op.create_index("idx_agent_task_queue_agent_status", "agent_task_queue", ["agent_id", "status"])
    op.create_index(
        "idx_agent_task_queue_workspace_status", "agent_task_queue", ["workspace_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("idx_agent_task_queue_workspace_status", table_name="agent_task_queue")
    op.drop_index("idx_agent_task_queue_agent_status", table_name="agent_task_queue")
    op.drop_index("idx_agent_task_queue_claim", table_name="agent_task_queue")
    with op.batch_alter_table("agent_task_queue") as batch:
        batch.drop_column("priority")

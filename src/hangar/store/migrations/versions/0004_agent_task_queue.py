"""The task queue, with one pending (queued/dispatched) task per issue.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PENDING = "issue_id IS NOT NULL AND status IN ('queued','dispatched')"


def upgrade() -> None:
    op.create_table(
        "agent_task_queue",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("runtime_id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("issue_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("session_id", sa.Text(), nullable=True),
        sa.Column("work_dir", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="2", nullable=False),
        sa.Column("parent_task_id", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_task_queue")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_agent_task_queue_workspace_id_workspace"),
        ),
        sa.ForeignKeyConstraint(
            ["runtime_id"],
            ["agent_runtime.id"],
            name=op.f("fk_agent_task_queue_runtime_id_agent_runtime"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_task_queue_agent_id_agent")
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issue.id"], name=op.f("fk_agent_task_queue_issue_id_issue")
        ),
        sa.ForeignKeyConstraint(
            ["parent_task_id"],
            ["agent_task_queue.id"],
            name=op.f("fk_agent_task_queue_parent_task_id_agent_task_queue"),
        ),
        sa.CheckConstraint(
            "status IN ('queued','dispatched','running','done','failed','cancelled')",
            name=op.f("ck_agent_task_queue_status"),
        ),
    )
    op.create_index(
        "idx_one_pending_task_per_issue",
        "agent_task_queue",
        ["issue_id"],
        unique=True,
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )


def downgrade() -> None:
    op.drop_index("idx_one_pending_task_per_issue", table_name="agent_task_queue")
    op.drop_table("agent_task_queue")

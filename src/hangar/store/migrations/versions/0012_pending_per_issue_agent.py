"""One pending task per (issue, agent) instead of per issue.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_PENDING = "issue_id IS NOT NULL AND status IN ('queued','dispatched')"


def upgrade() -> None:
    op.drop_index("idx_one_pending_task_per_issue", table_name="agent_task_queue")
    op.create_index(
        "idx_one_pending_task_per_issue_agent",
        "agent_task_queue",
        ["issue_id", "agent_id"],
        unique=True,
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )


def downgrade() -> None:
    # Fails if two agents hold pending tasks on one issue: the old guard cannot hold them.
    op.drop_index("idx_one_pending_task_per_issue_agent", table_name="agent_task_queue")
    op.create_index(
        "idx_one_pending_task_per_issue",
        "agent_task_queue",
        ["issue_id"],
        unique=True,
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )

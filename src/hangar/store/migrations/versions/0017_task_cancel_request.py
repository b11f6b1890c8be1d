"""A cancel request on a task: the daemon that runs it stops the agent and writes cancelled.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agent_task_queue", sa.Column("cancel_requested_at", sa.BigInteger()))


def downgrade() -> None:
    with op.batch_alter_table("agent_task_queue") as batch:
        batch.drop_column("cancel_requested_at")

"""Link a task to the autopilot run that fired it (NULL for issue and chat tasks).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The foreign key makes SQLite copy the table (batch mode); elsewhere it is an ALTER.
    with op.batch_alter_table("agent_task_queue") as batch:
        batch.add_column(sa.Column("autopilot_run_id", sa.Text(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_agent_task_queue_autopilot_run_id_autopilot_run"),
            "autopilot_run",
            ["autopilot_run_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("agent_task_queue") as batch:
        batch.drop_constraint(
            op.f("fk_agent_task_queue_autopilot_run_id_autopilot_run"), type_="foreignkey"
        )
        batch.drop_column("autopilot_run_id")

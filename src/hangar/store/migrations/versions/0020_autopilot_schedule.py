"""Autopilots with a zone, a mode and a history that outlives them; runs keyed on their
planned time, so a fire is idempotent across daemons sharing one database.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The CHECKs make SQLite copy the tables (batch mode); elsewhere they are ALTERs.
    with op.batch_alter_table("autopilot") as batch:
        batch.add_column(sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False))
        batch.add_column(sa.Column("mode", sa.Text(), server_default="run", nullable=False))
        batch.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.BigInteger(), nullable=True))
        batch.create_check_constraint(op.f("ck_autopilot_mode"), "mode IN ('issue', 'run')")
        batch.drop_index("idx_autopilot_workspace_name")
    # a deleted autopilot keeps its row (its runs point at it) but frees its name
    op.create_index(
        "idx_autopilot_workspace_name",
        "autopilot",
        ["workspace_id", "name"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    with op.batch_alter_table("autopilot_run") as batch:
        batch.add_column(sa.Column("planned_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("trigger", sa.Text(), server_default="schedule", nullable=False))
        batch.add_column(sa.Column("issue_id", sa.Text(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_autopilot_run_trigger"), "trigger IN ('schedule', 'manual')"
        )
    op.execute("UPDATE autopilot_run SET planned_at = started_at WHERE planned_at IS NULL")
    # the idempotency key of a fire: two schedulers cannot both insert the same planned run
    op.create_index(
        "idx_autopilot_run_planned", "autopilot_run", ["autopilot_id", "planned_at"], unique=True
    )


def downgrade() -> None:
    op.drop_index("idx_autopilot_run_planned", table_name="autopilot_run")
    with op.batch_alter_table("autopilot_run") as batch:
        batch.drop_constraint(op.f("ck_autopilot_run_trigger"), type_="check")
        batch.drop_column("issue_id")
        batch.drop_column("trigger")
        batch.drop_column("planned_at")
    op.drop_index("idx_autopilot_workspace_name", table_name="autopilot")
    with op.batch_alter_table("autopilot") as batch:
        batch.drop_constraint(op.f("ck_autopilot_mode"), type_="check")
        for name in ("deleted_at", "updated_at", "disabled_reason", "mode", "timezone"):
            batch.drop_column(name)
        batch.create_index("idx_autopilot_workspace_name", ["workspace_id", "name"], unique=True)

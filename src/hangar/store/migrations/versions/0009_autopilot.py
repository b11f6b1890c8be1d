"""Autopilots (cron-fired runs) and their run history.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "autopilot",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("cron_expr", sa.Text(), nullable=False),
        sa.Column("max_concurrent_runs", sa.Integer(), server_default="1", nullable=False),
        sa.Column("next_tick_at", sa.BigInteger(), nullable=True),
        sa.Column("enabled", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autopilot")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_autopilot_workspace_id_workspace")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_autopilot_agent_id_agent")
        ),
        sa.CheckConstraint("enabled IN (0, 1)", name=op.f("ck_autopilot_enabled")),
    )
    op.create_index(
        "idx_autopilot_workspace_name", "autopilot", ["workspace_id", "name"], unique=True
    )
    op.create_index(
        "idx_autopilot_next_tick",
        "autopilot",
        ["workspace_id", "next_tick_at"],
        sqlite_where=sa.text("enabled = 1"),
        postgresql_where=sa.text("enabled = 1"),
    )
    op.create_table(
        "autopilot_run",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("autopilot_id", sa.Text(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autopilot_run")),
        sa.ForeignKeyConstraint(
            ["autopilot_id"], ["autopilot.id"], name=op.f("fk_autopilot_run_autopilot_id_autopilot")
        ),
        sa.CheckConstraint(
            "status IN ('running','completed','failed','cancelled')",
            name=op.f("ck_autopilot_run_status"),
        ),
    )
    op.create_index(
        "idx_autopilot_run_autopilot_started",
        "autopilot_run",
        [sa.column("autopilot_id"), sa.column("started_at").desc()],
    )


def downgrade() -> None:
    op.drop_index("idx_autopilot_run_autopilot_started", table_name="autopilot_run")
    op.drop_table("autopilot_run")
    op.drop_index("idx_autopilot_next_tick", table_name="autopilot")
    op.drop_index("idx_autopilot_workspace_name", table_name="autopilot")
    op.drop_table("autopilot")

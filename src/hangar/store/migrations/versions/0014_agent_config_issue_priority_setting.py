"""Agent run configuration, issue priority and repo, and daemon-wide settings.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table copy needed, even on SQLite.
    for column in (
        sa.Column("provider", sa.Text(), server_default="command", nullable=False),
        sa.Column("command", sa.Text(), nullable=True),  # JSON argv list
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("repo_path", sa.Text(), nullable=True),
        sa.Column("max_runtime_ms", sa.BigInteger(), nullable=True),
        sa.Column("inactivity_timeout_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), server_default="0", nullable=False),
    ):
        op.add_column("agent", column)
    op.create_index("idx_agent_workspace_name", "agent", ["workspace_id", "name"], unique=True)
    # The CHECK makes SQLite copy the table (batch mode); elsewhere it is an ALTER.
    with op.batch_alter_table("issue") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("repo_path", sa.Text(), nullable=True))
        batch.create_check_constraint(op.f("ck_issue_priority"), "priority BETWEEN 0 AND 3")
    op.create_table(
        "setting",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_setting")),
    )


def downgrade() -> None:
    op.drop_table("setting")
    with op.batch_alter_table("issue") as batch:
        batch.drop_constraint(op.f("ck_issue_priority"), type_="check")
        batch.drop_column("repo_path")
        batch.drop_column("priority")
    op.drop_index("idx_agent_workspace_name", table_name="agent")
    with op.batch_alter_table("agent") as batch:
        for name in (
            "created_at",
            "inactivity_timeout_ms",
            "max_runtime_ms",
            "repo_path",
            "model",
            "command",
            "provider",
        ):
            batch.drop_column(name)
